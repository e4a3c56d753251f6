package disk

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
)

// fixtureHeader is the first slot header of the fixture trunk file (vectors.md).
const fixtureHeader = "46000004000000 03e882684d116b0408393239352e62696e"

func TestTrunkHeaderVector(t *testing.T) {
	b, err := hex.DecodeString(strings.ReplaceAll(fixtureHeader, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	h, err := DecodeTrunkHeader(b)
	if err != nil {
		t.Fatal(err)
	}
	want := TrunkHeader{Type: 'F', Alloc: 1024, Size: 1000, CRC32: 0x82684d11, MTime: 1795426361, Ext: [7]byte{'2', '9', '5', '.', 'b', 'i', 'n'}}
	if h != want {
		t.Errorf("decoded %+v, want %+v", h, want)
	}
	id := mustParse(t, fixtureFiles[4].id)
	slot, _ := id.Trunk()
	got := wantTrunkHeader(id, slot)
	got.Type = 'F'
	if got != want {
		t.Errorf("header from the name %+v, want %+v", got, want)
	}
	if typ, err := checkTrunkHeader(b, id, slot); err != nil || typ != 'F' {
		t.Errorf("checkTrunkHeader = %c, %v", typ, err)
	}
	var out [trunkHeaderSize]byte
	h.Encode(out[:])
	if !bytes.Equal(out[:], b) {
		t.Errorf("encode = %x, want %x", out, b)
	}
	for i := range b {
		bad := bytes.Clone(b)
		bad[i] ^= 0x40
		if _, err := checkTrunkHeader(bad, id, slot); err == nil {
			t.Errorf("header with byte %d changed passes", i)
		}
	}
	if _, err := DecodeTrunkHeader(b[:23]); err == nil {
		t.Error("23-byte header decodes")
	}
}

func FuzzTrunkHeader(f *testing.F) {
	b, _ := hex.DecodeString(strings.ReplaceAll(fixtureHeader, " ", ""))
	f.Add(b)
	f.Add(make([]byte, 24))
	f.Add([]byte("L"))
	id := mustParse(f, fixtureFiles[4].id)
	slot, _ := id.Trunk()
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := DecodeTrunkHeader(b)
		if err != nil {
			if len(b) >= trunkHeaderSize {
				t.Fatalf("decode of %d bytes failed: %v", len(b), err)
			}
			return
		}
		var out [trunkHeaderSize]byte
		h.Encode(out[:])
		if !bytes.Equal(out[:], b[:trunkHeaderSize]) {
			t.Fatalf("encode(decode(%x)) = %x", b[:trunkHeaderSize], out)
		}
		if typ, err := checkTrunkHeader(b, id, slot); err == nil {
			if typ != trunkRegular && typ != trunkLink || h.Size+trunkHeaderSize > h.Alloc {
				t.Fatalf("accepted header %+v", h)
			}
		}
	})
}

func FuzzMeta(f *testing.F) {
	f.Add([]byte("ext_name\x02jpg\x01file_size\x02115120\x01height\x0280\x01width\x02160"))
	f.Add([]byte(""))
	f.Add([]byte("\x01\x02\x01"))
	f.Add([]byte("a\x02b\x02c\x01a"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m := parseMeta(b)
		if checkMeta(m) != nil {
			return
		}
		again := parseMeta(formatMeta(m))
		if len(again) != len(m) {
			t.Fatalf("round trip of %q: %q then %q", b, m, again)
		}
		for k, v := range m {
			if again[k] != v {
				t.Fatalf("round trip of %q: %q: %q then %q", b, k, v, again[k])
			}
		}
	})
}

func FuzzStatFile(f *testing.F) {
	f.Add([]byte("total_upload_count=7\ndist_path_index_high=1\ndist_path_index_low=200\ndist_write_file_count=99\n"))
	f.Add([]byte("dist_path_index_high = -3\r\n=\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		d := &distributor{subdirs: 256, rotate: 100}
		d.load(b)
		if d.high < 0 || d.high > 255 || d.low < 0 || d.low > 255 || d.count < 0 || d.count >= 100 {
			t.Fatalf("counters %d %d %d from %q", d.high, d.low, d.count, b)
		}
		d.next()
		out := d.render()
		d2 := &distributor{subdirs: 256, rotate: 100}
		d2.load(out)
		if d2.high != d.high || d2.low != d.low || d2.count != d.count {
			t.Fatalf("counters not kept: %d %d %d vs %d %d %d", d2.high, d2.low, d2.count, d.high, d.low, d.count)
		}
		if !bytes.Equal(d2.render(), out) {
			t.Fatalf("render not stable:\n%q\n%q", out, d2.render())
		}
	})
}

func BenchmarkOpen(b *testing.B) {
	s, err := Open(Options{Paths: []PathConfig{{Dir: fixtureDir, ReadOnly: true}}, Statfs: bigFree})
	if err != nil {
		b.Fatal(err)
	}
	for _, name := range []string{"normal", "trunk"} {
		id := mustParse(b, fixtureFiles[0].id)
		if name == "trunk" {
			id = mustParse(b, fixtureFiles[6].id)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				f, err := s.Open(id)
				if err != nil {
					b.Fatal(err)
				}
				f.F.Close()
			}
		})
	}
}
