package stats

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestAPISetReferers: a replaced allow-list applies to the next request.
func TestAPISetReferers(t *testing.T) {
	r, err := New(Config{Store: openStore(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	api := NewAPI(r, nil, 0)
	get := func(referer string) int {
		req := httptest.NewRequest("GET", "/stats?from=2026-01-01&to=2026-01-02", nil)
		if referer != "" {
			req.Header.Set("Referer", referer)
		}
		w := httptest.NewRecorder()
		api.ServeStats(w, req)
		return w.Code
	}
	if got := get("https://a.example/"); got != http.StatusOK {
		t.Fatalf("no allow-list: %d, want 200", got)
	}
	api.SetReferers(ParseReferers("b.example"))
	if got := get("https://a.example/"); got != http.StatusUnauthorized {
		t.Errorf("a.example after SetReferers(b.example): %d, want 401", got)
	}
	if got := get("https://b.example/x"); got != http.StatusOK {
		t.Errorf("b.example: %d, want 200", got)
	}
}
