package storagesvc

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// The token file keeps the upload tokens across a restart of the storage, so a client
// retrying an upload whose answer was lost when the storage died still gets the first
// file's ID. One line per token: "<hex token> <file id> <expiry, Unix seconds>\n". Lines
// are appended after the file is stored and before the answer; the file is rewritten
// without expired lines at startup and when it has grown well past the live tokens.
// It is not fsynced: it survives the process dying, not the machine.

// errTokenLine reports a malformed line of the token file.
var errTokenLine = errors.New("malformed upload token line")

// parseTokenLine parses one line of the token file.
func parseTokenLine(line []byte) (token []byte, id string, expires time.Time, err error) {
	f := bytes.Fields(line)
	if len(f) != 3 {
		return nil, "", time.Time{}, fmt.Errorf("%w: %d fields", errTokenLine, len(f))
	}
	token = make([]byte, hex.DecodedLen(len(f[0])))
	if _, err := hex.Decode(token, f[0]); err != nil || len(token) == 0 || len(token) > maxTokenLen {
		return nil, "", time.Time{}, fmt.Errorf("%w: token %q", errTokenLine, f[0])
	}
	exp, err := strconv.ParseInt(string(f[2]), 10, 64)
	if err != nil || exp < 0 {
		return nil, "", time.Time{}, fmt.Errorf("%w: expiry %q", errTokenLine, f[2])
	}
	return token, string(f[1]), time.Unix(exp, 0), nil
}

func tokenLine(token []byte, id string, expires time.Time) string {
	return hex.EncodeToString(token) + " " + id + " " + strconv.FormatInt(expires.Unix(), 10) + "\n"
}

// persist loads the live tokens of path (malformed and expired lines are dropped), rewrites
// it with those only and makes later tokens append to it.
func (t *uploadTokens) persist(path string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("upload token file %s: %w", path, err)
	}
	now := t.now()
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		tok, id, exp, err := parseTokenLine(sc.Bytes())
		if err == nil && now.Before(exp) {
			t.done[string(tok)] = tokenEntry{id: id, expires: exp, loaded: true}
		}
	}
	t.file = path
	return t.rewrite()
}

// rewrite replaces the token file with the live tokens. The caller holds mu.
func (t *uploadTokens) rewrite() error {
	var buf bytes.Buffer
	for k, e := range t.done {
		buf.WriteString(tokenLine([]byte(k), e.id, e.expires))
	}
	for k, id := range t.promised {
		if _, ok := t.done[k]; !ok {
			buf.WriteString(tokenLine([]byte(k), id, t.now().Add(t.ttl)))
		}
	}
	tmp := t.file + ".tmp"
	if err := os.MkdirAll(filepath.Dir(t.file), 0o755); err != nil {
		return fmt.Errorf("upload token file %s: %w", t.file, err)
	}
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("upload token file %s: %w", t.file, err)
	}
	if err := os.Rename(tmp, t.file); err != nil {
		return fmt.Errorf("upload token file %s: %w", t.file, err)
	}
	t.lines = len(t.done) + len(t.promised)
	return nil
}

// record appends a token to the file. The caller holds mu.
func (t *uploadTokens) record(token, id string, expires time.Time) error {
	if t.file == "" {
		return nil
	}
	if t.lines > 4*len(t.done)+1024 {
		return t.rewrite() // t.done already holds the new token
	}
	f, err := os.OpenFile(t.file, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	_, err = f.WriteString(tokenLine([]byte(token), id, expires))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	t.lines++
	return err
}

// exists reports whether the file a token names is stored here.
func (s *Service) exists(raw string) bool {
	id, err := s.parseID(raw)
	if err != nil {
		return false
	}
	_, err = s.store.Stat(id)
	return err == nil
}
