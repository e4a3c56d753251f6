package binlog

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func readAll(t *testing.T, dir string, from Position) ([]Record, Position) {
	t.Helper()
	r := NewReader(dir, from, nil)
	defer r.Close()
	var out []Record
	for {
		rec, _, err := r.Next()
		if err == io.EOF {
			return out, r.Pos()
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rec)
	}
}

func TestWriterConcurrentRotateAndRead(t *testing.T) {
	dir := t.TempDir()
	w, err := OpenWriter(Options{Dir: dir, MaxSize: 300})
	if err != nil {
		t.Fatal(err)
	}
	const writers, each = 8, 50
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for i := range each {
				rec := Record{TS: int64(g*1000 + i), Op: Create, Name: fmt.Sprintf("M00/00/00/w%d-%d", g, i)}
				if err := w.Write(rec); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	end := w.End()
	if end.Index == 0 {
		t.Fatalf("no rotation at 300 bytes: end %+v", end)
	}
	recs, pos := readAll(t, dir, Position{})
	if len(recs) != writers*each || pos != end {
		t.Fatalf("read %d records up to %+v, want %d up to %+v", len(recs), pos, writers*each, end)
	}
	seen := map[string]bool{}
	for _, r := range recs {
		if seen[r.Name] {
			t.Fatalf("%s twice", r.Name)
		}
		seen[r.Name] = true
	}
	idx, err := readIndex(dir)
	if err != nil || idx != end.Index {
		t.Fatalf("index file says %d (%v), writer at %d", idx, err, end.Index)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(Record{Op: Create, Name: "x"}); err != ErrClosed {
		t.Fatalf("write after close: %v", err)
	}
}

func TestTornTailCutOnOpen(t *testing.T) {
	dir := t.TempDir()
	w, err := OpenWriter(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(Record{TS: 1, Op: Create, Name: "M00/00/00/a"}); err != nil {
		t.Fatal(err)
	}
	w.Close()
	// A crash in the middle of a write leaves half a line.
	f, err := os.OpenFile(fileName(dir, 0), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("2 C M00/00/00/tor")
	f.Close()
	// A reader meanwhile never returns the partial line.
	recs, pos := readAll(t, dir, Position{})
	if len(recs) != 1 || pos.Offset != int64(len("1 C M00/00/00/a\n")) {
		t.Fatalf("reader over torn tail: %v at %+v", recs, pos)
	}
	w, err = OpenWriter(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.Write(Record{TS: 3, Op: Delete, Name: "M00/00/00/a"}); err != nil {
		t.Fatal(err)
	}
	recs, _ = readAll(t, dir, Position{})
	if len(recs) != 2 || recs[1].Op != Delete {
		t.Fatalf("after reopen: %+v", recs)
	}
}

func TestReaderResumesFromMark(t *testing.T) {
	dir := t.TempDir()
	w, err := OpenWriter(Options{Dir: dir, MaxSize: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for i := range 10 {
		if err := w.Write(Record{TS: int64(i), Op: Create, Name: fmt.Sprintf("M00/00/00/f%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	r := NewReader(dir, Position{}, nil)
	for range 4 {
		if _, _, err := r.Next(); err != nil {
			t.Fatal(err)
		}
	}
	markPath := MarkPath(dir, "127.0.0.2:23000")
	if filepath.Base(markPath) != "127.0.0.2_23000.mark" {
		t.Fatalf("mark path %s", markPath)
	}
	m := Mark{Pos: r.Pos(), NeedSyncOld: true, UntilTS: 42, SyncRows: 4}
	if err := m.Save(markPath); err != nil {
		t.Fatal(err)
	}
	r.Close()
	got, ok, err := LoadMark(markPath)
	if err != nil || !ok || got != m {
		t.Fatalf("LoadMark = %+v %v %v, want %+v", got, ok, err, m)
	}
	recs, _ := readAll(t, dir, got.Pos)
	if len(recs) != 6 || recs[0].Name != "M00/00/00/f4" {
		t.Fatalf("resumed read: %+v", recs)
	}
	if n := Remaining(dir, got.Pos, w.End()); n <= 0 {
		t.Fatalf("Remaining = %d", n)
	}
	if _, ok, err := LoadMark(filepath.Join(dir, "none.mark")); ok || err != nil {
		t.Fatalf("missing mark: %v %v", ok, err)
	}
}

// TestCrashBetweenRotateAndIndex: a crash after the next file was created but before the
// index named it; the writer carries on in the newest file and readers see every record.
func TestCrashBetweenRotateAndIndex(t *testing.T) {
	dir := t.TempDir()
	w, err := OpenWriter(Options{Dir: dir, MaxSize: 40})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := w.Write(Record{TS: int64(i), Op: Create, Name: fmt.Sprintf("M00/00/00/file-%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	end := w.End()
	w.Close()
	if err := writeIndex(dir, end.Index-1); err != nil {
		t.Fatal(err)
	}
	w, err = OpenWriter(Options{Dir: dir, MaxSize: 40})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if got := w.End(); got != end {
		t.Fatalf("reopened at %+v, want %+v", got, end)
	}
	if err := w.Write(Record{TS: 9, Op: Delete, Name: "M00/00/00/file-0"}); err != nil {
		t.Fatal(err)
	}
	recs, _ := readAll(t, dir, Position{})
	if len(recs) != 4 || recs[3].Op != Delete {
		t.Fatalf("records after reopen: %+v", recs)
	}
}
