package disk

import (
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/depotfs/depot/internal/fileid"
)

// fixtureFiles are the IDs of testdata/vectors.md with their size and md5.
var fixtureFiles = []struct {
	id   string
	size int64
	md5  string
}{
	{"group1/M00/00/00/fwAAAWsEB46AMBAuAAAQAIkhtgI007.bin", 4096, "6f7ae495c0aeca0881eb13ce1f63ce35"},
	{"group1/M00/00/00/fwAAAWsEB-yAHShKAAAADg4Qul0296.txt", 14, "04f3fb1e5242fabaed4f869d7e906ac7"},
	{"group1/M00/00/00/fwAAAWsEB-yAHShKAAAADg4Qul0296_big.txt", 14, "04f3fb1e5242fabaed4f869d7e906ac7"},
	{"group1/M00/00/00/fwAAAWsEB8OAPN9hAAAAZHRo9Dg7154838", 100, "66f1f96207616225d50a72a2dadda054"},
	{"group1/M00/00/00/fwAAAWsECDmIRau_AAAD6IJoTREAAAAAQAAAAAAAAQA295.bin", 1000, "06e4995b0dcf3b96804450ec1baf333e"},
	{"group1/M00/00/00/fwAAAWsECDyIadAhAAABLJHhcS0AAAAAQAABAAAAAIA376.bin", 300, "d3e7c8c59d142cb5a95956fbae6c9367"},
	{"group1/M00/00/00/fwAAAWsECDyITazYAAGGoGPXqrEAAAAAQAABgAAAYcA389.jpg", 100000, "17d28350294cc98ee0c9bce44cc228a7"},
}

// openFixture serves the FastDFS fixture in place, read-only.
func openFixture(t *testing.T) *Store {
	t.Helper()
	return openStore(t, Options{Paths: []PathConfig{{Dir: fixtureDir, ReadOnly: true}}, SubdirCount: 256})
}

func TestFixtureServedInPlace(t *testing.T) {
	s := openFixture(t)
	for _, tc := range fixtureFiles {
		t.Run(tc.id, func(t *testing.T) {
			id := mustParse(t, tc.id)
			b, f := readAll(t, s, id)
			if f.Size != tc.size || md5hex(b) != tc.md5 {
				t.Errorf("size %d md5 %s, want %d %s", f.Size, md5hex(b), tc.size, tc.md5)
			}
			want := id.Created()
			if id.Kind() == fileid.Slave {
				st, err := os.Stat(filepath.Join(fixtureDir, "data", id.RelPath()))
				if err != nil {
					t.Fatal(err)
				}
				want = st.ModTime()
			}
			if !f.ModTime.Equal(want) {
				t.Errorf("ModTime %v, want %v", f.ModTime, want)
			}
			if pos, _ := f.F.Seek(0, 1); pos != 0 {
				t.Errorf("file position %d after Open, want 0", pos)
			}
			info, err := s.Stat(id)
			if err != nil {
				t.Fatal(err)
			}
			if info.Size != tc.size || !info.ModTime.Equal(want) {
				t.Errorf("Stat = %+v", info)
			}
			sum, err := s.Checksum(id)
			if err != nil || sum != crc32.ChecksumIEEE(b) {
				t.Errorf("Checksum = %#x, %v", sum, err)
			}
			if id.Kind() == fileid.Normal || id.Kind() == fileid.Trunk {
				if info.CRC32 != id.CRC32() || sum != id.CRC32() {
					t.Errorf("Stat CRC32 %#x, Checksum %#x, want %#x", info.CRC32, sum, id.CRC32())
				}
			}
		})
	}
}

func TestFixtureTrunkOffsets(t *testing.T) {
	s := openFixture(t)
	id := mustParse(t, fixtureFiles[5].id)
	f, err := s.Open(id)
	if err != nil {
		t.Fatal(err)
	}
	defer f.F.Close()
	if f.Offset != 1024+24 || f.Size != 300 || !f.ModTime.Equal(time.Unix(id.CreatedUnix(), 0)) {
		t.Errorf("File = %+v", f)
	}
}

func TestFixtureMeta(t *testing.T) {
	s := openFixture(t)
	want := map[string]string{"ext_name": "jpg", "file_size": "115120", "height": "80", "width": "160"}
	for _, id := range []string{fixtureFiles[1].id, fixtureFiles[2].id} {
		m, err := s.Meta(mustParse(t, id))
		if err != nil {
			t.Fatal(err)
		}
		if len(m) != len(want) {
			t.Fatalf("Meta(%s) = %v, want %v", id, m, want)
		}
		for k, v := range want {
			if m[k] != v {
				t.Errorf("Meta(%s)[%s] = %q, want %q", id, k, m[k], v)
			}
		}
	}
	m, err := s.Meta(mustParse(t, fixtureFiles[0].id))
	if err != nil || len(m) != 0 {
		t.Errorf("Meta of a file without -m = %v, %v; want empty", m, err)
	}
}

// TestFixtureNotFound: forged trunk IDs (the header does not match the name) and missing
// files are ErrNotFound.
func TestFixtureNotFound(t *testing.T) {
	s := openFixture(t)
	real := mustParse(t, fixtureFiles[4].id)
	slot, _ := real.Trunk()
	forge := func(size int64, crc uint32, created int64, ext string, sl fileid.TrunkSlot) fileid.ID {
		t.Helper()
		id, err := fileid.New(fileid.NewParams{Group: "group1", Source: real.SourceBytes(), Created: created,
			Size: size, CRC32: crc, Ext: ext, Trunk: &sl, Rand: func() uint32 { return 295 }})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	same := forge(1000, real.CRC32(), real.CreatedUnix(), "bin", slot)
	if _, err := s.Open(same); err != nil {
		t.Fatalf("re-generated real trunk ID %s: %v", same, err)
	}
	cases := map[string]fileid.ID{
		"wrong size":     forge(999, real.CRC32(), real.CreatedUnix(), "bin", slot),
		"wrong crc":      forge(1000, real.CRC32()^1, real.CreatedUnix(), "bin", slot),
		"wrong time":     forge(1000, real.CRC32(), real.CreatedUnix()+1, "bin", slot),
		"wrong ext":      forge(1000, real.CRC32(), real.CreatedUnix(), "txt", slot),
		"wrong slot":     forge(1000, real.CRC32(), real.CreatedUnix(), "bin", fileid.TrunkSlot{File: 1, Offset: 0, Size: 2048}),
		"wrong offset":   forge(1000, real.CRC32(), real.CreatedUnix(), "bin", fileid.TrunkSlot{File: 1, Offset: 24, Size: 1024}),
		"past the end":   forge(1000, real.CRC32(), real.CreatedUnix(), "bin", fileid.TrunkSlot{File: 1, Offset: 1 << 30, Size: 1024}),
		"no trunk file":  forge(1000, real.CRC32(), real.CreatedUnix(), "bin", fileid.TrunkSlot{File: 2, Offset: 0, Size: 1024}),
		"missing normal": mustParse(t, "group1/M00/00/00/fwAAAWsEB46AMBAuAAAQAIkhtgI008.bin"),
		"store path 1":   mustParse(t, "group1/M01/00/00/fwAAAWsEB46AMBAuAAAQAIkhtgI007.bin"),
		"missing dir":    mustParse(t, "group1/M00/0A/00/fwAAAWsEB46AMBAuAAAQAIkhtgI007.bin"),
		"missing slave":  mustParse(t, "group1/M00/00/00/fwAAAWsEB-yAHShKAAAADg4Qul0296_small.txt"),
		"metadata file":  mustParse(t, "group1/M00/00/00/fwAAAWsEB-yAHShKAAAADg4Qul0296.txt-m"),
		"slave metadata": mustParse(t, "group1/M00/00/00/fwAAAWsEB-yAHShKAAAADg4Qul0296_big.txt-m"),
	}
	for name, id := range cases {
		t.Run(name, func(t *testing.T) {
			if f, err := s.Open(id); !errors.Is(err, ErrNotFound) {
				if err == nil {
					f.F.Close()
				}
				t.Errorf("Open(%s) = %v, want ErrNotFound", id, err)
			}
			if _, err := s.Stat(id); !errors.Is(err, ErrNotFound) {
				t.Errorf("Stat(%s) = %v, want ErrNotFound", id, err)
			}
			if _, err := s.Meta(id); !errors.Is(err, ErrNotFound) {
				t.Errorf("Meta(%s) = %v, want ErrNotFound", id, err)
			}
		})
	}
}

// TestFixtureWritable opens a copy of the fixture read-write: the missing directories are
// created, the FastDFS files stay served, and a trunk slice can be deleted.
func TestFixtureWritable(t *testing.T) {
	dir := copyFixture(t)
	s := openStore(t, Options{Paths: []PathConfig{{Dir: dir}}, SubdirCount: 2})
	if st, err := os.Stat(filepath.Join(dir, "data", "01", "01")); err != nil || !st.IsDir() {
		t.Fatalf("data/01/01 not created: %v", err)
	}
	for _, tc := range fixtureFiles {
		b, _ := readAll(t, s, mustParse(t, tc.id))
		if md5hex(b) != tc.md5 {
			t.Errorf("%s: md5 %s", tc.id, md5hex(b))
		}
	}
	trunkID := mustParse(t, fixtureFiles[5].id)
	if err := s.Delete(trunkID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(trunkID); !errors.Is(err, ErrNotFound) {
		t.Errorf("Open after Delete = %v, want ErrNotFound", err)
	}
	if err := s.Delete(trunkID); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Delete = %v, want ErrNotFound", err)
	}
	for _, i := range []int{4, 6} { // the neighbours are intact
		b, _ := readAll(t, s, mustParse(t, fixtureFiles[i].id))
		if md5hex(b) != fixtureFiles[i].md5 {
			t.Errorf("neighbour %d damaged", i)
		}
	}
	master := mustParse(t, fixtureFiles[1].id)
	metaID := mustParse(t, "group1/M00/00/00/fwAAAWsEB-yAHShKAAAADg4Qul0296.txt-m")
	if err := s.Delete(metaID); !errors.Is(err, ErrNotFound) {
		t.Errorf("Delete of a metadata file by ID = %v, want ErrNotFound", err)
	}
	if id, err := s.UploadSlave(t.Context(), master, "", "txt-m", strings.NewReader("x"), 1); !errors.Is(err, ErrInvalid) {
		t.Errorf("UploadSlave over the metadata file = %s, %v; want ErrInvalid", id, err)
	}
	if m, err := s.Meta(master); err != nil || m["width"] != "160" {
		t.Errorf("metadata damaged: %v, %v", m, err)
	}
	if err := s.Delete(master); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", master.RelPath()+"-m")); !os.IsNotExist(err) {
		t.Errorf("metadata file survives Delete: %v", err)
	}
}
