package trunk

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
)

// FileInfo is a trunk file found on disk.
type FileInfo struct {
	Path       uint8
	Dir1, Dir2 uint8
	ID         uint32
	Size       int64
}

// Entry is a live slot found by a scan. Torn marks a slot whose header is valid but whose
// bytes do not have its crc32 (a write cut short): it counts as occupied, but no delete
// gives it back.
type Entry struct {
	Loc
	Header Header
	Torn   bool
}

// ScanResult is what a scan of store paths found.
type ScanResult struct {
	Files []FileInfo
	Slots []Entry
}

// scanWindow is how much of a trunk file a scan reads at once.
const scanWindow = 1 << 20

// ScanPath finds the trunk files of one store path (data/XX/YY/<digits>, XX and YY below
// subdirCount) and the live slots in them. dataDir is the store path's "data" directory.
func ScanPath(dataDir string, path uint8, subdirCount int, out *ScanResult) error {
	for d1 := range subdirCount {
		for d2 := range subdirCount {
			dir := fmt.Sprintf("%s/%02X/%02X", dataDir, d1, d2)
			ents, err := os.ReadDir(dir)
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err != nil {
				return fmt.Errorf("trunk: scan %s: %w", dir, err)
			}
			for _, e := range ents {
				id, ok := trunkFileID(e.Name())
				if !ok || !e.Type().IsRegular() {
					continue
				}
				fi := FileInfo{Path: path, Dir1: uint8(d1), Dir2: uint8(d2), ID: id}
				if err := scanFile(dir+"/"+e.Name(), &fi, out); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// trunkFileID reads a trunk file's name: at least 6 decimal digits.
func trunkFileID(name string) (uint32, bool) {
	if len(name) < 6 || len(name) > 10 {
		return 0, false
	}
	for i := 0; i < len(name); i++ {
		if name[i] < '0' || name[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(name, 10, 32)
	return uint32(n), err == nil && n > 0
}

// scanFile finds the live slots of one trunk file. It does not trust the headers of free
// slots (their sizes are those of files long gone) and looks for a valid header at every
// byte outside live slots; a header counts when it is plausible and its bytes have its
// crc32. So stale bytes never hide a live slot, and a live slot is only skipped over.
func scanFile(name string, fi *FileInfo, out *ScanResult) error {
	f, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("trunk: scan %s: %w", name, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("trunk: scan %s: %w", name, err)
	}
	fi.Size = st.Size()
	out.Files = append(out.Files, *fi)
	buf := make([]byte, scanWindow)
	var data []byte
	off := int64(0)
	for off+HeaderSize <= fi.Size {
		n, err := f.ReadAt(buf, off)
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("trunk: scan %s at %d: %w", name, off, err)
		}
		i := 0
		for i+HeaderSize <= n && buf[i] != TypeRegular && buf[i] != TypeLink {
			i++
		}
		if i+HeaderSize > n {
			if n < HeaderSize {
				break
			}
			off += int64(n - HeaderSize + 1)
			continue
		}
		pos := off + int64(i)
		h, _ := DecodeHeader(buf[i:])
		if !plausible(&h, pos, fi.Size) {
			off = pos + 1
			continue
		}
		if cap(data) < int(h.Size) {
			data = make([]byte, h.Size)
		}
		data = data[:h.Size]
		if _, err := f.ReadAt(data, pos+HeaderSize); err != nil {
			return fmt.Errorf("trunk: scan %s: slot at %d: %w", name, pos, err)
		}
		e := Entry{Loc: Loc{Path: fi.Path, Dir1: fi.Dir1, Dir2: fi.Dir2, File: fi.ID, Offset: uint32(pos), Size: h.Alloc}, Header: h}
		if h.Type == TypeRegular && !crcOK(&h, data) {
			e.Torn = true
			out.Slots = append(out.Slots, e)
			off = pos + 1
			continue
		}
		out.Slots = append(out.Slots, e)
		off = pos + int64(h.Alloc)
	}
	return nil
}
