// Package benchenv is what the benchmark commands under bench/ share: the machine they run on,
// the processes they measure (from /proc), and the markdown report they write a section of.
// It is Linux-only and not used by the product.
package benchenv

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"syscall"
)

// RaiseNoFile raises the open-file limit (inherited by child processes) to its hard limit, or
// to want when that is higher and the process may raise the hard limit (CAP_SYS_RESOURCE), and
// returns the new limit.
func RaiseNoFile(want uint64) (uint64, error) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, err
	}
	if want > l.Max {
		up := syscall.Rlimit{Cur: want, Max: want}
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &up) == nil {
			return want, nil
		}
	}
	l.Cur = l.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, err
	}
	return l.Cur, nil
}

// RSS reads VmRSS (KiB) of pid from /proc, or -1.
func RSS(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kb int64
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), &kb)
			return kb
		}
	}
	return -1
}

// CPUTicks reads utime + stime (clock ticks, all threads) of pid from /proc, or -1.
func CPUTicks(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	i := strings.LastIndexByte(string(b), ')') // the command name may hold spaces
	if i < 0 {
		return -1
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return -1
	}
	var u, s int64
	fmt.Sscan(f[11], &u) // field 14 of stat: utime
	fmt.Sscan(f[12], &s) // field 15: stime
	return u + s
}

// ClockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat (100 on Linux).
const ClockTicks = 100

// OpenFDs counts the open file descriptors of pid, or -1.
func OpenFDs(pid int) int {
	es, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return -1
	}
	return len(es)
}

// CPUModel returns the first "model name" of /proc/cpuinfo.
func CPUModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

// Kernel returns the running kernel's release (/proc/sys/kernel/osrelease).
func Kernel() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return "unknown kernel"
	}
	return strings.TrimSpace(string(b))
}

// LoadAvg returns /proc/loadavg's first three fields.
func LoadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// Machine describes the machine in one line: CPUs, CPU model, kernel, OS/arch, Go version.
func Machine() string {
	return fmt.Sprintf("%d CPUs (`nproc`), %s, Linux %s, %s/%s, %s",
		runtime.NumCPU(), CPUModel(), Kernel(), runtime.GOOS, runtime.GOARCH, runtime.Version())
}

// MachineTicks reads the first line of /proc/stat: clock ticks all CPUs spent busy (not idle
// or waiting for I/O) and in total since boot, or -1s.
func MachineTicks() (busy, total int64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return -1, -1
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 6 || f[0] != "cpu" {
		return -1, -1
	}
	for i, v := range f[1:] {
		var n int64
		fmt.Sscan(v, &n)
		total += n
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy, total
}
