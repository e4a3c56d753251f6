package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/depotfs/depot/internal/disk"
	"github.com/depotfs/depot/internal/fileid"
)

// benchFile is one file served by both servers.
type benchFile struct {
	name  string // table label
	id    fileid.ID
	size  int64
	plain string // path below the store path's data/ that nginx serves with the same bytes
}

// prepare writes the benchmark files into store (a fresh store path) and returns them.
func prepare(store string) ([]benchFile, error) {
	st, err := disk.Open(disk.Options{Group: "group1", Paths: []disk.PathConfig{{Dir: store}}, SubdirCount: 1,
		Source: [4]byte{127, 0, 0, 1}})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	var files []benchFile
	for _, f := range []struct {
		name string
		size int64
	}{{"4 KiB", 4 << 10}, {"1 MiB", 1 << 20}, {"100 MiB", 100 << 20}} {
		id, err := st.Upload(context.Background(), io.LimitReader(randReader{rng}, f.size),
			disk.UploadOptions{Ext: "bin", PathIndex: -1, Size: f.size})
		if err != nil {
			return nil, fmt.Errorf("upload %s: %w", f.name, err)
		}
		files = append(files, benchFile{name: f.name, id: id, size: f.size, plain: id.RelPath()})
	}
	tr, err := writeTrunkSlice(store, rng, 4<<10)
	if err != nil {
		return nil, err
	}
	// nginx cannot serve a slice of a file: it serves the 4 KiB normal file for that row.
	tr.plain = files[0].plain
	return append(files, tr), nil
}

// writeTrunkSlice writes trunk file data/00/00/000001 holding one slot of size bytes at
// offset 0, in the on-disk format FastDFS uses, and returns its ID.
func writeTrunkSlice(store string, rng *rand.Rand, size int64) (benchFile, error) {
	data := make([]byte, size)
	randReader{rng}.Read(data)
	alloc := uint32((size + 24 + 255) / 256 * 256)
	now := time.Now().Unix()
	id, err := fileid.New(fileid.NewParams{
		Group: "group1", Source: [4]byte{127, 0, 0, 1}, Created: now, Size: size,
		CRC32: crc32.ChecksumIEEE(data), Ext: "bin", Trunk: &fileid.TrunkSlot{File: 1, Offset: 0, Size: alloc},
	})
	if err != nil {
		return benchFile{}, err
	}
	slot := make([]byte, alloc)
	slot[0] = 'F'
	binary.BigEndian.PutUint32(slot[1:], alloc)
	binary.BigEndian.PutUint32(slot[5:], uint32(size))
	binary.BigEndian.PutUint32(slot[9:], crc32.ChecksumIEEE(data))
	binary.BigEndian.PutUint32(slot[13:], uint32(now))
	copy(slot[17:24], id.Name()[len(id.Name())-7:])
	copy(slot[24:], data)
	path := filepath.Join(store, "data", "00", "00", "000001")
	if err := os.WriteFile(path, slot, 0o644); err != nil {
		return benchFile{}, err
	}
	return benchFile{name: "4 KiB trunk slice", id: id, size: size}, nil
}

type randReader struct{ r *rand.Rand }

func (r randReader) Read(p []byte) (int, error) {
	for i := 0; i < len(p); i += 8 {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], r.r.Uint64())
		copy(p[i:], b[:])
	}
	return len(p), nil
}
