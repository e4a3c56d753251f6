package tracker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"image/color"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/depotfs/depot/internal/clusterpage"
	"github.com/depotfs/depot/internal/conf"
)

// The viewport of the browser, in CSS pixels (scale 1: one screenshot pixel each).
const shotW, shotH = 1280, 900

// TestClusterPageInChromium loads the tracker's cluster page in headless chromium while
// real storages report to a real tracker: it waits for the storages to render ACTIVE with
// their free space, checks the text against the tracker's own state and a screenshot
// against what a drawn page looks like, then cuts one storage off the tracker and waits
// for the page to show it OFFLINE with the warning in its recent events, and at last cuts
// the browser off the tracker and waits for the page to say so. Set
// DEPOT_CLUSTERPAGE_SHOTS to a folder to keep the screenshots.
func TestClusterPageInChromium(t *testing.T) {
	chromium := findChromium(t)
	start := time.Now()
	step := func(what string) { t.Logf("%6.2fs %s", time.Since(start).Seconds(), what) }
	// OFFLINE after 2 s without a heartbeat (not 1): a loaded machine must not flap the
	// storages while the page is read.
	tn := startTracker(t, true, func(tc *conf.Tracker) { tc.CheckActiveInterval = 2 * time.Second })
	cut := newLink(t, tn.Addr())
	a := startGroupStorage(t, tn.Addr(), "group1", 1)
	b := startGroupStorage(t, cut.Addr(), "group1", 1) // reaches the tracker through cut only
	c := startGroupStorage(t, tn.Addr(), "group2", 2)
	keyA, keyB, keyC := a.GRPCAddr(), b.GRPCAddr(), c.GRPCAddr()

	ctx, pageErrors := newBrowser(t, chromium)
	toPage := newLink(t, tn.AdminAddr()) // the browser's way to the tracker, cut at the end
	url := "http://" + toPage.Addr() + "/cluster/?refresh=0.25"
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(shotW, shotH), chromedp.Navigate(url)); err != nil {
		t.Fatalf("loading %s: %v", url, err)
	}
	for _, k := range []string{keyA, keyB, keyC} {
		waitPage(ctx, t, k+" ACTIVE with its free space",
			fmt.Sprintf(`!!document.querySelector('tr[data-storage=%s][data-state="ACTIVE"] .path .free')`, jsString(k)))
	}

	step("every storage ACTIVE on the page")
	got := readGroups(ctx, t)
	view, err := tn.Server().ClusterView()
	if err != nil {
		t.Fatal(err)
	}
	checkGroups(t, got, view, map[string][]string{"group1": {keyA, keyB}, "group2": {keyC}}, map[string]int{keyA: 1, keyB: 1, keyC: 2})
	summary := text(ctx, t, `document.getElementById('summary').innerText`)
	if !strings.Contains(summary, "3 / 3") {
		t.Errorf("summary does not count 3 of 3 storages active:\n%s", summary)
	}
	if trackers := text(ctx, t, `document.getElementById('trackers').innerText`); !strings.Contains(trackers, view.Tracker.Addr) {
		t.Errorf("trackers panel does not name the tracker %s:\n%s", view.Tracker.Addr, trackers)
	}
	img := screenshot(ctx, t, "active")
	checkDrawn(t, img)
	wantColour(t, img, "the ACTIVE badge of "+keyB, rect(ctx, t, keyB), color.RGBA{0x1f, 0x88, 0x3d, 0xff})

	// Storage b loses its tracker: no heartbeat gets through, the sweep marks it OFFLINE
	// after check_active_interval (2 s) and the page, fetching every 250 ms, shows it.
	step("page read and checked")
	cut.Cut()
	waitPage(ctx, t, keyB+" OFFLINE", fmt.Sprintf(`!!document.querySelector('tr[data-storage=%s][data-state="OFFLINE"]')`, jsString(keyB)))
	waitPage(ctx, t, "the OFFLINE warning among the recent events",
		fmt.Sprintf(`[...document.querySelectorAll('#events tr[data-event="warn"]')].some(r => r.innerText.includes(%s) && r.innerText.includes("went OFFLINE"))`, jsString(keyB)))
	if s := text(ctx, t, fmt.Sprintf(`document.querySelector('tr[data-storage=%s]').cells[3].innerText`, jsString(keyB))); !regexp.MustCompile(`^[1-9][0-9]*s ago$`).MatchString(s) {
		t.Errorf("heartbeat of the OFFLINE %s on the page: %q, want 'Ns ago'", keyB, s)
	}
	if s := text(ctx, t, `document.querySelector('section[data-group="group1"] .group-head').innerText`); !strings.Contains(s, "1 of 2 active") {
		t.Errorf("group1's head after %s went OFFLINE: %q, want 1 of 2 active", keyB, s)
	}
	for _, k := range []string{keyA, keyC} {
		if st := text(ctx, t, fmt.Sprintf(`document.querySelector('tr[data-storage=%s]').dataset.state`, jsString(k))); st != "ACTIVE" {
			t.Errorf("%s is %s on the page after another storage went OFFLINE", k, st)
		}
	}
	img = screenshot(ctx, t, "offline")
	checkDrawn(t, img)
	wantColour(t, img, "the OFFLINE badge of "+keyB, rect(ctx, t, keyB), color.RGBA{0xcf, 0x22, 0x2e, 0xff})

	// The tracker becomes unreachable: the page says so and keeps what it showed last.
	step(keyB + " OFFLINE on the page")
	toPage.Cut()
	waitPage(ctx, t, "the banner of a tracker that does not answer",
		`!document.getElementById('banner').hidden && document.getElementById('status').classList.contains('bad')`)
	if s := text(ctx, t, `document.getElementById('banner').innerText`); !strings.Contains(s, "did not answer") || !strings.Contains(s, "showing what it said at") {
		t.Errorf("banner: %q", s)
	}
	if n := text(ctx, t, `String(document.querySelectorAll('tr[data-storage]').length)`); n != "3" {
		t.Errorf("%s storage rows left on the page without its tracker, want the 3 it showed", n)
	}
	step("the page said the tracker did not answer")
	pageErrors.check(t)
}

// findChromium returns Debian's chromium; without it the test is skipped, except under CI
// (CI set, as .ci/run runs with CI=true), where .ci/run installs it and its absence is a
// failure.
func findChromium(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err == nil {
		return path
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("chromium not found under CI (.ci/run installs the chromium package): %v", err)
	}
	t.Skipf("chromium not found (apt-get install chromium to run this test): %v", err)
	return ""
}

// pageErrors collects the uncaught exceptions and console errors of the page.
type pageErrors struct {
	mu   sync.Mutex
	msgs []string
}

func (p *pageErrors) add(s string) {
	p.mu.Lock()
	p.msgs = append(p.msgs, s)
	p.mu.Unlock()
}

func (p *pageErrors) check(t *testing.T) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, m := range p.msgs {
		t.Errorf("the page reported an error: %s", m)
	}
}

// newBrowser starts headless chromium with a fresh profile and the flags that keep it off
// the network (the test machine has none: without them it waits on lookups), for at most
// 60 s (it takes about 6). It stops at the end of the test.
func newBrowser(t *testing.T, path string) (context.Context, *pageErrors) {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(shotW, shotH),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	ctx, cancelTime := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(func() { cancelTime(); cancelTab(); cancelAlloc() })
	errs := &pageErrors{}
	err := chromedp.Listen(ctx, func(ev any) {
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			if d := e.ExceptionDetails; d != nil {
				msg := d.Text
				if d.Exception != nil {
					msg += " " + d.Exception.Description
				}
				errs.add(fmt.Sprintf("%s (%s:%d)", msg, d.URL, d.LineNumber+1))
			}
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError {
				errs.add(fmt.Sprintf("console.error with %d args", len(e.Args)))
			}
		}
	})
	if err != nil {
		t.Fatalf("starting chromium %s: %v", path, err)
	}
	return ctx, errs
}

// waitPage polls the page until the expression js is true; past 15 s the test fails with
// the page's text.
func waitPage(ctx context.Context, t *testing.T, what, js string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			body, _ := chromedp.Run(context.WithoutCancel(ctx), chromedp.Evaluate[string](`document.body.innerText`))
			t.Fatalf("the page did not show %s (last error: %v); it shows:\n%s", what, err, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func text(ctx context.Context, t *testing.T, js string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	if err != nil {
		t.Fatalf("evaluating %s: %v", js, err)
	}
	return s
}

func jsString(s string) string { b, _ := json.Marshal(s); return string(b) }

// pageGroup is a group as the page draws it.
type pageGroup struct {
	Name     string `json:"name"`
	Storages []struct {
		Key       string `json:"key"`
		State     string `json:"state"`
		Badge     string `json:"badge"`
		Heartbeat string `json:"heartbeat"`
		Paths     []struct {
			Index int    `json:"index"`
			Free  string `json:"free"`
		} `json:"paths"`
	} `json:"storages"`
}

func readGroups(ctx context.Context, t *testing.T) []pageGroup {
	t.Helper()
	const js = `[...document.querySelectorAll('section.group')].map(g => ({
		name: g.dataset.group,
		storages: [...g.querySelectorAll('tr[data-storage]')].map(r => ({
			key: r.dataset.storage, state: r.dataset.state,
			badge: r.querySelector('.badge').textContent,
			heartbeat: r.cells[3].innerText,
			paths: [...r.querySelectorAll('.path')].map(p => ({index: +p.dataset.path, free: p.querySelector('.free').textContent})),
		})),
	}))`
	got, err := chromedp.Run(ctx, chromedp.Evaluate[[]pageGroup](js))
	if err != nil {
		t.Fatalf("reading the groups off the page: %v", err)
	}
	return got
}

var freeText = regexp.MustCompile(`^([0-9.]+) (B|KiB|MiB|GiB|TiB|PiB) free of ([0-9.]+) (B|KiB|MiB|GiB|TiB|PiB)$`)

// checkGroups compares the page's groups with the tracker's view, in its order, and with the
// keys (any order) and store path counts wanted, and the free space with the view (within 2% of the path's size: the page rounds,
// and the disk is shared with other tests).
func checkGroups(t *testing.T, got []pageGroup, view *clusterpage.View, keys map[string][]string, paths map[string]int) {
	t.Helper()
	if len(got) != len(keys) {
		t.Fatalf("the page shows %d groups %+v, want %v", len(got), got, keys)
	}
	for i, g := range got {
		vg := view.Groups[i]
		if g.Name != vg.Name || len(g.Storages) != len(keys[g.Name]) || len(vg.Storages) != len(keys[g.Name]) {
			t.Fatalf("group %d on the page: %+v; want %s with %v", i, g, vg.Name, keys[vg.Name])
		}
		for j, s := range g.Storages {
			vs := vg.Storages[j]
			if s.Key != vs.Key || !slices.Contains(keys[g.Name], s.Key) || s.State != "ACTIVE" || s.Badge != "ACTIVE" || len(s.Paths) != paths[s.Key] || len(vs.Paths) != paths[s.Key] {
				t.Errorf("group %s storage %d on the page: %+v; want %s (one of %v) ACTIVE with %d store paths", g.Name, j, s, vs.Key, keys[g.Name], len(vs.Paths))
				continue
			}
			if s.Heartbeat == "never" {
				t.Errorf("storage %s: heartbeat %q", s.Key, s.Heartbeat)
			}
			for k, p := range s.Paths {
				free, total := parseFree(t, p.Free)
				want := vs.Paths[k]
				slack := float64(want.TotalBytes) / 50
				if p.Index != want.Index || abs(total-float64(want.TotalBytes)) > slack || abs(free-float64(want.FreeBytes)) > slack {
					t.Errorf("storage %s store_path%d on the page: %q; the tracker has %d free of %d", s.Key, p.Index, p.Free, want.FreeBytes, want.TotalBytes)
				}
			}
		}
	}
}

func parseFree(t *testing.T, s string) (free, total float64) {
	t.Helper()
	m := freeText.FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("free space %q does not read as 'N unit free of N unit'", s)
	}
	return size(t, m[1], m[2]), size(t, m[3], m[4])
}

func size(t *testing.T, n, unit string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(n, 64)
	if err != nil {
		t.Fatalf("size %q: %v", n, err)
	}
	for _, u := range []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB"} {
		if u == unit {
			return v
		}
		v *= 1024
	}
	t.Fatalf("unit %q", unit)
	return 0
}

func abs(f float64) float64 { return max(f, -f) }
