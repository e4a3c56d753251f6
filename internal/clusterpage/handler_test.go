package clusterpage

import (
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func serve(t *testing.T, view func() (*View, error)) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(Handler(view, nil))
	t.Cleanup(srv.Close)
	return srv
}

func fetch(t *testing.T, method, url string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestHandlerServesPageAndState(t *testing.T) {
	want := &View{Now: 1_750_000_000, Tracker: Tracker{Addr: "127.0.0.1:22122", IsLeader: true, Peers: []Peer{}},
		Groups: []Group{{Name: "group1", Active: 1, Storages: []Storage{{Key: "127.0.0.2:23000", State: "ACTIVE",
			Paths: []Path{{Index: 0, FreeBytes: 5, TotalBytes: 10}}, Lag: []Lag{}}}}},
		Events: []Event{{Time: 1_749_999_999, First: 1_749_999_990, Level: LevelWarn, Group: "group1", Storage: "x", Message: "went OFFLINE", Count: 2}}}
	srv := serve(t, func() (*View, error) { return want, nil })

	tests := []struct {
		method, path string
		code         int
		typ, body    string // Content-Type prefix, a piece of the body
	}{
		{"GET", "/cluster/", 200, "text/html", `<script src="app.js"></script>`},
		{"GET", "/cluster/app.js", 200, "text/javascript", "state.json"},
		{"GET", "/cluster/style.css", 200, "text/css", ".badge.OFFLINE"},
		{"GET", "/cluster/state.json", 200, "application/json", `"storage":"x"`},
		{"GET", "/cluster/nothing.txt", 404, "", ""},
		{"POST", "/cluster/state.json", 405, "", ""},
		{"GET", "/elsewhere", 404, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+tt.path, func(t *testing.T) {
			resp, body := fetch(t, tt.method, srv.URL+tt.path)
			if resp.StatusCode != tt.code || !strings.HasPrefix(resp.Header.Get("Content-Type"), tt.typ) || !strings.Contains(body, tt.body) {
				t.Fatalf("%d %q, body %.200q; want %d %q with %q", resp.StatusCode, resp.Header.Get("Content-Type"), body, tt.code, tt.typ, tt.body)
			}
		})
	}

	resp, body := fetch(t, "GET", srv.URL+"/cluster/state.json")
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("state.json Cache-Control %q", cc)
	}
	var got View
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	if a, _ := json.Marshal(&got); string(a) != strings.TrimSpace(body) {
		t.Fatalf("state.json does not round-trip:\n%s\n%s", a, body)
	}
	if got.Groups[0].Storages[0].Paths[0].TotalBytes != 10 || got.Events[0].Count != 2 {
		t.Fatalf("state.json: %+v", got)
	}

	resp, _ = fetch(t, "GET", srv.URL+"/")
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/cluster/" {
		t.Fatalf("/: %d to %q, want 302 to /cluster/", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestHandlerStateError(t *testing.T) {
	srv := serve(t, func() (*View, error) { return nil, errors.New("tracker: closing") })
	resp, body := fetch(t, "GET", srv.URL+"/cluster/state.json")
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "tracker: closing") {
		t.Fatalf("%d %q", resp.StatusCode, body)
	}
}

// TestPageWritesTextOnly: the page's script puts the tracker's strings into the document as
// text nodes only (a storage id or an error text cannot become markup).
func TestPageWritesTextOnly(t *testing.T) {
	err := fs.WalkDir(static, "static", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := static.ReadFile(path)
		for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("} {
			if strings.Contains(string(b), bad) {
				t.Errorf("%s uses %s", path, bad)
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
