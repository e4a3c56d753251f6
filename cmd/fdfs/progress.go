package main

import (
	"fmt"
	"io"
	"os"
	"time"
)

// progressMin is the transfer size from which fdfs draws a progress bar.
const progressMin = 8 << 20

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progress draws a one-line progress bar on a terminal for transfers of known size over
// progressMin bytes; otherwise it does nothing. It is used from one goroutine.
type progress struct {
	w     io.Writer // nil when disabled
	label string
	total int64
	n     int64
	last  time.Time
}

func newProgress(stderr io.Writer, label string, total int64) *progress {
	p := &progress{label: label, total: total}
	if total > progressMin && isTerminal(stderr) {
		p.w = stderr
	}
	return p
}

func (p *progress) add(n int) {
	if p.w == nil {
		return
	}
	p.n += int64(n)
	if now := time.Now(); now.Sub(p.last) >= 100*time.Millisecond || p.n == p.total {
		p.last = now
		p.draw()
	}
}

func (p *progress) draw() {
	const width = 30
	filled := int(p.n * width / p.total)
	filled = min(filled, width)
	bar := make([]byte, width)
	for i := range bar {
		bar[i] = ' '
		if i < filled {
			bar[i] = '='
		}
	}
	fmt.Fprintf(p.w, "\r%s [%s] %3d%% %d/%d MiB", p.label, bar, p.n*100/p.total, p.n>>20, p.total>>20)
}

// done ends the bar's line.
func (p *progress) done() {
	if p.w != nil && p.n > 0 {
		p.draw()
		fmt.Fprintln(p.w)
	}
}

func (p *progress) reader(r io.Reader) io.Reader {
	if p.w == nil {
		return r
	}
	return &progressReader{r: r, p: p}
}

func (p *progress) writer(w io.Writer) io.Writer {
	if p.w == nil {
		return w
	}
	return &progressWriter{w: w, p: p}
}

type progressReader struct {
	r io.Reader
	p *progress
}

func (r *progressReader) Read(b []byte) (int, error) {
	n, err := r.r.Read(b)
	r.p.add(n)
	return n, err
}

type progressWriter struct {
	w io.Writer
	p *progress
}

func (w *progressWriter) Write(b []byte) (int, error) {
	n, err := w.w.Write(b)
	w.p.add(n)
	return n, err
}
