package accounting

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/depotfs/depot/internal/meta"
)

// NotifierConfig configures a Notifier.
type NotifierConfig struct {
	URL        string              // where events are POSTed (http.completion_callback.url)
	Store      *meta.DownloadStore // the queue; required
	Timeout    time.Duration       // one POST (10 s)
	MinBackoff time.Duration       // first wait after a failure (1 s)
	MaxBackoff time.Duration       // cap of the doubling wait (60 s)
	Client     *http.Client        // nil = a client of its own
	Logger     *slog.Logger
}

// Notifier POSTs queued completion events to the callback URL, oldest first, one at a time,
// deleting each once the receiver answered 2xx: at least once, never lost while queued.
// A failure (connection, timeout, non-2xx) waits MinBackoff, doubling up to MaxBackoff, and
// tries the same event again. It runs until Close.
type Notifier struct {
	cfg    NotifierConfig
	wake   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu        sync.Mutex
	delivered uint64
	failures  uint64
}

// NewNotifier starts a Notifier; events already queued (from before a restart) go first.
func NewNotifier(cfg NotifierConfig) (*Notifier, error) {
	if cfg.Store == nil || cfg.URL == "" {
		return nil, fmt.Errorf("accounting: notifier needs a store and a URL (got %q)", cfg.URL)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = time.Second
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(60*time.Second, cfg.MinBackoff)
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{
			Timeout:       cfg.Timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	n := &Notifier{cfg: cfg, wake: make(chan struct{}, 1)}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	n.wg.Add(1)
	go n.run()
	return n, nil
}

// Wake tells the Notifier that events were queued. It never blocks.
func (n *Notifier) Wake() {
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// Delivered returns how many events were delivered, and how many POSTs failed.
func (n *Notifier) Delivered() (delivered, failures uint64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.delivered, n.failures
}

// Close stops the Notifier; undelivered events stay queued for the next start.
func (n *Notifier) Close() error {
	n.cancel()
	n.wg.Wait()
	return nil
}

func (n *Notifier) run() {
	defer n.wg.Done()
	backoff := time.Duration(0)
	for {
		if backoff > 0 {
			if !n.sleep(backoff) {
				return
			}
		}
		evs, err := n.cfg.Store.Events(32)
		if err != nil {
			n.cfg.Logger.Error("completion callback: reading the queue", "err", err)
			backoff = n.next(backoff)
			continue
		}
		if len(evs) == 0 {
			backoff = 0
			select {
			case <-n.wake:
				continue
			case <-n.ctx.Done():
				return
			}
		}
		backoff = 0
		for _, ev := range evs {
			if err := n.post(ev.Data); err != nil {
				n.mu.Lock()
				n.failures++
				n.mu.Unlock()
				backoff = n.next(backoff)
				n.cfg.Logger.Warn("completion callback failed; will retry", "url", n.cfg.URL, "seq", ev.Seq, "err", err, "retry_in", backoff)
				break
			}
			if err := n.cfg.Store.DeleteEvent(ev.Seq); err != nil {
				n.cfg.Logger.Error("completion callback: removing a delivered event", "seq", ev.Seq, "err", err)
			}
			n.mu.Lock()
			n.delivered++
			n.mu.Unlock()
		}
		if n.ctx.Err() != nil {
			return
		}
	}
}

func (n *Notifier) next(cur time.Duration) time.Duration {
	if cur == 0 {
		return n.cfg.MinBackoff
	}
	return min(2*cur, n.cfg.MaxBackoff)
}

// sleep waits d, or less when woken by new events while the receiver may be back; false
// when closed.
func (n *Notifier) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-n.ctx.Done():
		return false
	}
}

// post sends one event; a 2xx answer is success.
func (n *Notifier) post(body []byte) error {
	ctx, cancel := context.WithTimeout(n.ctx, n.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "depot-storage")
	resp, err := n.cfg.Client.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("receiver answered %s", resp.Status)
	}
	return nil
}
