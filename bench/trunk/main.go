// Command trunk measures small files with and without trunk files: upload and read rates
// through Depot's store (the storage's write and read path, without the network) and the
// inodes and disk space the files take. Run it from the repository root, bounded by -n:
//
//	go run ./bench/trunk -n 100000 -size 4096 -c 8
//	go run ./bench/trunk -n 1000000 -size 4096 -c 16  # the full size of docs/benchmarks.md
//
// Each mode writes -n files of -size random bytes with -c concurrent writers into a fresh
// store path under -dir (each file durable before the next step: the normal path fsyncs the
// file and its directory, the trunk path the slot's bytes, then its header), then reads
// every file once in random order with -c readers (warm page cache: this measures the
// per-file cost of open/stat/pread, not the disk). Inodes are the files and directories
// under the store path; disk space is their allocated blocks (st_blocks).
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/depotfs/depot/internal/disk"
	"github.com/depotfs/depot/internal/fileid"
	"github.com/depotfs/depot/internal/trunk"
)

type options struct {
	n, size, conc int
	dir, mode     string
	keep          bool
	trunkFileSize uint64
}

func main() {
	var o options
	flag.IntVar(&o.n, "n", 100000, "files per mode")
	flag.IntVar(&o.size, "size", 4096, "file size in bytes")
	flag.IntVar(&o.conc, "c", 8, "concurrent writers and readers")
	flag.StringVar(&o.dir, "dir", os.TempDir(), "where the store paths are made")
	flag.StringVar(&o.mode, "mode", "both", "normal, trunk or both")
	flag.BoolVar(&o.keep, "keep", false, "keep the store paths")
	flag.Uint64Var(&o.trunkFileSize, "trunk-file-size", 64<<20, "trunk_file_size")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "bench/trunk:", err)
		os.Exit(1)
	}
}

// result is one mode's numbers.
type result struct {
	mode           string
	files          int
	upload, read   time.Duration
	inodes         int64
	allocated      int64
	trunkFiles     int
	uploadsInTrunk int
}

func run(o options) error {
	if o.n <= 0 || o.size < 0 || o.conc <= 0 {
		return fmt.Errorf("-n %d -size %d -c %d: want positive values", o.n, o.size, o.conc)
	}
	var modes []string
	switch o.mode {
	case "both":
		modes = []string{"normal", "trunk"}
	case "normal", "trunk":
		modes = []string{o.mode}
	default:
		return fmt.Errorf("-mode %q: want normal, trunk or both", o.mode)
	}
	fmt.Printf("%d files of %d bytes, %d writers/readers, GOMAXPROCS %d, %s\n\n", o.n, o.size, o.conc, runtime.GOMAXPROCS(0), time.Now().UTC().Format(time.RFC3339))
	fmt.Println("| mode | files | upload files/s | read files/s | inodes | disk space | trunk files |")
	fmt.Println("|---|---|---|---|---|---|---|")
	for _, m := range modes {
		r, err := runMode(o, m)
		if err != nil {
			return fmt.Errorf("%s: %w", m, err)
		}
		fmt.Printf("| %s | %d | %.0f | %.0f | %d | %.1f MiB | %d |\n", r.mode, r.files,
			float64(r.files)/r.upload.Seconds(), float64(r.files)/r.read.Seconds(), r.inodes,
			float64(r.allocated)/(1<<20), r.trunkFiles)
	}
	return nil
}

func runMode(o options, mode string) (result, error) {
	dir, err := os.MkdirTemp(o.dir, "depot-bench-trunk-"+mode+"-")
	if err != nil {
		return result{}, err
	}
	if !o.keep {
		defer os.RemoveAll(dir)
	}
	st, err := disk.Open(disk.Options{Group: "group1", Paths: []disk.PathConfig{{Dir: dir}}, Source: [4]byte{127, 0, 0, 1}})
	if err != nil {
		return result{}, err
	}
	defer st.Close()
	base, err := usage(dir)
	if err != nil {
		return result{}, err
	}
	var node *trunk.Node
	if mode == "trunk" {
		if node, err = trunk.NewNode(trunk.NodeOptions{Store: st}); err != nil {
			return result{}, err
		}
		defer node.Close()
		node.SetParams(map[string]string{"use_trunk_file": "1", "slot_min_size": "256", "slot_max_size": "16777216",
			"trunk_alloc_alignment_size": "256", "trunk_file_size": fmt.Sprint(o.trunkFileSize), "trunk_free_space_merge": "1"})
		node.SetServer("self", "self", 0, nil)
	}
	ids := make([]fileid.ID, o.n)
	var next, inTrunk atomic.Int64
	start := time.Now()
	err = parallel(o.conc, func(w int) error {
		rng := rand.New(rand.NewPCG(uint64(w), 1))
		data := make([]byte, o.size)
		for {
			i := next.Add(1) - 1
			if i >= int64(o.n) {
				return nil
			}
			for j := range data {
				data[j] = byte(rng.Uint32())
			}
			id, err := upload(st, node, data)
			if err != nil {
				return err
			}
			if id.Kind() == fileid.Trunk {
				inTrunk.Add(1)
			}
			ids[i] = id
		}
	})
	r := result{mode: mode, files: o.n, upload: time.Since(start), uploadsInTrunk: int(inTrunk.Load())}
	if err != nil {
		return r, err
	}
	rand.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	next.Store(0)
	start = time.Now()
	err = parallel(o.conc, func(int) error {
		buf := make([]byte, o.size)
		for {
			i := next.Add(1) - 1
			if i >= int64(o.n) {
				return nil
			}
			if err := read(st, ids[i], buf); err != nil {
				return err
			}
		}
	})
	r.read = time.Since(start)
	if err != nil {
		return r, err
	}
	after, err := usage(dir)
	if err != nil {
		return r, err
	}
	r.inodes, r.allocated, r.trunkFiles = after.inodes-base.inodes, after.allocated-base.allocated, after.trunkFiles
	return r, nil
}

func upload(st *disk.Store, node *trunk.Node, data []byte) (fileid.ID, error) {
	ctx := context.Background()
	if node != nil {
		id, rest, err := node.Upload(ctx, trunk.UploadRequest{R: bytes.NewReader(data), Size: int64(len(data)), Ext: "jpg", PathIndex: -1})
		if err != nil || rest == nil {
			return id, err
		}
		return fileid.ID{}, errors.New("a small file did not go to a trunk slot")
	}
	return st.Upload(ctx, bytes.NewReader(data), disk.UploadOptions{Ext: "jpg", PathIndex: -1, Size: int64(len(data))})
}

func read(st *disk.Store, id fileid.ID, buf []byte) error {
	f, err := st.Open(id)
	if err != nil {
		return err
	}
	defer f.F.Close()
	if f.Size != int64(len(buf)) {
		return fmt.Errorf("%s: %d bytes, want %d", id, f.Size, len(buf))
	}
	_, err = f.F.ReadAt(buf, f.Offset)
	return err
}

func parallel(n int, fn func(int) error) error {
	var wg sync.WaitGroup
	errs := make([]error, n)
	for w := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[w] = fn(w)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

type du struct {
	inodes, allocated int64
	trunkFiles        int
}

// usage counts the inodes (files and directories) under dir and their allocated bytes.
func usage(dir string) (du, error) {
	var u du
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		u.inodes++
		u.allocated += info.Sys().(*syscall.Stat_t).Blocks * 512
		if !d.IsDir() && len(d.Name()) >= 6 && len(d.Name()) <= 10 && isDigits(d.Name()) {
			u.trunkFiles++
		}
		return nil
	})
	return u, err
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
