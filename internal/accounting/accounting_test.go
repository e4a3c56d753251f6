package accounting

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/depotfs/depot/internal/meta"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func openStore(t *testing.T, path string) *meta.DownloadStore {
	t.Helper()
	s, err := meta.OpenDownloads(path, meta.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newAcct(t *testing.T, cfg Config) (*Accountant, *[]Completion) {
	t.Helper()
	var mu sync.Mutex
	var got []Completion
	cfg.OnComplete = func(c Completion) { mu.Lock(); got = append(got, c); mu.Unlock() }
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a, &got
}

func dl(user, conn string, spans ...Span) *Delivery {
	return &Delivery{User: user, FileID: "group1/M00/00/00/f.bin", Size: 1000, Client: "127.0.0.1", Conn: conn, Acked: spans}
}

func TestUnionAcrossConnections(t *testing.T) {
	clk := &clock{t: time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)}
	a, got := newAcct(t, Config{Now: clk.now})
	defer a.Close()
	// 4 connections with overlapping and retried pieces; the last piece completes it.
	a.Record(dl("alice", "c1", Span{0, 300}))
	a.Record(dl("alice", "c2", Span{250, 600}))
	a.Record(dl("alice", "c3", Span{250, 400})) // a retried piece
	a.Record(dl("bob", "c9", Span{600, 1000}))  // another user: not alice's
	a.Sync()
	if len(*got) != 0 {
		t.Fatalf("completed early: %+v", *got)
	}
	clk.add(time.Hour)
	a.Record(dl("alice", "c4", Span{600, 1000}))
	a.Sync()
	if len(*got) != 1 {
		t.Fatalf("completions = %d, want 1", len(*got))
	}
	c := (*got)[0]
	if c.User != "alice" || c.Connections != 4 || c.Size != 1000 || c.Event != "download.completed" || c.ID == "" ||
		!c.Completed.Equal(clk.now()) || !c.Started.Equal(clk.now().Add(-time.Hour)) {
		t.Errorf("completion = %+v", c)
	}
	// A second full download counts again, starting from nothing.
	a.Record(dl("alice", "c5", Span{0, 999}))
	a.Sync()
	if len(*got) != 1 {
		t.Fatal("a partial second download completed")
	}
	a.Record(dl("alice", "c5", Span{999, 1000}))
	a.Sync()
	if len(*got) != 2 || (*got)[1].ID == c.ID {
		t.Fatalf("second download: %d completions", len(*got))
	}
}

func TestWindowAndBound(t *testing.T) {
	clk := &clock{t: time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)}
	a, got := newAcct(t, Config{Now: clk.now, Window: 24 * time.Hour, MaxEntries: 3})
	defer a.Close()
	a.Record(dl("alice", "c1", Span{0, 500}))
	a.Sync()
	clk.add(25 * time.Hour)
	a.Record(dl("alice", "c2", Span{500, 1000}))
	a.Sync()
	if len(*got) != 0 || a.Stats().Expired != 1 {
		t.Fatalf("a union older than the window completed (%d) or was not expired (%+v)", len(*got), a.Stats())
	}
	for _, u := range []string{"u1", "u2", "u3", "u4", "u5"} {
		a.Record(dl(u, "c", Span{0, 10}))
	}
	a.Sync()
	if s := a.Stats(); s.Entries != 3 || s.Evicted != 3 {
		t.Errorf("after 6 pairs with room for 3: %+v", s)
	}
}

func TestProgressSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "downloads.db")
	st := openStore(t, path)
	a, got := newAcct(t, Config{Store: st, QueueEvents: true})
	a.Record(dl("alice", "c1", Span{0, 400}))
	a.Close()
	st.Close()
	if len(*got) != 0 {
		t.Fatal("completed early")
	}

	st = openStore(t, path)
	defer st.Close()
	a, got = newAcct(t, Config{Store: st, QueueEvents: true})
	defer a.Close()
	a.Record(dl("alice", "c2", Span{400, 1000}))
	a.Sync()
	if len(*got) != 1 || (*got)[0].Connections != 2 {
		t.Fatalf("after a restart: %+v", *got)
	}
	if n, _ := st.EventCount(); n != 1 {
		t.Errorf("queued events = %d, want 1", n)
	}
}

func TestAckedSpans(t *testing.T) {
	parts := []Part{{Start: 100, Len: 50, Offset: 0}, {Start: 500, Len: 50, Offset: 80}}
	for _, tc := range []struct {
		acked int64
		want  []Span
	}{
		{0, nil},
		{20, []Span{{100, 120}}},
		{79, []Span{{100, 150}}},
		{100, []Span{{100, 150}, {500, 520}}},
		{1000, []Span{{100, 150}, {500, 550}}},
	} {
		got := AckedSpans(parts, tc.acked)
		if len(got) != len(tc.want) || (len(got) > 0 && got[len(got)-1] != tc.want[len(tc.want)-1]) {
			t.Errorf("AckedSpans(%d) = %v, want %v", tc.acked, got, tc.want)
		}
	}
}

// TestNotifierSurvivesOutageAndRestart: events queued while the receiver is down (and across a
// restart of the accountant and notifier) all arrive once it is back.
func TestNotifierSurvivesOutageAndRestart(t *testing.T) {
	var mu sync.Mutex
	up := false
	seen := map[string]int{}
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if !up {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		var c Completion
		if err := json.NewDecoder(r.Body).Decode(&c); err != nil || c.Event != "download.completed" {
			http.Error(w, "bad", http.StatusBadRequest)
			return
		}
		seen[c.ID]++
	}))
	defer recv.Close()

	path := filepath.Join(t.TempDir(), "downloads.db")
	start := func() (*meta.DownloadStore, *Accountant, *Notifier) {
		st := openStore(t, path)
		n, err := NewNotifier(NotifierConfig{URL: recv.URL, Store: st, MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		a, err := New(Config{Store: st, QueueEvents: true, OnComplete: func(Completion) { n.Wake() }})
		if err != nil {
			t.Fatal(err)
		}
		return st, a, n
	}
	st, a, n := start()
	for i := range 5 {
		a.Record(&Delivery{User: "u", FileID: "group1/M00/00/00/f" + string(rune('a'+i)), Size: 10, Conn: "c", Acked: []Span{{0, 10}}})
	}
	a.Sync()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, failures := n.Delivered(); failures >= 3 {
			break // several failed tries, backing off
		}
		if time.Now().After(deadline) {
			t.Fatal("the notifier never tried the receiver that was down")
		}
	}
	a.Close()
	n.Close()
	st.Close()

	st, a, n = start()
	defer func() { a.Close(); n.Close(); st.Close() }()
	a.Record(&Delivery{User: "u", FileID: "group1/M00/00/00/g", Size: 10, Conn: "c", Acked: []Span{{0, 10}}})
	a.Sync()
	mu.Lock()
	up = true
	mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		k := len(seen)
		mu.Unlock()
		if k == 6 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of 6 events arrived", k)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The receiver sees an event before the notifier, on its answer, drops it from the queue.
	for cnt, _ := st.EventCount(); cnt != 0; cnt, _ = st.EventCount() {
		if time.Now().After(deadline) {
			t.Fatalf("%d events still queued after delivery", cnt)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestWholeDownloadsTouchNoDisk: downloads that arrive whole in one response complete without
// any record or event written when no callback needs the events.
func TestWholeDownloadsTouchNoDisk(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "downloads.db"))
	defer st.Close()
	a, got := newAcct(t, Config{Store: st})
	for i := range 100 {
		a.Record(&Delivery{User: "u", FileID: fmt.Sprintf("group1/M00/00/00/f%d", i), Size: 10, Conn: "c", Acked: []Span{{0, 10}}})
	}
	a.Record(dl("alice", "c1", Span{0, 400})) // a partial one is kept
	a.Close()
	if len(*got) != 100 {
		t.Fatalf("completions = %d, want 100", len(*got))
	}
	var n int
	st.EachProgress(func(k, v []byte) error { n++; return nil })
	evs, _ := st.EventCount()
	if n != 1 || evs != 0 {
		t.Errorf("stored %d progress records and %d events; want 1 (the partial download) and 0", n, evs)
	}
}

// TestWholeKeepsToPairsWithState: a whole download is counted on the caller's goroutine
// (Whole, or Record's direct path) only while no pair of its bucket has state or a delivery
// in the queue; otherwise it is merged, and completes the union of a partial download.
func TestWholeKeepsToPairsWithState(t *testing.T) {
	a, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	const f = "group1/M00/00/00/f.bin"
	k := a.PairKey("alice", f)
	if !a.Whole(k, 1000) {
		t.Fatal("Whole refused a pair without state")
	}
	a.Record(dl("alice", "c1", Span{0, 400}))
	if a.Whole(k, 1000) {
		t.Fatal("Whole counted a pair with a delivery in the queue")
	}
	a.Sync()
	if a.Whole(k, 1000) {
		t.Fatal("Whole counted a pair with state")
	}
	a.Record(dl("alice", "c2", Span{0, 1000})) // whole, but merged: it completes alice's union
	a.Sync()
	if st := a.Stats(); st.Completed != 2 || st.Entries != 0 || st.Responses != 3 || st.BytesAcked != 2400 {
		t.Fatalf("stats %+v; want 2 completed, 0 pairs, 3 responses, 2400 bytes acknowledged", st)
	}
	if !a.Whole(k, 1000) {
		t.Fatal("Whole refused the pair after its union completed")
	}
	if a.Whole(PairKey{}, 1000) {
		t.Fatal("Whole took a zero PairKey")
	}

	b, err := New(Config{OnComplete: func(Completion) {}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Whole(b.PairKey("alice", f), 1000) {
		t.Fatal("Whole counted a download whose completion OnComplete must see")
	}
}

// TestHeldMatchesState: after deliveries recorded concurrently (partial, whole and Whole) and
// merged, each bucket's count is the number of pairs with state in it, so no bucket is held
// for ever nor let go while a pair has state.
func TestHeldMatchesState(t *testing.T) {
	a, err := New(Config{MaxEntries: 40})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				user, file := fmt.Sprintf("u%d", (g*7+i)%13), fmt.Sprintf("group1/M00/00/00/f%d", i%11)
				d := &Delivery{User: user, FileID: file, Size: 1000, Conn: fmt.Sprint(g)}
				switch i % 3 {
				case 0:
					d.Acked = []Span{{int64(i%4) * 250, int64(i%4)*250 + 250}}
					a.Record(d)
				case 1:
					d.Acked = []Span{{0, 1000}}
					a.Record(d)
				default:
					a.Whole(a.PairKey(user, file), 1000)
				}
			}
		})
	}
	wg.Wait()
	a.Close() // merges what is queued and stops the goroutine: its state is the test's now
	want := map[uint32]int32{}
	for _, e := range a.entries {
		want[e.bucket]++
	}
	for b := range a.held {
		if got := a.held[b].Load(); got != want[uint32(b)] {
			t.Errorf("bucket %d: held %d, pairs with state %d", b, got, want[uint32(b)])
		}
	}
	if st := a.Stats(); st.Completed == 0 || st.Entries == 0 || st.Entries > 40 {
		t.Errorf("stats %+v: want completions, and some pairs kept within the bound", st)
	}
}
