package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// slowDownloads is where the slow downloads run: a slowSet in this process, or a slowProc,
// a child process at a lower CPU priority.
type slowDownloads interface {
	// open starts n slow downloads, batch at a time (see slowSet.open).
	open(ctx context.Context, n, batch int) error
	// stats returns the counts so far and the first failure.
	stats() slowStats
	// close ends them all; it may be called more than once.
	close()
	// pid is the process whose CPU time they use.
	pid() int
}

type slowStats struct {
	reading, finished, failed, bytes int64
	err                              error
}

func (s *slowSet) stats() slowStats {
	return slowStats{reading: s.reading.Load(), finished: s.finished.Load(), failed: s.failed.Load(),
		bytes: s.bytes.Load(), err: s.err()}
}

func (s *slowSet) pid() int { return os.Getpid() }

// slowProc runs the slow downloads in a child process, this program started with -slow-child
// under nice(1): the slow clients stand in for remote machines, so they should not take CPU
// from the server and the fast client that remote machines would not take. The parent talks
// to it over its stdin and stdout, one line a command: "open N BATCH" (answered "ok" or "err
// MESSAGE"), "stats" (answered "stats READING FINISHED FAILED BYTES [FIRST ERROR]") and
// "close" (answered "closed", then it exits).
type slowProc struct {
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Scanner
	mu   sync.Mutex
	done bool
}

func startSlowProc(addr, path string, rate int, every time.Duration, nice int, idle bool) (*slowProc, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	args := []string{"nice", "-n", strconv.Itoa(nice), exe, "-slow-child", "-slow-addr", addr, "-slow-path", path,
		"-rate", strconv.Itoa(rate), "-read-every", every.String()}
	if idle {
		// SCHED_IDLE (inherited by every thread the child starts): it runs only when a CPU
		// would otherwise be idle, where nice 19 still takes a share of a busy CPU.
		args = append([]string{"chrt", "--idle", "0"}, args...)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the slow-download process: %w", err)
	}
	return &slowProc{cmd: cmd, in: in, out: bufio.NewScanner(out)}, nil
}

// call sends one command and returns the answer line.
func (p *slowProc) call(cmd string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return "", errClosed
	}
	if _, err := io.WriteString(p.in, cmd+"\n"); err != nil {
		return "", fmt.Errorf("slow-download process: %s: %w", cmd, err)
	}
	if !p.out.Scan() {
		return "", fmt.Errorf("slow-download process: %s: no answer (%v)", cmd, p.out.Err())
	}
	return p.out.Text(), nil
}

func (p *slowProc) open(ctx context.Context, n, batch int) error {
	stop := context.AfterFunc(ctx, func() { p.cmd.Process.Kill() })
	defer stop()
	ans, err := p.call(fmt.Sprintf("open %d %d", n, batch))
	if err != nil {
		return err
	}
	if msg, ok := strings.CutPrefix(ans, "err "); ok {
		return errors.New(msg)
	}
	return nil
}

func (p *slowProc) stats() slowStats {
	ans, err := p.call("stats")
	if err != nil {
		return slowStats{err: err}
	}
	f := strings.SplitN(ans, " ", 6)
	var st slowStats
	if len(f) < 5 || f[0] != "stats" {
		return slowStats{err: fmt.Errorf("slow-download process: stats: answer %q", ans)}
	}
	for i, v := range []*int64{&st.reading, &st.finished, &st.failed, &st.bytes} {
		*v, _ = strconv.ParseInt(f[i+1], 10, 64)
	}
	if len(f) == 6 {
		st.err = errors.New(f[5])
	}
	return st
}

func (p *slowProc) close() {
	p.call("close")
	p.mu.Lock()
	if !p.done {
		p.done = true
		p.in.Close()
	}
	p.mu.Unlock()
	t := time.AfterFunc(15*time.Second, func() { p.cmd.Process.Kill() })
	defer t.Stop()
	p.cmd.Wait()
}

func (p *slowProc) pid() int { return p.cmd.Process.Pid }

// slowChild is the child's side of slowProc: a slowSet driven by the commands on stdin.
func slowChild(addr, path string, rate int, every time.Duration) error {
	s := newSlowSet(addr, path, rate, every)
	defer s.close()
	in := bufio.NewScanner(os.Stdin)
	w := bufio.NewWriter(os.Stdout)
	answer := func(format string, args ...any) error {
		fmt.Fprintf(w, format+"\n", args...)
		return w.Flush()
	}
	for in.Scan() {
		f := strings.Fields(in.Text())
		var err error
		switch {
		case len(f) == 3 && f[0] == "open":
			n, _ := strconv.Atoi(f[1])
			batch, _ := strconv.Atoi(f[2])
			if oerr := s.open(context.Background(), n, batch); oerr != nil {
				err = answer("err %s", strings.ReplaceAll(oerr.Error(), "\n", " "))
			} else {
				err = answer("ok")
			}
		case len(f) == 1 && f[0] == "stats":
			st := s.stats()
			line := fmt.Sprintf("stats %d %d %d %d", st.reading, st.finished, st.failed, st.bytes)
			if st.err != nil {
				line += " " + strings.ReplaceAll(st.err.Error(), "\n", " ")
			}
			err = answer("%s", line)
		case len(f) == 1 && f[0] == "close":
			s.close()
			return answer("closed")
		default:
			err = answer("err unknown command %q", in.Text())
		}
		if err != nil {
			return err
		}
	}
	return in.Err()
}
