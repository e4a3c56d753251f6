package stats

import (
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/depotfs/depot/internal/fileid"
	"github.com/depotfs/depot/internal/meta"
)

// ImportOptions configure Import.
type ImportOptions struct {
	// Group is the group of URLs without a group segment ("/M00/…").
	Group string
	// Location decides each line's day (nil = time.Local), as the Recorder's.
	Location *time.Location
	// MaxPending bounds the (day, key) pairs held before they are written (50,000).
	MaxPending int
	// Counters, when not nil, are the only counters imported. A node importing its own
	// rotated log takes pv and requests, which the log tells exactly; its live bytes and
	// completed come from the acknowledged bytes, which a log of bytes sent cannot repair.
	Counters []string
	Logger   *slog.Logger
}

// ImportResult says what one file gave.
type ImportResult struct {
	File    string
	Source  string // sha256 of the file's lines (uncompressed)
	Skipped bool   // imported before: nothing counted
	Lines   int64  // lines read
	Counted int64  // lines that counted (downloads and beacon hits)
	Bad     int64  // lines that are not combined format
}

// maxLine is the longest log line read; longer ones are counted bad and skipped.
const maxLine = 64 << 10

// Import counts an access log (plain or gzip; Depot's format or nginx's combined) into store
// by each line's day: beacon hits (GET /event.png with 200) as pv under their keys, and
// downloads (GET of a file-ID path with 200 or 206) as requests and bytes (the bytes sent)
// under download, download.<group>, download.<group>.<remote name> and, for a signed URL with a
// user, user.<user>; a 200 that sent the whole file (its size from the file ID) also counts as
// completed. The file is streamed twice (hash, then count); memory is bounded by MaxPending.
// A file imported before (the same lines, plain or gzipped) is skipped.
func Import(store *meta.StatsStore, path string, o ImportOptions) (ImportResult, error) {
	res := ImportResult{File: path}
	if o.Location == nil {
		o.Location = time.Local
	}
	if o.MaxPending <= 0 {
		o.MaxPending = 50_000
	}
	sum, err := hashFile(path)
	if err != nil {
		return res, err
	}
	res.Source = sum
	already, err := store.BeginImport(sum)
	if err != nil {
		return res, fmt.Errorf("stats: import %s: %w", path, err)
	}
	if already {
		res.Skipped = true
		return res, nil
	}
	r, closeFn, err := openLog(path)
	if err != nil {
		return res, err
	}
	defer closeFn()
	im := &importer{o: o, pend: map[string]map[string]meta.Counters{}}
	flush := func() error {
		if im.n == 0 {
			return nil
		}
		if err := store.AddImport(sum, im.pend); err != nil {
			return fmt.Errorf("stats: import %s: %w", path, err)
		}
		im.pend, im.n = map[string]map[string]meta.Counters{}, 0
		return nil
	}
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := readLine(br)
		if len(line) > 0 {
			res.Lines++
			switch counted, ok := im.line(line); {
			case !ok:
				res.Bad++
			case counted:
				res.Counted++
			}
			if im.n >= o.MaxPending {
				if err := flush(); err != nil {
					return res, err
				}
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return res, fmt.Errorf("stats: read %s: %w", path, err)
		}
	}
	if err := flush(); err != nil {
		return res, err
	}
	return res, store.FinishImport(sum, path)
}

// readLine returns the next line without its newline; a line longer than maxLine is
// returned cut (and then not parsed as combined format).
func readLine(br *bufio.Reader) (string, error) {
	var b []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(b)+len(chunk) <= maxLine {
			b = append(b, chunk...)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		return strings.TrimRight(string(b), "\r\n"), err
	}
}

// hashFile returns the sha256 of path's log lines in hex: of its content once uncompressed,
// so that a log and its gzipped copy are the same source.
func hashFile(path string) (string, error) {
	r, closeFn, err := openLog(path)
	if err != nil {
		return "", err
	}
	defer closeFn()
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return "", fmt.Errorf("stats: import: read %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// openLog opens path, through gzip when it starts with gzip's magic bytes.
func openLog(path string) (io.Reader, func(), error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("stats: import: %w", err)
	}
	br := bufio.NewReader(f)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("stats: import %s: gzip: %w", path, err)
		}
		zr.Multistream(true)
		return zr, func() { zr.Close(); f.Close() }, nil
	}
	return br, func() { f.Close() }, nil
}

// importer aggregates lines by day.
type importer struct {
	o    ImportOptions
	pend map[string]map[string]meta.Counters
	n    int // (day, key) pairs in pend
}

func (im *importer) add(day, key, counter string, v int64) {
	if im.o.Counters != nil && !slices.Contains(im.o.Counters, counter) {
		return
	}
	keys := im.pend[day]
	if keys == nil {
		keys = map[string]meta.Counters{}
		im.pend[day] = keys
	}
	cs := keys[key]
	if cs == nil {
		cs = meta.Counters{}
		keys[key] = cs
		im.n++
	}
	cs[counter] += v
}

// line counts one log line; ok is false when it is not combined format.
func (im *importer) line(s string) (counted, ok bool) {
	l, err := ParseLine(s)
	if err != nil {
		return false, false
	}
	if l.Method != "GET" {
		return false, true
	}
	path, rawQuery, _ := strings.Cut(l.Target, "?")
	day := l.Time.In(im.o.Location).Format(time.DateOnly)
	if path == "/event.png" {
		if l.Status != 200 {
			return false, true
		}
		q, _ := url.ParseQuery(rawQuery)
		keys, err := BeaconKeys(q.Get("category"), q.Get("action"), q.Get("label"), q.Get("value"))
		if err != nil {
			return false, true
		}
		for _, k := range keys {
			im.add(day, k, "pv", 1)
		}
		return true, true
	}
	if l.Status != 200 && l.Status != 206 {
		return false, true
	}
	id, ok := im.fileID(path)
	if !ok {
		return false, true
	}
	user := ""
	if strings.Contains(rawQuery, "sig=") {
		if q, err := url.ParseQuery(rawQuery); err == nil && q.Get("sig") != "" {
			user = q.Get("user")
		}
	}
	whole := false
	if size, known := id.Size(); known && l.Status == 200 && l.Bytes == size {
		whole = true
	}
	for _, k := range downloadKeys(id.String(), user) {
		im.add(day, k, "requests", 1)
		im.add(day, k, "bytes", l.Bytes)
		if whole {
			im.add(day, k, "completed", 1)
		}
	}
	return true, true
}

// fileID parses a file-ID URL path, with or without its group segment.
func (im *importer) fileID(path string) (fileid.ID, bool) {
	p := strings.TrimPrefix(path, "/")
	if strings.HasPrefix(p, "M") && im.o.Group != "" {
		p = im.o.Group + "/" + p
	}
	id, err := fileid.Parse(p)
	return id, err == nil
}
