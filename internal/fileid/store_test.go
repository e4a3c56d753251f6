package fileid

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// storeDir is data/00/00 of a store path written by a real FastDFS.
var storeDir = filepath.Join("..", "..", "testdata", "fastdfs-store", "data", "00", "00")

// TestRealStoreFiles parses every data file name in the FastDFS store fixture and checks the
// decoded size and crc32 against the file's bytes.
func TestRealStoreFiles(t *testing.T) {
	entries, err := os.ReadDir(storeDir)
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, e := range entries {
		name := e.Name()
		if strings.HasSuffix(name, "-m") || name == "000001" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			id, err := ParseRemote("group1", "M00/00/00/"+name)
			if err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(filepath.Join(storeDir, name))
			if err != nil {
				t.Fatal(err)
			}
			if got := crc32.ChecksumIEEE(data); got != id.CRC32() {
				t.Errorf("crc32 of content %#x, name says %#x", got, id.CRC32())
			}
			size, ok := id.Size()
			switch id.Kind() {
			case Normal:
				if !ok || size != int64(len(data)) {
					t.Errorf("Size() = %d, %v; file has %d bytes", size, ok, len(data))
				}
			case Slave:
				if ok {
					t.Errorf("slave has a size")
				}
			default:
				t.Errorf("Kind() = %v", id.Kind())
			}
		})
		seen++
	}
	if seen != 4 {
		t.Errorf("checked %d data files, want 4", seen)
	}
}

// TestRealTrunkSlots checks the trunk vectors against the slot headers in the trunk file:
// type 'F', slot size, file size, crc32, mtime and formatted extension, all from the name.
func TestRealTrunkSlots(t *testing.T) {
	trunk, err := os.ReadFile(filepath.Join(storeDir, "000001"))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vectors {
		if v.kind != Trunk || v.source != "127.0.0.1" {
			continue
		}
		t.Run(v.id, func(t *testing.T) {
			id, err := Parse(v.id)
			if err != nil {
				t.Fatal(err)
			}
			slot, _ := id.Trunk()
			size, _ := id.Size()
			var want [24]byte
			want[0] = 'F'
			binary.BigEndian.PutUint32(want[1:5], slot.Size)
			binary.BigEndian.PutUint32(want[5:9], uint32(size))
			binary.BigEndian.PutUint32(want[9:13], id.CRC32())
			binary.BigEndian.PutUint32(want[13:17], uint32(id.CreatedUnix()))
			copy(want[17:], id.FormattedExt())
			end := int64(slot.Offset) + 24 + size
			if slot.File != 1 || end > int64(len(trunk)) {
				t.Fatalf("slot %+v outside the fixture", slot)
			}
			if got := trunk[slot.Offset : slot.Offset+24]; !bytes.Equal(got, want[:]) {
				t.Errorf("header % x, want % x", got, want)
			}
			if got := crc32.ChecksumIEEE(trunk[slot.Offset+24 : end]); got != id.CRC32() {
				t.Errorf("crc32 of slot content %#x, name says %#x", got, id.CRC32())
			}
		})
	}
}
