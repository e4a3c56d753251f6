package storage_test

import (
	"os"
	"strings"
	"testing"

	"github.com/depotfs/depot/internal/storage"
)

// TestLiveKeysDocumented: docs/operations.md names every key a reload applies.
func TestLiveKeysDocumented(t *testing.T) {
	b, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	start := strings.Index(doc, "## Reload (SIGHUP)")
	if start < 0 {
		t.Fatal(`docs/operations.md has no "## Reload (SIGHUP)" section`)
	}
	sec := doc[start+1:]
	if end := strings.Index(sec, "\n## "); end >= 0 {
		sec = sec[:end]
	}
	sk, mk := storage.LiveKeys()
	for _, k := range append(sk, mk...) {
		if !strings.Contains(sec, "`"+k+"`") {
			t.Errorf("the Reload section of docs/operations.md does not name `%s`", k)
		}
		if storage.KeyEffect(false, k) != storage.Live && storage.KeyEffect(true, k) != storage.Live {
			t.Errorf("LiveKeys lists %s, KeyEffect does not", k)
		}
	}
	if storage.KeyEffect(false, "port") != storage.Restart || storage.KeyEffect(true, "response_mode") != storage.Live ||
		storage.KeyEffect(false, "allow_hosts") != storage.Live {
		t.Error("KeyEffect: port, response_mode, allow_hosts")
	}
}
