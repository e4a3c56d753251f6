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

// benchFile is one file served by the servers.
type benchFile struct {
	name string // key and label
	id   fileid.ID
	size int64
	// plain is the path below the store path's data/ that nginx serves: the file itself, or for
	// a trunk slice the normal file the target compares it with.
	plain string
}

// files names the prepared files by label.
type files map[string]benchFile

// prepare writes the benchmark files into store (a fresh store path): normal files of 4 KiB,
// 200 KB, 1 MiB and 100 MiB, and one trunk file holding a 4 KiB and a 1 MB slice.
func prepare(store string) (files, error) {
	st, err := disk.Open(disk.Options{Group: "group1", Paths: []disk.PathConfig{{Dir: store}}, SubdirCount: 1,
		Source: [4]byte{127, 0, 0, 1}})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	fs := files{}
	for _, f := range []struct {
		name string
		size int64
	}{{"4 KiB", 4 << 10}, {"200 KB", 200_000}, {"1 MiB", 1 << 20}, {"100 MiB", 100 << 20}} {
		id, err := st.Upload(context.Background(), io.LimitReader(randReader{rng}, f.size),
			disk.UploadOptions{Ext: "bin", PathIndex: -1, Size: f.size})
		if err != nil {
			return nil, fmt.Errorf("upload %s: %w", f.name, err)
		}
		fs[f.name] = benchFile{name: f.name, id: id, size: f.size, plain: id.RelPath()}
	}
	slices, err := writeTrunk(store, rng, []int64{4 << 10, 1_000_000})
	if err != nil {
		return nil, err
	}
	// nginx cannot serve a slice of a file: the targets compare slices with normal files.
	slices[0].name, slices[0].plain = "4 KiB trunk slice", fs["4 KiB"].plain
	slices[1].name, slices[1].plain = "1 MB trunk slice", fs["1 MiB"].plain
	for _, s := range slices {
		fs[s.name] = s
	}
	return fs, nil
}

// writeTrunk writes trunk file data/00/00/000001 holding one slot per size, back to back, in
// the on-disk format FastDFS uses (24-byte header, then the data), and returns their IDs.
func writeTrunk(store string, rng *rand.Rand, sizes []int64) ([]benchFile, error) {
	var trunk []byte
	var out []benchFile
	now := time.Now().Unix()
	for _, size := range sizes {
		data := make([]byte, size)
		randReader{rng}.Read(data)
		alloc := uint32((size + 24 + 255) / 256 * 256)
		off := uint32(len(trunk))
		id, err := fileid.New(fileid.NewParams{
			Group: "group1", Source: [4]byte{127, 0, 0, 1}, Created: now, Size: size,
			CRC32: crc32.ChecksumIEEE(data), Ext: "bin", Trunk: &fileid.TrunkSlot{File: 1, Offset: off, Size: alloc},
		})
		if err != nil {
			return nil, err
		}
		slot := make([]byte, alloc)
		slot[0] = 'F'
		binary.BigEndian.PutUint32(slot[1:], alloc)
		binary.BigEndian.PutUint32(slot[5:], uint32(size))
		binary.BigEndian.PutUint32(slot[9:], crc32.ChecksumIEEE(data))
		binary.BigEndian.PutUint32(slot[13:], uint32(now))
		copy(slot[17:24], id.Name()[len(id.Name())-7:])
		copy(slot[24:], data)
		trunk = append(trunk, slot...)
		out = append(out, benchFile{id: id, size: size})
	}
	path := filepath.Join(store, "data", "00", "00", "000001")
	if err := os.WriteFile(path, trunk, 0o644); err != nil {
		return nil, err
	}
	return out, nil
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
