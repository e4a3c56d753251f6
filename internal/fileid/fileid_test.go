package fileid

import (
	"encoding/json"
	"errors"
	"net/netip"
	"testing"
	"time"
)

// vector is one file ID from testdata/vectors.md or the spec's worked examples.
type vector struct {
	id        string
	kind      Kind
	source    string // IPv4, or "" when checked as a server id
	serverID  uint32
	created   int64
	sizeField uint64 // 0: not checked
	size      int64  // -1: no size
	crc       uint32 // checked when sizeField != 0
	trunk     TrunkSlot
	ext       string
}

var vectors = []vector{
	{id: "group1/M00/00/00/fwAAAWsEB46AMBAuAAAQAIkhtgI007.bin", kind: Normal, source: "127.0.0.1",
		created: 1795426190, sizeField: 0x8030102e00001000, size: 4096, crc: 0x8921b602, ext: "bin"},
	{id: "group1/M00/00/00/fwAAAWsEB-yAHShKAAAADg4Qul0296.txt", kind: Normal, source: "127.0.0.1",
		created: 1795426284, sizeField: 0x801d284a0000000e, size: 14, crc: 0x0e10ba5d, ext: "txt"},
	{id: "group1/M00/00/00/fwAAAWsEB-yAHShKAAAADg4Qul0296_big.txt", kind: Slave, source: "127.0.0.1",
		created: 1795426284, sizeField: 0x801d284a0000000e, size: -1, crc: 0x0e10ba5d, ext: "txt"},
	{id: "group1/M00/00/00/fwAAAWsEB8OAPN9hAAAAZHRo9Dg7154838", kind: Normal, source: "127.0.0.1",
		created: 1795426243, sizeField: 0x803cdf6100000064, size: 100, crc: 0x7468f438, ext: ""},
	{id: "group1/M00/00/00/fwAAAWsECDmIRau_AAAD6IJoTREAAAAAQAAAAAAAAQA295.bin", kind: Trunk, source: "127.0.0.1",
		created: 1795426361, sizeField: 0x8845abbf000003e8, size: 1000, crc: 0x82684d11,
		trunk: TrunkSlot{File: 1, Offset: 0, Size: 1024}, ext: "bin"},
	{id: "group1/M00/00/00/fwAAAWsECDyIadAhAAABLJHhcS0AAAAAQAABAAAAAIA376.bin", kind: Trunk, source: "127.0.0.1",
		size: 300, trunk: TrunkSlot{File: 1, Offset: 1024, Size: 512}, ext: "bin"},
	{id: "group1/M00/00/00/fwAAAWsECDyITazYAAGGoGPXqrEAAAAAQAABgAAAYcA389.jpg", kind: Trunk, source: "127.0.0.1",
		size: 100000, trunk: TrunkSlot{File: 1, Offset: 1536, Size: 100096}, ext: "jpg"},
	// Spec §1.10 example A and its slave.
	{id: "group1/M00/00/2A/wKgBaGVT8QCAEjRWAAAACw1KEYU123.jpg", kind: Normal, source: "192.168.1.104",
		created: 1700000000, sizeField: 0x801234560000000b, size: 11, crc: 0x0D4A1185, ext: "jpg"},
	{id: "group1/M00/00/2A/wKgBaGVT8QCAEjRWAAAACw1KEYU123_big.jpg", kind: Slave, source: "192.168.1.104",
		created: 1700000000, size: -1, ext: "jpg"},
	// Example B: appender with server id 100001.
	{id: "group1/M01/01/FF/oYYBAGVT8QCEZUMhAAAAAButsAI4567890", kind: Appender, serverID: 100001,
		created: 1700000000, sizeField: 0x8465432100000000, size: -1, crc: 0x1BADB002, ext: ""},
	// Example C: trunk.
	{id: "group1/M00/00/00/CgAABWVT8QCIAAABAAAD6Mr-ur4AAAAAwABAAAAAAQA000.png", kind: Trunk, source: "10.0.0.5",
		created: 1700000000, sizeField: 0x88000001000003E8, size: 1000, crc: 0xCAFEBABE,
		trunk: TrunkSlot{File: 3, Offset: 65536, Size: 1024}, ext: "png"},
	// A real ID written with storage server id 100001.
	{id: "group1/M00/00/00/oYYBAGMi4zGAYNoxABY-esN9nNw502.jpg", kind: Normal, serverID: 100001,
		created: 1663230769, size: 1457786, ext: "jpg"},
}

func TestVectors(t *testing.T) {
	for _, v := range vectors {
		t.Run(v.id, func(t *testing.T) {
			id, err := Parse(v.id)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := id.String(); got != v.id {
				t.Errorf("String() = %q", got)
			}
			if id.Group() != "group1" || "group1/"+id.Remote() != v.id {
				t.Errorf("Group() = %q, Remote() = %q", id.Group(), id.Remote())
			}
			if id.Kind() != v.kind {
				t.Errorf("Kind() = %v, want %v", id.Kind(), v.kind)
			}
			if v.source != "" {
				if got := id.SourceIPv4().String(); got != v.source {
					t.Errorf("SourceIPv4() = %s, want %s", got, v.source)
				}
				if _, ok := id.ServerID(); ok {
					t.Errorf("ServerID() ok for an IPv4 source")
				}
			} else if got, ok := id.ServerID(); !ok || got != v.serverID {
				t.Errorf("ServerID() = %d, %v; want %d", got, ok, v.serverID)
			}
			if v.created != 0 && id.CreatedUnix() != v.created {
				t.Errorf("CreatedUnix() = %d, want %d", id.CreatedUnix(), v.created)
			}
			if v.sizeField != 0 && (id.SizeField() != v.sizeField || id.CRC32() != v.crc) {
				t.Errorf("SizeField, CRC32 = %#x, %#x; want %#x, %#x", id.SizeField(), id.CRC32(), v.sizeField, v.crc)
			}
			size, ok := id.Size()
			if v.size < 0 && ok || v.size >= 0 && (!ok || size != v.size) {
				t.Errorf("Size() = %d, %v; want %d", size, ok, v.size)
			}
			slot, isTrunk := id.Trunk()
			if isTrunk != (v.kind == Trunk) || isTrunk && slot != v.trunk {
				t.Errorf("Trunk() = %+v, %v; want %+v", slot, isTrunk, v.trunk)
			}
			if id.Ext() != v.ext {
				t.Errorf("Ext() = %q, want %q", id.Ext(), v.ext)
			}
			if id.RelPath() != id.Remote()[4:] || id.Name() != id.Remote()[10:] {
				t.Errorf("RelPath() = %q, Name() = %q", id.RelPath(), id.Name())
			}
		})
	}
}

func TestExampleDetails(t *testing.T) {
	a, err := Parse("group1/M00/00/2A/wKgBaGVT8QCAEjRWAAAACw1KEYU123.jpg")
	if err != nil {
		t.Fatal(err)
	}
	if d1, d2 := a.Dirs(); d1 != 0 || d2 != 0x2A || a.StorePath() != 0 {
		t.Errorf("StorePath, Dirs = %d, %d, %d", a.StorePath(), d1, d2)
	}
	if want := time.Date(2023, 11, 14, 22, 13, 20, 0, time.UTC); !a.Created().Equal(want) {
		t.Errorf("Created() = %v, want %v", a.Created(), want)
	}
	if got := a.FormattedExt(); got != "123.jpg" {
		t.Errorf("FormattedExt() = %q", got)
	}
	b, err := Parse("group1/M01/01/FF/oYYBAGVT8QCEZUMhAAAAAButsAI4567890")
	if err != nil {
		t.Fatal(err)
	}
	if d1, d2 := b.Dirs(); b.StorePath() != 1 || d1 != 1 || d2 != 0xFF {
		t.Errorf("StorePath, Dirs = %d, %d, %d", b.StorePath(), d1, d2)
	}
	if got := b.SourceBytes(); got != [4]byte{0xA1, 0x86, 0x01, 0x00} {
		t.Errorf("SourceBytes() = % x", got)
	}
	real, err := Parse("group1/M00/00/00/oYYBAGMi4zGAYNoxABY-esN9nNw502.jpg")
	if err != nil {
		t.Fatal(err)
	}
	if real.CRC32() != 0xC37D9CDC {
		t.Errorf("CRC32() = %#x", real.CRC32())
	}
	if want := time.Date(2022, 9, 15, 8, 32, 49, 0, time.UTC); !real.Created().Equal(want) {
		t.Errorf("Created() = %v", real.Created())
	}
}

func TestParseRemote(t *testing.T) {
	const remote = "M00/00/00/fwAAAWsEB46AMBAuAAAQAIkhtgI007.bin"
	id, err := ParseRemote("", remote)
	if err != nil {
		t.Fatal(err)
	}
	if id.Group() != "" || id.String() != remote || !id.Valid() {
		t.Errorf("ParseRemote: group %q, String %q", id.Group(), id.String())
	}
	full, err := Parse("group1/" + remote)
	if err != nil {
		t.Fatal(err)
	}
	if id.WithGroup("group1") != full {
		t.Errorf("WithGroup: %+v != %+v", id.WithGroup("group1"), full)
	}
	if _, err := ParseRemote("bad-group", remote); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad group: err = %v", err)
	}
	if (ID{}).Valid() {
		t.Errorf("zero ID is valid")
	}
}

func TestLowerCaseStorePath(t *testing.T) {
	const name = "/0a/0B/wKgBaGVT8QCAEjRWAAAACw1KEYU123.jpg"
	id, err := Parse("g1/M0a" + name)
	if err == nil {
		t.Fatalf("lower-case XX accepted: %v", id)
	}
	id, err = Parse("g1/M0a/0A/0B/wKgBaGVT8QCAEjRWAAAACw1KEYU123.jpg")
	if err != nil {
		t.Fatal(err)
	}
	if id.StorePath() != 10 || id.Remote() != "M0A/0A/0B/wKgBaGVT8QCAEjRWAAAACw1KEYU123.jpg" {
		t.Errorf("StorePath %d, Remote %q", id.StorePath(), id.Remote())
	}
	again, err := Parse(id.String())
	if err != nil || again != id {
		t.Errorf("reparse: %v, %v", again, err)
	}
}

func TestSourceFrom(t *testing.T) {
	b, err := SourceFromServerID(100001)
	if err != nil || b != [4]byte{0xA1, 0x86, 0x01, 0x00} {
		t.Errorf("SourceFromServerID(100001) = % x, %v", b, err)
	}
	for _, bad := range []uint32{0, 1 << 24} {
		if _, err := SourceFromServerID(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("SourceFromServerID(%d): err = %v", bad, err)
		}
	}
	b, err = SourceFromIPv4(netip.MustParseAddr("192.168.1.104"))
	if err != nil || b != [4]byte{192, 168, 1, 104} {
		t.Errorf("SourceFromIPv4 = %v, %v", b, err)
	}
	b, err = SourceFromIPv4(netip.MustParseAddr("::ffff:10.0.0.5"))
	if err != nil || b != [4]byte{10, 0, 0, 5} {
		t.Errorf("SourceFromIPv4(mapped) = %v, %v", b, err)
	}
	for _, bad := range []netip.Addr{{}, netip.MustParseAddr("::1")} {
		if _, err := SourceFromIPv4(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("SourceFromIPv4(%v): err = %v", bad, err)
		}
	}
}

func TestText(t *testing.T) {
	type doc struct {
		ID    ID `json:"id"`
		Empty ID `json:"empty"`
	}
	in := doc{ID: mustParse(t, vectors[0].id)}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"id":"` + vectors[0].id + `","empty":""}`; string(b) != want {
		t.Errorf("Marshal = %s, want %s", b, want)
	}
	var out doc
	if err := json.Unmarshal(b, &out); err != nil || out != in {
		t.Errorf("Unmarshal = %+v, %v", out, err)
	}
	if err := json.Unmarshal([]byte(`{"id":"group1/M00/x"}`), &out); !errors.Is(err, ErrInvalid) {
		t.Errorf("Unmarshal of a bad id: %v", err)
	}
}

func mustParse(t *testing.T, s string) ID {
	t.Helper()
	id, err := Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}
