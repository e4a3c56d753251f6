package storagesvc

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// DefaultTokenTTL is how long a storage remembers an upload token when Options.TokenTTL is 0.
const DefaultTokenTTL = 10 * time.Minute

// maxTokenLen bounds UploadHeader.upload_token (clients send 16 random bytes).
const maxTokenLen = 64

// uploadTokens remembers, for a while, which file each upload token produced, so a client
// that retries an upload whose answer was lost gets the same file ID instead of a second
// file. An upload in flight holds its token: a retry with the same token waits for it.
type uploadTokens struct {
	ttl time.Duration
	now func() time.Time

	mu        sync.Mutex
	done      map[string]tokenEntry
	busy      map[string]chan struct{}
	nextSweep time.Time
	promised  map[string]string // token → ID written to the file before the commit
	file      string            // token file ("" = memory only), see tokenfile.go
	lines     int               // lines in the token file
	log       func(msg string, args ...any)
}

type tokenEntry struct {
	id      string
	expires time.Time
	// loaded marks an entry read from the token file at startup: its file may have been
	// stored by a process that died before journaling it.
	loaded bool
}

func newUploadTokens(ttl time.Duration) *uploadTokens {
	if ttl <= 0 {
		ttl = DefaultTokenTTL
	}
	return &uploadTokens{ttl: ttl, now: time.Now, done: map[string]tokenEntry{}, busy: map[string]chan struct{}{}, promised: map[string]string{},
		log: func(string, ...any) {}}
}

// begin claims token for an upload. It returns the file ID when an upload with this token
// already succeeded; otherwise the caller uploads and then calls finish with the new ID
// ("" when the upload failed, which frees the token for a retry).
func (t *uploadTokens) begin(ctx context.Context, token []byte) (id string, finish func(id string), err error) {
	e, finish, err := t.claim(ctx, token)
	return e.id, finish, err
}

// claim is begin returning the whole entry of a known token.
func (t *uploadTokens) claim(ctx context.Context, token []byte) (known tokenEntry, finish func(id string), err error) {
	if len(token) > maxTokenLen {
		return tokenEntry{}, nil, fmt.Errorf("%w: upload token of %d bytes (at most %d)", ErrBadRequest, len(token), maxTokenLen)
	}
	key := string(token)
	t.mu.Lock()
	for {
		now := t.now()
		t.sweep(now)
		if e, ok := t.done[key]; ok && now.Before(e.expires) {
			t.mu.Unlock()
			return e, nil, nil
		}
		ch, ok := t.busy[key]
		if !ok {
			break
		}
		t.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return tokenEntry{}, nil, ctx.Err()
		}
		t.mu.Lock()
	}
	ch := make(chan struct{})
	t.busy[key] = ch
	t.mu.Unlock()
	return tokenEntry{}, func(id string) {
		t.mu.Lock()
		if id != "" {
			e := tokenEntry{id: id, expires: t.now().Add(t.ttl)}
			t.done[key] = e
			if t.promised[key] != id {
				if err := t.record(key, id, e.expires); err != nil {
					t.log("upload token not saved: a retry after a restart may store the file again", "file_id", id, "err", err)
				}
			}
		}
		delete(t.promised, key)
		delete(t.busy, key)
		t.mu.Unlock()
		close(ch)
	}, nil
}

// promise writes token → id to the token file before the file gets its name, so that a
// storage that dies between naming the file and answering still knows the token after a
// restart. The caller holds the claim on token.
func (t *uploadTokens) promise(token []byte, id string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.file == "" {
		return nil
	}
	key := string(token)
	t.promised[key] = id // before record: a rewrite of the file keeps it
	if err := t.record(key, id, t.now().Add(t.ttl)); err != nil {
		delete(t.promised, key)
		return err
	}
	return nil
}

// forget drops a known token whose file is gone (its storage died before naming it).
func (t *uploadTokens) forget(token []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.done, string(token))
}

// sweep drops expired entries, at most once per ttl/4. The caller holds mu.
func (t *uploadTokens) sweep(now time.Time) {
	if now.Before(t.nextSweep) {
		return
	}
	t.nextSweep = now.Add(t.ttl / 4)
	for k, e := range t.done {
		if !now.Before(e.expires) {
			delete(t.done, k)
		}
	}
}
