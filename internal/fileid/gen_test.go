package fileid

import (
	"errors"
	"math"
	"strings"
	"testing"
)

// seq returns a Rand that yields vals in turn and fails the test when they run out.
func seq(t *testing.T, vals ...uint32) func() uint32 {
	t.Helper()
	return func() uint32 {
		if len(vals) == 0 {
			t.Fatalf("Rand called too often")
		}
		v := vals[0]
		vals = vals[1:]
		return v
	}
}

func TestNewExamples(t *testing.T) {
	tests := []struct {
		name string
		p    NewParams
		rand []uint32
		want string
	}{
		{"A normal", NewParams{Group: "group1", Dir2: 0x2A, Source: [4]byte{192, 168, 1, 104},
			Created: 1700000000, Size: 11, CRC32: 0x0D4A1185, Ext: "jpg"},
			[]uint32{0x00123456, 123}, "group1/M00/00/2A/wKgBaGVT8QCAEjRWAAAACw1KEYU123.jpg"},
		{"B appender", NewParams{Group: "group1", Path: 1, Dir1: 1, Dir2: 0xFF, Source: [4]byte{0xA1, 0x86, 0x01, 0x00},
			Created: 1700000000, Size: 12345, CRC32: 0x1BADB002, Appender: true},
			[]uint32{0xFF654321, 4567890}, "group1/M01/01/FF/oYYBAGVT8QCEZUMhAAAAAButsAI4567890"},
		{"C trunk", NewParams{Group: "group1", Source: [4]byte{10, 0, 0, 5}, Created: 1700000000, Size: 1000,
			CRC32: 0xCAFEBABE, Ext: "png", Trunk: &TrunkSlot{File: 3, Offset: 65536, Size: 1024}},
			[]uint32{1, 0}, "group1/M00/00/00/CgAABWVT8QCIAAABAAAD6Mr-ur4AAAAAwABAAAAAAQA000.png"},
		{"vector trunk", NewParams{Group: "group1", Source: [4]byte{127, 0, 0, 1}, Created: 1795426361, Size: 1000,
			CRC32: 0x82684d11, Ext: "bin", Trunk: &TrunkSlot{File: 1, Offset: 0, Size: 1024}},
			[]uint32{0x0045abbf, 295}, "group1/M00/00/00/fwAAAWsECDmIRau_AAAD6IJoTREAAAAAQAAAAAAAAQA295.bin"},
		{"six-char ext", NewParams{Group: "g", Ext: "abcdef"}, []uint32{0},
			"g/M00/00/00/AAAAAAAAAACAAAAAAAAAAAAAAAA.abcdef"},
		{"no group", NewParams{Path: 255, Dir1: 0xAB, Dir2: 0xCD, Ext: "a"}, []uint32{0, 99999},
			"MFF/AB/CD/AAAAAAAAAACAAAAAAAAAAAAAAAA99999.a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.p.Rand = seq(t, tt.rand...)
			id, err := New(tt.p)
			if err != nil {
				t.Fatal(err)
			}
			if id.String() != tt.want {
				t.Errorf("New = %q, want %q", id.String(), tt.want)
			}
		})
	}
}

func TestNewRoundTrip(t *testing.T) {
	for _, size := range []int64{0, 1, math.MaxUint32, math.MaxUint32 + 1, 1<<58 - 1} {
		for _, kind := range []Kind{Normal, Trunk, Appender} {
			p := NewParams{Group: "group1", Path: 3, Dir1: 7, Dir2: 9, Source: [4]byte{1, 2, 3, 4},
				Created: -5, Size: size, CRC32: 0xDEADBEEF, Ext: "tar.gz"}
			switch kind {
			case Trunk:
				if size > math.MaxUint32 {
					continue
				}
				p.Trunk = &TrunkSlot{File: 7, Offset: 1 << 31, Size: math.MaxUint32}
			case Appender:
				p.Appender = true
			}
			id, err := New(p)
			if err != nil {
				t.Fatalf("New(%v, size %d): %v", kind, size, err)
			}
			again, err := Parse(id.String())
			if err != nil || again != id {
				t.Fatalf("Parse(%q) = %+v, %v; want %+v", id.String(), again, err, id)
			}
			got, ok := id.Size()
			if id.Kind() != kind || kind == Appender && ok || kind != Appender && (!ok || got != size) {
				t.Errorf("New(%v, size %d): kind %v, Size() = %d, %v", kind, size, id.Kind(), got, ok)
			}
			if id.CreatedUnix() != -5 || id.CRC32() != 0xDEADBEEF || id.SourceBytes() != p.Source || id.Ext() != "tar.gz" {
				t.Errorf("fields of %q not kept", id)
			}
			if slot, _ := id.Trunk(); p.Trunk != nil && slot != *p.Trunk {
				t.Errorf("Trunk() = %+v", slot)
			}
		}
	}
}

func TestNewRandomExtDigits(t *testing.T) {
	for _, ext := range []string{"", "a", "jpg", "abcde"} {
		id, err := New(NewParams{Group: "g", Ext: ext})
		if err != nil {
			t.Fatal(err)
		}
		fe := id.FormattedExt()
		digits, _, _ := strings.Cut(fe, ".")
		if len(fe) != 7 || strings.Trim(digits, "0123456789") != "" || id.Ext() != ext {
			t.Errorf("ext %q: formatted %q, Ext() %q", ext, fe, id.Ext())
		}
	}
}

func TestNewErrors(t *testing.T) {
	tests := map[string]NewParams{
		"bad group":       {Group: "group-1"},
		"long group":      {Group: strings.Repeat("g", 17)},
		"path":            {Path: 256},
		"negative path":   {Path: -1},
		"created":         {Created: math.MaxInt32 + 1},
		"negative size":   {Size: -1},
		"size over 2^58":  {Size: 1 << 58},
		"long ext":        {Ext: "abcdefg"},
		"ext slash":       {Ext: "a/b"},
		"ext NUL":         {Ext: "a\x00"},
		"trunk appender":  {Appender: true, Trunk: &TrunkSlot{}},
		"trunk over 2^32": {Size: 1 << 32, Trunk: &TrunkSlot{}},
	}
	for name, p := range tests {
		t.Run(name, func(t *testing.T) {
			if id, err := New(p); !errors.Is(err, ErrInvalid) {
				t.Errorf("New = %v, %v; want ErrInvalid", id, err)
			}
		})
	}
}

func TestSlaveOf(t *testing.T) {
	a, err := Parse("group1/M00/00/2A/wKgBaGVT8QCAEjRWAAAACw1KEYU123.jpg")
	if err != nil {
		t.Fatal(err)
	}
	noExt, err := Parse("group1/M00/00/00/fwAAAWsEB8OAPN9hAAAAZHRo9Dg7154838")
	if err != nil {
		t.Fatal(err)
	}
	trunk, err := Parse("group1/M00/00/00/CgAABWVT8QCIAAABAAAD6Mr-ur4AAAAAwABAAAAAAQA000.png")
	if err != nil {
		t.Fatal(err)
	}
	sixExt, err := New(NewParams{Group: "group1", Ext: "abcdef", Trunk: &TrunkSlot{}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		master      ID
		prefix, ext string
		want        string // "" → error
	}{
		{"example", a, "_big", "", "group1/M00/00/2A/wKgBaGVT8QCAEjRWAAAACw1KEYU123_big.jpg"},
		{"new ext", a, "_150x150", "png", "group1/M00/00/2A/wKgBaGVT8QCAEjRWAAAACw1KEYU123_150x150.png"},
		{"same ext", a, "_big", "jpg", "group1/M00/00/2A/wKgBaGVT8QCAEjRWAAAACw1KEYU123_big.jpg"},
		{"empty prefix other ext", a, "", "webp", "group1/M00/00/2A/wKgBaGVT8QCAEjRWAAAACw1KEYU123.webp"},
		{"no-ext master", noExt, "_s", "", "group1/M00/00/00/fwAAAWsEB8OAPN9hAAAAZHRo9Dg7154838_s"},
		{"no-ext master new ext", noExt, "-m", "txt", "group1/M00/00/00/fwAAAWsEB8OAPN9hAAAAZHRo9Dg7154838-m.txt"},
		{"trunk master", trunk, "_t", "", "group1/M00/00/00/CgAABWVT8QCIAAABAAAD6Mr-ur4AAAAAwABAAAAAAQA000_t.png"},
		{"max prefix", a, strings.Repeat("p", 16), "", "group1/M00/00/2A/wKgBaGVT8QCAEjRWAAAACw1KEYU123" + strings.Repeat("p", 16) + ".jpg"},
		{"empty prefix same ext", a, "", "jpg", ""},
		{"empty prefix no ext", a, "", "", ""},
		{"metadata name", noExt, "-m", "", ""},
		{"metadata name suffix", noExt, "x-m", "", ""},
		{"long prefix", a, strings.Repeat("p", 17), "", ""},
		{"prefix slash", a, "/../x", "", ""},
		{"prefix NUL", a, "a\x00", "", ""},
		{"bad ext", a, "_b", "a/b", ""},
		{"invalid master", ID{}, "_b", "", ""},
		{"reads back as normal", sixExt, "", "a", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := SlaveOf(tt.master, tt.prefix, tt.ext)
			if tt.want == "" {
				if !errors.Is(err, ErrInvalid) {
					t.Errorf("SlaveOf = %q, %v; want ErrInvalid", id, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if id.String() != tt.want || id.Kind() != Slave {
				t.Errorf("SlaveOf = %q (%v), want %q", id, id.Kind(), tt.want)
			}
			if id.CreatedUnix() != tt.master.CreatedUnix() || id.SourceBytes() != tt.master.SourceBytes() {
				t.Errorf("slave fields differ from master")
			}
			if _, err := SlaveOf(id, "_x", ""); !errors.Is(err, ErrInvalid) {
				t.Errorf("slave of a slave: %v", err)
			}
		})
	}
}

func FuzzSlaveOf(f *testing.F) {
	f.Add("group1/M00/00/2A/wKgBaGVT8QCAEjRWAAAACw1KEYU123.jpg", "_big", "")
	f.Add("group1/M00/00/00/fwAAAWsEB8OAPN9hAAAAZHRo9Dg7154838", "-m", "")
	f.Add("group1/M00/00/00/CgAABWVT8QCIAAABAAAD6Mr-ur4AAAAAwABAAAAAAQA000.png", "", "a")
	f.Fuzz(func(t *testing.T, master, prefix, ext string) {
		m, err := Parse(master)
		if err != nil {
			return
		}
		s, err := SlaveOf(m, prefix, ext)
		if err != nil {
			return
		}
		again, err := Parse(s.String())
		if err != nil || again != s || s.Kind() != Slave || s.Group() != m.Group() {
			t.Fatalf("SlaveOf(%q, %q, %q) = %q (%v); reparse %v", master, prefix, ext, s, s.Kind(), err)
		}
		if strings.HasSuffix(s.Name(), "-m") || s.RelPath()[:6] != m.RelPath()[:6] {
			t.Fatalf("SlaveOf(%q, %q, %q) = %q", master, prefix, ext, s)
		}
	})
}
