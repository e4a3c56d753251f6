package fileid

import (
	"errors"
	"strings"
	"testing"
)

func TestParseMalformed(t *testing.T) {
	const good = "group1/M00/00/2A/wKgBaGVT8QCAEjRWAAAACw1KEYU123.jpg"
	tests := map[string]string{
		"empty":             "",
		"no slash":          "group1",
		"no group":          "/M00/00/2A/wKgBaGVT8QCAEjRWAAAACw1KEYU123.jpg",
		"long group":        "group123456789012/M00/00/2A/wKgBaGVT8QCAEjRWAAAACw1KEYU123.jpg",
		"group dash":        "group-1/M00/00/2A/wKgBaGVT8QCAEjRWAAAACw1KEYU123.jpg",
		"group dot":         "../M00/00/2A/wKgBaGVT8QCAEjRWAAAACw1KEYU123.jpg",
		"short":             "group1/M00/00/2A/wKgBaGVT8QCAEjRWAAAACw1KEYU12.jpg",
		"short remote":      "group1/M00/00/2A/x.jpg",
		"X00":               "group1/X00/00/2A/wKgBaGVT8QCAEjRWAAAACw1KEYU123.jpg",
		"m00":               "group1/m00/00/2A/wKgBaGVT8QCAEjRWAAAACw1KEYU123.jpg",
		"M0G":               "group1/M0G/00/2A/wKgBaGVT8QCAEjRWAAAACw1KEYU123.jpg",
		"M0 space":          "group1/M0 /00/2A/wKgBaGVT8QCAEjRWAAAACw1KEYU123.jpg",
		"M000":              "group1/M000/00/2A/wKgBaGVT8QCAEjRWAAAACw1KEYU123.jpg",
		"M+1":               "group1/M+1/00/2A/wKgBaGVT8QCAEjRWAAAACw1KEYU123.jpg",
		"pre-M name":        "group1/00/2A/wKgBaGVT8QCAEjRWAAAACw1KEYU123.jpg0000",
		"lower XX":          "group1/M00/0a/2A/wKgBaGVT8QCAEjRWAAAACw1KEYU123.jpg",
		"lower YY":          "group1/M00/00/2a/wKgBaGVT8QCAEjRWAAAACw1KEYU123.jpg",
		"bad XX":            "group1/M00/0G/2A/wKgBaGVT8QCAEjRWAAAACw1KEYU123.jpg",
		"one-digit XX":      "group1/M00/0/02A/wKgBaGVT8QCAEjRWAAAACw1KEYU123.jpg",
		"dotdot XX":         "group1/M00/../2A/wKgBaGVT8QCAEjRWAAAACw1KEYU123.jpg",
		"dotdot YY":         "group1/M00/00/../wKgBaGVT8QCAEjRWAAAACw1KEYU123.jpg",
		"dotdot name":       "group1/M00/00/2A/../../../../../../../etc/passwd.jpg",
		"slash in name":     "group1/M00/00/2A/wKgBaGVT8QCAEjRWAAAACw1KEYU123.jpg/../x",
		"extra slash":       "group1/M00/00/2A/wKgBaGVT8QCAEjRWAAAACw1KEYU123/jpg",
		"backslash":         "group1/M00/00/2A/wKgBaGVT8QCAEjRWAAAACw1KEYU123\\..\\x",
		"NUL in name":       "group1/M00/00/2A/wKgBaGVT8QCAEjRWAAAACw1KEYU123.jp\x00",
		"NUL in base64":     "group1/M00/00/2A/wKgBaGVT8QCAEjRWAAAACw1KEYU\x00123.jpg",
		"base64 plus":       "group1/M00/00/2A/wKgBaGVT8QCAEjRWAAAACw1KEY+123.jpg",
		"base64 slash":      "group1/M00/00/2A/wKgBaGVT8QCAEjRWAAAACw1KEY/123.jpg",
		"base64 dot":        "group1/M00/00/2A/wKgBaGVT8QCAEjRWAAAACw1KEY.123.jpg",
		"base64 space":      "group1/M00/00/2A/wKgBaGVT8QC EjRWAAAACw1KEYU123.jpg",
		"space in ext":      "group1/M00/00/2A/wKgBaGVT8QCAEjRWAAAACw1KEYU12 .jpg",
		"percent in ext":    "group1/M00/00/2A/wKgBaGVT8QCAEjRWAAAACw1KEYU12%2e.jpg",
		"query":             "group1/M00/00/2A/wKgBaGVT8QCAEjRWAAAACw1KEYU123.jpg?x=1",
		"high byte":         "group1/M00/00/2A/wKgBaGVT8QCAEjRWAAAACw1KEYU123.jp\xff",
		"bad trunk info":    "group1/M00/00/00/CgAABWVT8QCIAAABAAAD6Mr-ur4AAAAAwABAAAAAAQ.000.png",
		"trunk info dotdot": "group1/M00/00/00/CgAABWVT8QCIAAABAAAD6Mr-ur4AAAAAwAB..AAAAQA000.png",
		"leading slash":     "/group1/M00/00/2A/wKgBaGVT8QCAEjRWAAAACw1KEYU123.jpg",
	}
	if _, err := Parse(good); err != nil {
		t.Fatalf("Parse(%q): %v", good, err)
	}
	for name, s := range tests {
		t.Run(name, func(t *testing.T) {
			id, err := Parse(s)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse(%q) = %v, %v; want ErrInvalid", s, id, err)
			}
			if id.Valid() {
				t.Errorf("error with a valid ID")
			}
		})
	}
}

// TestParseAcceptsOddNames pins names that look odd but are well-formed: FastDFS can write
// them, and none can leave data/XX/YY/.
func TestParseAcceptsOddNames(t *testing.T) {
	tests := []struct {
		id   string
		kind Kind
	}{
		{"group1/M00/00/2A/wKgBaGVT8QCAEjRWAAAACw1KEYU1234..a", Normal},                      // ext ".."
		{"group1/M00/00/2A/wKgBaGVT8QCAEjRWAAAACw1KEYU123.jpg.", Slave},                      // 45 chars
		{"G/M00/00/2A/wKgBaGVT8QCAEjRWAAAACw1KEYU123.jpg" + strings.Repeat("x", 200), Slave}, // long
		{"group1/MFF/FF/FF/wKgBaGVT8QCAEjRWAAAACw1KEYU-_-_-_-", Normal},
		// A 60-char name without the trunk flag is a slave.
		{"group1/M00/00/2A/wKgBaGVT8QCAEjRWAAAACw1KEYU123_0123456789abcd.jpg", Slave},
		// The trunk flag on a name of 45..59 chars: FastDFS reads it as a normal file.
		{"group1/M00/00/00/CgAABWVT8QCIAAABAAAD6Mr-ur4AAAAAwABAAA000.png", Normal},
		// The trunk flag on a longer name: a slave of a trunk file.
		{"group1/M00/00/00/CgAABWVT8QCIAAABAAAD6Mr-ur4AAAAAwABAAAAAAQA000_s.png", Slave},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			id, err := Parse(tt.id)
			if err != nil {
				t.Fatal(err)
			}
			if id.Kind() != tt.kind || id.String() != tt.id {
				t.Errorf("Kind() = %v, String() = %q", id.Kind(), id)
			}
		})
	}
}

func TestSizeRules(t *testing.T) {
	tests := []struct {
		sizeField uint64
		n         int
		want      int64
		ok        bool
	}{
		{0x80000001_0000000B, NormalRemoteLen, 11, true},
		{0x00000001_0000000B, NormalRemoteLen, 1<<32 + 11, true},
		{FlagTrunk | 0x1_00000005, NormalRemoteLen + 1, 5, true}, // trunk flag, not 60 chars: normal, low 32 bits
		{FlagTrunk | 0x80000000_00000005, TrunkRemoteLen, 5, true},
		{FlagAppender | 0x80000000_00000005, NormalRemoteLen, 0, false},
		{0x80000000_00000005, NormalRemoteLen + 1, 0, false},
	}
	for _, tt := range tests {
		id := ID{remote: strings.Repeat("x", tt.n), sizeField: tt.sizeField, kind: classify(tt.n, tt.sizeField)}
		if got, ok := id.Size(); got != tt.want || ok != tt.ok {
			t.Errorf("size field %#x, len %d: Size() = %d, %v; want %d, %v", tt.sizeField, tt.n, got, ok, tt.want, tt.ok)
		}
	}
}

func TestETag(t *testing.T) {
	tests := map[string]string{
		"group1/M00/00/2A/wKgBaGVT8QCAEjRWAAAACw1KEYU123.jpg":                 `"0d4a1185-b"`,
		"group1/M00/00/00/CgAABWVT8QCIAAABAAAD6Mr-ur4AAAAAwABAAAAAAQA000.png": `"cafebabe-3e8"`,
		"group1/M00/00/2A/wKgBaGVT8QCAEjRWAAAACw1KEYU123_big.jpg":             "",
		"group1/M01/01/FF/oYYBAGVT8QCEZUMhAAAAAButsAI4567890":                 "",
		"group1/M00/00/00/AAAAAAAAAACAAAAAAAAAAAAAAAA.abcdef":                 `"00000000-0"`,
	}
	for s, want := range tests {
		id, err := Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := id.ETag(); got != want {
			t.Errorf("ETag(%q) = %s, want %s", s, got, want)
		}
	}
	big, err := New(NewParams{Size: 1<<58 - 1, CRC32: 1})
	if err != nil {
		t.Fatal(err)
	}
	if got := big.ETag(); got != `"00000001-3ffffffffffffff"` {
		t.Errorf("ETag = %s", got)
	}
	if (ID{}).ETag() != "" {
		t.Errorf("zero ID has an ETag")
	}
}

// TestPJWHash checks values computed by a C rendering of the hash on signed 32-bit ints
// (gcc -fwrapv), including names whose hash reaches the sign bit.
func TestPJWHash(t *testing.T) {
	tests := []struct {
		in     string
		want   uint32
		xx, yy uint8 // DistributeHash with 256 sub-dirs
	}{
		{"", 0, 0, 0},
		{"a", 0x61, 0, 0x61},
		{"ab", 0x672, 6, 0x72},
		{"wKgBaGVT8QCAEjRWAAAACw1KEYU", 0xb3243d5, 67, 213},
		{"fwAAAWsEB46AMBAuAAAQAIkhtgI", 0xda84859, 72, 89},
		{"zzzzzzzzzzzzzzzzzzzzzzzzzzz", 0x988565a, 86, 90},
		{"ABCDEFGH", 0x6789ee8, 158, 232},
		{"~~~~~~~~~~", 0x661d43e, 212, 62},
	}
	for _, tt := range tests {
		if got := PJWHash(tt.in); got != tt.want {
			t.Errorf("PJWHash(%q) = %#x, want %#x", tt.in, got, tt.want)
		}
		if xx, yy := DistributeHash(tt.in, 256); xx != tt.xx || yy != tt.yy {
			t.Errorf("DistributeHash(%q, 256) = %d, %d; want %d, %d", tt.in, xx, yy, tt.xx, tt.yy)
		}
		if xx, yy := DistributeHash(tt.in, 10); xx != tt.xx%10 || yy != tt.yy%10 {
			t.Errorf("DistributeHash(%q, 10) = %d, %d", tt.in, xx, yy)
		}
		if xx, yy := DistributeHash(tt.in, 0); xx != tt.xx || yy != tt.yy {
			t.Errorf("DistributeHash(%q, 0) = %d, %d; want the 256 result", tt.in, xx, yy)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, v := range vectors {
		f.Add(v.id)
	}
	f.Add("g/M0a/00/00/wKgBaGVT8QCAEjRWAAAACw1KEYU123.jpg")
	f.Add("group1/M00/00/00/CgAABWVT8QCIAAABAAAD6Mr-ur4AAAAAwABAAA000.png")
	f.Fuzz(func(t *testing.T, s string) {
		id, err := Parse(s)
		if err != nil {
			if id.Valid() {
				t.Fatalf("error with a valid ID")
			}
			return
		}
		str := id.String()
		again, err := Parse(str)
		if err != nil || again != id || again.String() != str {
			t.Fatalf("Parse(%q) round trip: %q → %+v, %v", s, str, again, err)
		}
		if !strings.EqualFold(str, s) || strings.ContainsAny(id.Name(), "/\x00\\") {
			t.Fatalf("Parse(%q).String() = %q", s, str)
		}
		_, _ = id.Size()
		_ = id.ETag()
		_ = id.Ext()
		if id.Kind() != Slave && id.Kind() != Appender {
			if _, err := SlaveOf(id, "_x", ""); err != nil && id.Kind() == Normal && len(id.Remote()) == NormalRemoteLen && id.SizeField()&FlagTrunk == 0 {
				t.Fatalf("SlaveOf(%q): %v", str, err)
			}
		}
	})
}
