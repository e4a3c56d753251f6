package consensus

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

func openTestStore(t *testing.T, dir string) *raftStore {
	t.Helper()
	s, err := openStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func logEntry(i uint64, data string) *raft.Log {
	return &raft.Log{Index: i, Term: i / 2, Type: raft.LogCommand, Data: []byte(data), AppendedAt: time.Unix(1700000000, int64(i))}
}

func TestLogStore(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir)
	if first, _ := s.FirstIndex(); first != 0 {
		t.Fatalf("empty FirstIndex = %d", first)
	}
	if last, _ := s.LastIndex(); last != 0 {
		t.Fatalf("empty LastIndex = %d", last)
	}
	var l raft.Log
	if err := s.GetLog(1, &l); !errors.Is(err, raft.ErrLogNotFound) {
		t.Fatalf("GetLog on empty store = %v", err)
	}
	if err := s.StoreLog(logEntry(1, "one")); err != nil {
		t.Fatal(err)
	}
	if err := s.StoreLogs([]*raft.Log{logEntry(2, "two"), logEntry(3, ""), logEntry(300, "far")}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteRange(3, 299); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openTestStore(t, dir) // everything survives a reopen
	defer s.Close()
	tests := []struct {
		index uint64
		want  *raft.Log
	}{
		{1, logEntry(1, "one")},
		{2, logEntry(2, "two")},
		{3, nil},
		{300, logEntry(300, "far")},
	}
	for _, tt := range tests {
		var got raft.Log
		err := s.GetLog(tt.index, &got)
		if tt.want == nil {
			if !errors.Is(err, raft.ErrLogNotFound) {
				t.Errorf("GetLog(%d) = %v, want ErrLogNotFound", tt.index, err)
			}
			continue
		}
		if err != nil || got.Index != tt.want.Index || got.Term != tt.want.Term || got.Type != tt.want.Type ||
			!bytes.Equal(got.Data, tt.want.Data) || !got.AppendedAt.Equal(tt.want.AppendedAt) {
			t.Errorf("GetLog(%d) = %+v, %v; want %+v", tt.index, got, err, tt.want)
		}
	}
	if first, _ := s.FirstIndex(); first != 1 {
		t.Errorf("FirstIndex = %d", first)
	}
	if last, _ := s.LastIndex(); last != 300 {
		t.Errorf("LastIndex = %d", last)
	}
}

func TestStableStore(t *testing.T) {
	s := openTestStore(t, t.TempDir())
	defer s.Close()
	// raft tells "missing" from "broken" by this exact text.
	if _, err := s.Get([]byte("k")); err == nil || err.Error() != "not found" {
		t.Fatalf("Get missing = %v", err)
	}
	if _, err := s.GetUint64([]byte("n")); err == nil || err.Error() != "not found" {
		t.Fatalf("GetUint64 missing = %v", err)
	}
	if err := s.Set([]byte("k"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	if err := s.SetUint64([]byte("n"), 42); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Get([]byte("k")); err != nil || string(v) != "v" {
		t.Fatalf("Get = %q, %v", v, err)
	}
	if v, err := s.GetUint64([]byte("n")); err != nil || v != 42 {
		t.Fatalf("GetUint64 = %d, %v", v, err)
	}
	if _, err := s.GetUint64([]byte("k")); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("GetUint64 of a non-integer = %v, want ErrCorrupt", err)
	}
}

func TestPeerRecords(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir)
	want := peerRecord{ID: "t1", GossipAddr: "127.0.0.2:22123", GRPCAddr: "127.0.0.2:22122", RaftAddr: "127.0.0.2:22124"}
	if err := s.putPeer(want); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openTestStore(t, dir)
	defer s.Close()
	got, err := s.peers()
	if err != nil || len(got) != 1 || got[0] != want {
		t.Fatalf("peers = %+v, %v", got, err)
	}
}

func TestDecodeLogErrors(t *testing.T) {
	good := encodeLog(logEntry(7, "data"))
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"truncated", good[:len(good)-2]},
		{"trailing", append(append([]byte(nil), good...), 0)},
		{"huge length", []byte{1, 1, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := decodeLog(tt.in); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("decodeLog = %v, want ErrCorrupt", err)
			}
		})
	}
}

func FuzzDecodeLog(f *testing.F) {
	f.Add(encodeLog(logEntry(7, "data")))
	f.Add(encodeLog(&raft.Log{}))
	f.Add([]byte{0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := decodeLog(b)
		if err != nil {
			return
		}
		again, err := decodeLog(encodeLog(&l))
		if err != nil || again.Index != l.Index || again.Term != l.Term || again.Type != l.Type ||
			!bytes.Equal(again.Data, l.Data) || !bytes.Equal(again.Extensions, l.Extensions) || !again.AppendedAt.Equal(l.AppendedAt) {
			t.Fatalf("round trip of %+v = %+v, %v", l, again, err)
		}
	})
}

func FuzzDecodePeer(f *testing.F) {
	f.Add(peerRecord{GossipAddr: "a:1", GRPCAddr: "b:2", RaftAddr: "c:3"}.encode())
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := decodePeer([]byte("id"), b)
		if err != nil {
			return
		}
		again, err := decodePeer([]byte("id"), p.encode())
		if err != nil || again != p {
			t.Fatalf("round trip of %+v = %+v, %v", p, again, err)
		}
	})
}
