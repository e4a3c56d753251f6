package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/depotfs/depot/internal/conf"
	"github.com/depotfs/depot/internal/meta"
	"github.com/depotfs/depot/internal/stats"
)

// logstats imports access logs (Depot's or nginx's combined format, plain or gzip) into the
// node's daily statistics, by each line's date: storage -c storage.conf logstats FILE…
func logstats(confPath string, files []string, stdout, stderr io.Writer) error {
	if confPath == "" {
		return errors.New("logstats needs -c storage.conf (it writes to that node's statistics)")
	}
	if len(files) == 0 {
		return errors.New("logstats: no files: storage -c storage.conf logstats FILE…")
	}
	sc, err := conf.LoadStorage(confPath, nil)
	if err != nil {
		return err
	}
	dir := filepath.Join(sc.BasePath, "data")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("logstats: %w", err)
	}
	path := filepath.Join(dir, "stats.db")
	st, err := meta.OpenStats(path, meta.Options{Timeout: 2 * time.Second})
	if errors.Is(err, meta.ErrLocked) {
		return fmt.Errorf("logstats: %s is held by the running storage node: stop it for the import "+
			"(the node imports its own rotated access logs by itself)", path)
	}
	if err != nil {
		return fmt.Errorf("logstats: %w", err)
	}
	defer st.Close()
	var failed int
	for _, f := range files {
		res, err := stats.Import(st, f, stats.ImportOptions{Group: sc.GroupName})
		switch {
		case err != nil:
			failed++
			fmt.Fprintf(stderr, "logstats: %v\n", err)
		case res.Skipped:
			fmt.Fprintf(stdout, "%s: imported before, skipped\n", f)
		default:
			fmt.Fprintf(stdout, "%s: %d lines, %d counted, %d not in combined format\n", f, res.Lines, res.Counted, res.Bad)
		}
	}
	if failed > 0 {
		return fmt.Errorf("logstats: %d of %d files failed", failed, len(files))
	}
	return nil
}
