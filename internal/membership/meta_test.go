package membership

import (
	"errors"
	"strings"
	"testing"
)

func TestMetaRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		meta Meta
	}{
		{"zero", Meta{}},
		{"addrs", Meta{GRPCAddr: "127.0.0.2:22122", RaftAddr: "127.0.0.2:22124"}},
		{"bootstrapped", Meta{GRPCAddr: "[::1]:22122", RaftAddr: "h:1", Bootstrapped: true}},
		{"long", Meta{GRPCAddr: strings.Repeat("a", 200), RaftAddr: strings.Repeat("b", 200)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.meta.Encode()
			if err != nil {
				t.Fatal(err)
			}
			got, err := DecodeMeta(b)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.meta {
				t.Fatalf("DecodeMeta(Encode(%+v)) = %+v", tt.meta, got)
			}
		})
	}
}

func TestMetaErrors(t *testing.T) {
	if _, err := (Meta{GRPCAddr: strings.Repeat("x", MaxMetaSize)}).Encode(); !errors.Is(err, ErrBadMeta) {
		t.Errorf("oversized Encode: err = %v, want ErrBadMeta", err)
	}
	good, _ := Meta{GRPCAddr: "a:1", RaftAddr: "b:2"}.Encode()
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"version", append([]byte{2}, good[1:]...)},
		{"no flags", good[:len(good)-1]},
		{"short grpc", []byte{1, 9, 'a'}},
		{"short raft", []byte{1, 0, 5, 'b'}},
		{"bad varint", []byte{1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
		{"huge length", []byte{1, 0xff, 0xff, 0xff, 0xff, 0x0f}},
		{"oversized", make([]byte, MaxMetaSize+1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if m, err := DecodeMeta(tt.in); !errors.Is(err, ErrBadMeta) {
				t.Fatalf("DecodeMeta(%q) = %+v, %v; want ErrBadMeta", tt.in, m, err)
			}
		})
	}
}

func TestMetaIgnoresTrailingBytes(t *testing.T) {
	b, _ := Meta{GRPCAddr: "a:1", RaftAddr: "b:2", Bootstrapped: true}.Encode()
	got, err := DecodeMeta(append(b, 0xaa, 0xbb))
	if err != nil || !got.Bootstrapped || got.RaftAddr != "b:2" {
		t.Fatalf("DecodeMeta with trailing bytes = %+v, %v", got, err)
	}
}

func FuzzDecodeMeta(f *testing.F) {
	good, _ := Meta{GRPCAddr: "127.0.0.2:22122", RaftAddr: "127.0.0.2:22124", Bootstrapped: true}.Encode()
	f.Add(good)
	f.Add([]byte{1, 0, 0, 0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeMeta(b)
		if err != nil {
			return
		}
		enc, err := m.Encode()
		if err != nil {
			t.Fatalf("decoded %+v does not re-encode: %v", m, err)
		}
		again, err := DecodeMeta(enc)
		if err != nil || again != m {
			t.Fatalf("re-decode of %+v = %+v, %v", m, again, err)
		}
	})
}
