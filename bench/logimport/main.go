// Command logimport measures the statistics import of a large access log: it writes a
// combined-format log of -size bytes (beacon hits and downloads of many files over -days
// days) to a temporary file, imports it with the code behind `storage logstats`, and prints
// lines per second and the process's peak RSS, as markdown for docs/benchmarks.md:
//
//	go run ./bench/logimport -size 1G
//
// It is not part of go test.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/depotfs/depot/internal/conf"
	"github.com/depotfs/depot/internal/meta"
	"github.com/depotfs/depot/internal/stats"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "logimport:", err)
		os.Exit(1)
	}
}

func run() error {
	sizeFlag := flag.String("size", "1G", "log size (K, M, G suffixes)")
	days := flag.Int("days", 30, "days the log spans")
	files := flag.Int("files", 100000, "distinct file IDs downloaded")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the import here")
	flag.Parse()
	size, err := conf.ParseSize(*sizeFlag)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "depot-logimport-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	logPath := filepath.Join(dir, "access.log")
	lines, err := writeLog(logPath, size, *days, *files)
	if err != nil {
		return err
	}
	st, err := meta.OpenStats(filepath.Join(dir, "stats.db"), meta.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	runtime.GC()
	before := maxRSS()
	if *cpuProfile != "" {
		pf, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		pprof.StartCPUProfile(pf)
		defer pprof.StopCPUProfile()
	}
	var peakHeap uint64
	done := make(chan struct{})
	sampled := make(chan struct{})
	go func() { // the Go heap, sampled: what the importer holds, apart from the mapped file
		defer close(sampled)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			peakHeap = max(peakHeap, ms.HeapInuse)
			select {
			case <-done:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	start := time.Now()
	res, err := stats.Import(st, logPath, stats.ImportOptions{Group: "group1", Location: time.UTC})
	if err != nil {
		return err
	}
	took := time.Since(start)
	close(done)
	<-sampled
	after := maxRSS()
	if res.Lines != lines {
		return fmt.Errorf("imported %d lines of %d", res.Lines, lines)
	}
	fi, _ := os.Stat(filepath.Join(dir, "stats.db"))
	fmt.Printf("| log | lines | counted | time | lines/s | MB/s | peak Go heap | peak RSS before → after (with the mapped stats.db) | stats.db |\n|---|---|---|---|---|---|---|---|---|\n")
	fmt.Printf("| %s, %d days, %d files | %d | %d | %.1f s | %.0f | %.0f | %d MiB | %d → %d MiB | %d MiB |\n",
		*sizeFlag, *days, *files, res.Lines, res.Counted, took.Seconds(), float64(res.Lines)/took.Seconds(),
		float64(size)/took.Seconds()/1e6, peakHeap>>20, before>>20, after>>20, fi.Size()>>20)
	return nil
}

// writeLog writes about size bytes of combined-format lines and returns how many.
func writeLog(path string, size int64, days, files int) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	day0 := time.Date(2021, 3, 1, 0, 0, 0, 0, time.UTC)
	var written, n int64
	perDay := size / int64(days)
	for written < size {
		t := day0.Add(time.Duration(float64(written) / float64(perDay) * float64(24*time.Hour)))
		ts := t.Format("02/Jan/2006:15:04:05 -0700")
		var m int
		if n%4 == 0 {
			m, _ = fmt.Fprintf(w, "10.0.%d.%d - - [%s] \"GET /event.png?category=h5&action=pv&label=%d&value=%d HTTP/1.1\" 200 67 \"https://app.example.com/\" \"Mozilla/5.0\" 0.000\n",
				n%250, n%200, ts, n%90, n%50)
		} else {
			m, _ = fmt.Fprintf(w, "10.0.%d.%d - - [%s] \"GET /group1/M00/00/%02X/fwAAAWsEB46AMBAuAAAQAIkh%06d.bin HTTP/1.1\" 200 4096 \"-\" \"curl/8.0\" 0.001\n",
				n%250, n%200, ts, n%256, n%int64(files))
		}
		written += int64(m)
		n++
	}
	if err := w.Flush(); err != nil {
		return 0, err
	}
	return n, f.Close()
}

// maxRSS returns the process's peak resident set size in bytes.
func maxRSS() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Maxrss << 10
}
