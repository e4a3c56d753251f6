package binlog

import (
	"errors"
	"testing"
)

func TestRecordRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		rec  Record
		line string
	}{
		{"create", Record{TS: 1700000000, Op: Create, Name: "M00/00/00/abc.jpg"}, "1700000000 C M00/00/00/abc.jpg\n"},
		{"replica delete", Record{TS: 5, Op: Delete.Lower(), Name: "M01/0A/FF/x"}, "5 d M01/0A/FF/x\n"},
		{"metadata", Record{TS: 7, Op: Update, Name: "M00/00/00/abc.jpg-m"}, "7 U M00/00/00/abc.jpg-m\n"},
		{"link", Record{TS: 7, Op: Link, Name: "M00/00/00/a_s.jpg", Src: "M00/00/00/a.jpg"}, "7 L M00/00/00/a_s.jpg M00/00/00/a.jpg\n"},
		{"rename", Record{TS: 7, Op: Rename.Lower(), Name: "M00/00/00/new", Src: "M00/00/00/old"}, "7 r M00/00/00/new M00/00/00/old\n"},
		{"append", Record{TS: 8, Op: Append, Name: "M00/00/00/ap", A: 100, B: 23}, "8 A M00/00/00/ap 100 23\n"},
		{"modify", Record{TS: 8, Op: Modify.Lower(), Name: "M00/00/00/ap", A: 0, B: 5}, "8 m M00/00/00/ap 0 5\n"},
		{"truncate", Record{TS: 9, Op: Truncate, Name: "M00/00/00/ap", A: 123, B: 0}, "9 T M00/00/00/ap 123 0\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.rec.Line(); got != tt.line {
				t.Fatalf("Line() = %q, want %q", got, tt.line)
			}
			got, err := Parse(tt.line)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.line, err)
			}
			if got != tt.rec {
				t.Fatalf("Parse(%q) = %+v, want %+v", tt.line, got, tt.rec)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	for _, line := range []string{
		"", "1 C", "x C M00/a", "-1 C M00/a", "+1 C M00/a", "1 X M00/a", "1 CC M00/a",
		"1 C M00/a extra", "1 A M00/a 1", "1 A M00/a 1 -2", "1 A M00/a +1 2", "1 L M00/a",
		"1 T M00/a 1 2 3", "1 C  M00/a", "1  C M00/a",
	} {
		t.Run(line, func(t *testing.T) {
			if r, err := Parse(line); !errors.Is(err, ErrBadRecord) {
				t.Fatalf("Parse(%q) = %+v, %v; want ErrBadRecord", line, r, err)
			}
		})
	}
}

func TestOpCase(t *testing.T) {
	if !Create.Local() || Create.Lower().Local() || Create.Lower().Upper() != Create || !Op('t').Valid() || Op('x').Valid() {
		t.Fatal("op case helpers disagree")
	}
	if !(Record{Op: 'u', Name: "a-m"}).IsMeta() || (Record{Op: 'C', Name: "a-m"}).IsMeta() {
		t.Fatal("IsMeta")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"1700000000 C M00/00/00/abc.jpg\n", "8 A M00/00/00/ap 100 23", "7 r a b", "1 T x 0 0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		r, err := Parse(line)
		if err != nil {
			return
		}
		again, err := Parse(r.Line())
		if err != nil || again != r {
			t.Fatalf("round trip of %q: %+v → %q → %+v, %v", line, r, r.Line(), again, err)
		}
	})
}

func FuzzParseMark(f *testing.F) {
	f.Add(Mark{Pos: Position{Index: 2, Offset: 99}, NeedSyncOld: true, UntilTS: 5}.Bytes())
	f.Add([]byte("binlog_index=x\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseMark(b)
		if err != nil {
			return
		}
		again, err := ParseMark(m.Bytes())
		if err != nil || again != m {
			t.Fatalf("mark round trip: %+v → %+v, %v", m, again, err)
		}
	})
}
