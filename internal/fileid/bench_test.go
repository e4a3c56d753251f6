package fileid

import "testing"

const benchID = "group1/M00/00/00/fwAAAWsECDmIRau_AAAD6IJoTREAAAAAQAAAAAAAAQA295.bin"

func TestParseAllocs(t *testing.T) {
	id, err := Parse(benchID)
	if err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = Parse(benchID) }); n != 0 {
		t.Errorf("Parse allocates %v times", n)
	}
	if n := testing.AllocsPerRun(100, func() { _ = id.ETag() }); n > 1 {
		t.Errorf("ETag allocates %v times", n)
	}
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(benchID); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNew(b *testing.B) {
	b.ReportAllocs()
	p := NewParams{Group: "group1", Source: [4]byte{127, 0, 0, 1}, Created: 1795426190, Size: 4096, Ext: "jpg"}
	for b.Loop() {
		if _, err := New(p); err != nil {
			b.Fatal(err)
		}
	}
}
