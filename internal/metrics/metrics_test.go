package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// fakeNode is a Collector over counters a node keeps.
type fakeNode struct {
	hits  atomic.Uint64
	level atomic.Int64
	bad   bool // emit a sample with a missing label value

	hitsDesc, levelDesc *Desc
}

func newFakeNode() *fakeNode {
	return &fakeNode{
		hitsDesc:  NewDesc("fake_hits_total", "Hits by code.", Counter, "code"),
		levelDesc: NewDesc("fake_level", "A level.", Gauge),
	}
}

func (n *fakeNode) Describe() []*Desc { return []*Desc{n.hitsDesc, n.levelDesc} }

func (n *fakeNode) Collect(e Emitter) {
	e.Emit(n.hitsDesc, float64(n.hits.Load()), "200")
	e.Emit(n.hitsDesc, 1, "404")
	if n.bad {
		e.Emit(n.hitsDesc, 1)
	}
	e.Emit(n.levelDesc, float64(n.level.Load()))
}

func scrape(t *testing.T, h http.Handler) Samples {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("scrape: %d %s", rec.Code, rec.Body)
	}
	ss, err := ParseText(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	return ss
}

// TestRegistry: values are read at scrape time, with their kind; each registry holds only
// its own collectors (plus the Go and process ones); a bad sample costs only its family.
func TestRegistry(t *testing.T) {
	a, b := NewRegistry(nil), NewRegistry(nil)
	na := newFakeNode()
	if err := a.Register(na); err != nil {
		t.Fatal(err)
	}
	na.hits.Add(3)
	na.level.Store(-2)
	ss := scrape(t, a.Handler())
	if v, ok := ss.Value("fake_hits_total", "code", "200"); !ok || v != 3 {
		t.Errorf("fake_hits_total{code=200} = %v, %v; want 3\n%s", v, ok, ss)
	}
	if v, ok := ss.Value("fake_level"); !ok || v != -2 {
		t.Errorf("fake_level = %v, %v; want -2", v, ok)
	}
	if got := ss.Sum("fake_hits_total"); got != 4 {
		t.Errorf("sum of fake_hits_total = %v, want 4", got)
	}
	if _, ok := ss.Value("go_goroutines"); !ok {
		t.Errorf("no go_goroutines:\n%s", ss)
	}
	na.hits.Add(1)
	if v, _ := scrape(t, a.Handler()).Value("fake_hits_total", "code", "200"); v != 4 {
		t.Errorf("second scrape: %v, want 4", v)
	}
	if _, ok := scrape(t, b.Handler()).Value("fake_level"); ok {
		t.Error("a family of registry a is served by registry b")
	}
	if err := a.Register(newFakeNode()); err == nil {
		t.Error("registering the same families twice succeeded")
	}

	rec := httptest.NewRecorder()
	a.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	text, _ := io.ReadAll(rec.Body)
	for _, want := range []string{"# TYPE fake_hits_total counter", "# TYPE fake_level gauge", "# HELP fake_level A level."} {
		if !strings.Contains(string(text), want) {
			t.Errorf("exposition lacks %q", want)
		}
	}

	c := NewRegistry(nil)
	nc := newFakeNode()
	nc.bad = true
	if err := c.Register(nc); err != nil {
		t.Fatal(err)
	}
	ss = scrape(t, c.Handler())
	if _, ok := ss.Value("fake_level"); !ok {
		t.Errorf("a bad sample of another family dropped fake_level:\n%s", ss)
	}
}

func TestParseTextError(t *testing.T) {
	if _, err := ParseText(strings.NewReader("fake_total{code=\"200\" 1\n")); err == nil {
		t.Error("ParseText accepted a broken line")
	}
}
