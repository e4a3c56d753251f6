package meta

import (
	"fmt"
	"path/filepath"
	"testing"
)

func TestDownloadStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "downloads.db")
	s, err := OpenDownloads(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Commit(map[string][]byte{"u\x00f1": []byte("a"), "u\x00f2": []byte("b")}, [][]byte{[]byte("e1"), []byte("e2")}, 3); err != nil {
		t.Fatal(err)
	}
	dropped, err := s.Commit(map[string][]byte{"u\x00f1": nil}, [][]byte{[]byte("e3"), []byte("e4")}, 3)
	if err != nil || dropped != 1 {
		t.Fatalf("commit over the bound: dropped %d, %v; want 1 (the oldest)", dropped, err)
	}
	s.Close()

	// Reopened: what was committed is there.
	s, err = OpenDownloads(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var keys []string
	s.EachProgress(func(k, v []byte) error { keys = append(keys, fmt.Sprintf("%q=%s", k, v)); return nil })
	if fmt.Sprint(keys) != `["u\x00f2"=b]` {
		t.Errorf("progress after reopen = %v", keys)
	}
	evs, err := s.Events(10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range evs {
		got = append(got, string(e.Data))
	}
	if fmt.Sprint(got) != "[e2 e3 e4]" {
		t.Fatalf("events = %v, want [e2 e3 e4] (e1 dropped as the oldest)", got)
	}
	if err := s.DeleteEvent(evs[0].Seq); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.EventCount(); n != 2 {
		t.Errorf("EventCount = %d after delivering one of 3", n)
	}
}
