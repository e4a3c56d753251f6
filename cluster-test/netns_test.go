package clustertest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// The fault scenarios run each node in its own network namespace, joined to the test's
// namespace by a veth pair on a bridge:
//
//	test process (root ns) ── bridge dpf<pid>b 10.213.N.1/24
//	                             ├── veth dpf<pid>h0 ── ns dpf<pid>-n0: eth0 10.213.N.10
//	                             ├── veth dpf<pid>h1 ── ns dpf<pid>-n1: eth0 10.213.N.11
//	                             └── ...
//
// Cutting a node off is `ip link set dpf<pid>hK down`: its packets go nowhere (no RST, no
// ICMP), as when a cable or a switch port fails, and every peer and client has to notice
// by its own timeouts. Everything is named after the test process's pid, so a run that was
// killed before its cleanup leaves names that the next run finds (their pid is gone) and
// removes first.

// netPrefix starts the name of every namespace, link and bridge a run makes.
const netPrefix = "dpf"

// netLab is one run's bridge and namespaces.
type netLab struct {
	t      *testing.T
	prefix string // netPrefix + pid
	bridge string
	subnet string // "10.213.N"
	nodes  int
}

// nsNode is a node's namespace and the host end of its veth.
type nsNode struct {
	lab  *netLab
	ns   string
	link string // host-side veth: down cuts the node off
	ip   string
}

// ipCmd runs ip with args and returns its combined output.
func ipCmd(args ...string) (string, error) {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return string(out), nil
}

// newNetLab makes the bridge of a run, or skips the test where namespaces cannot be made
// (not root, no iproute2, no CAP_NET_ADMIN, a kernel without veth or bridges).
func newNetLab(t *testing.T) *netLab {
	t.Helper()
	skipWithoutNetns(t)
	removeStale(t)
	lab := &netLab{t: t, prefix: netPrefix + strconv.Itoa(os.Getpid())}
	lab.bridge = lab.prefix + "b"
	subnet, err := freeSubnet(os.Getpid())
	if err != nil {
		t.Skipf("fault scenarios: %v", err)
	}
	lab.subnet = subnet
	if _, err := ipCmd("link", "add", lab.bridge, "type", "bridge"); err != nil {
		t.Skipf("fault scenarios cannot make a bridge here (network namespaces unavailable): %v", err)
	}
	t.Cleanup(lab.remove)
	for _, args := range [][]string{
		{"addr", "add", subnet + ".1/24", "dev", lab.bridge},
		{"link", "set", lab.bridge, "up"},
	} {
		if _, err := ipCmd(args...); err != nil {
			t.Fatal(err)
		}
	}
	return lab
}

// skipWithoutNetns skips the test in -short mode, without root or without iproute2.
func skipWithoutNetns(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binaries in network namespaces")
	}
	if os.Geteuid() != 0 {
		t.Skip("fault scenarios need root to make network namespaces (ip netns add); run as root to include them")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("fault scenarios need iproute2's ip command to make network namespaces")
	}
}

// node makes the next namespace with its veth on the bridge and address subnet.(10+i).
func (l *netLab) node() *nsNode {
	l.t.Helper()
	i := l.nodes
	l.nodes++
	n := &nsNode{lab: l, ns: fmt.Sprintf("%s-n%d", l.prefix, i), link: fmt.Sprintf("%sh%d", l.prefix, i), ip: fmt.Sprintf("%s.%d", l.subnet, 10+i)}
	if _, err := ipCmd("netns", "add", n.ns); err != nil {
		l.t.Skipf("fault scenarios cannot make a network namespace here: %v", err)
	}
	for _, args := range [][]string{
		{"link", "add", n.link, "type", "veth", "peer", "name", "eth0", "netns", n.ns},
		{"link", "set", n.link, "master", l.bridge, "up"},
		{"-n", n.ns, "link", "set", "lo", "up"},
		{"-n", n.ns, "addr", "add", n.ip + "/24", "dev", "eth0"},
		{"-n", n.ns, "link", "set", "eth0", "up"},
	} {
		if _, err := ipCmd(args...); err != nil {
			l.t.Fatal(err)
		}
	}
	return n
}

// cut takes the node off the network; heal puts it back.
func (n *nsNode) cut() {
	n.lab.t.Helper()
	if _, err := ipCmd("link", "set", n.link, "down"); err != nil {
		n.lab.t.Fatal(err)
	}
}

func (n *nsNode) heal() {
	n.lab.t.Helper()
	if _, err := ipCmd("link", "set", n.link, "up"); err != nil {
		n.lab.t.Fatal(err)
	}
}

// command runs bin in the node's namespace. The process gets SIGKILL if the test process
// dies, so a killed run leaves no node behind.
func (n *nsNode) command(bin string, args ...string) *exec.Cmd {
	cmd := exec.Command("ip", append([]string{"netns", "exec", n.ns, bin}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd
}

// remove deletes the run's namespaces (their veths go with them) and bridge; processes
// still in a namespace are killed first.
func (l *netLab) remove() {
	for i := range l.nodes {
		removeNetns(fmt.Sprintf("%s-n%d", l.prefix, i))
	}
	_, _ = ipCmd("link", "del", l.bridge)
}

func removeNetns(ns string) {
	if out, err := ipCmd("netns", "pids", ns); err == nil {
		for _, f := range strings.Fields(out) {
			if pid, err := strconv.Atoi(f); err == nil {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
	_, _ = ipCmd("netns", "del", ns)
}

// removeStale removes the namespaces and links of earlier runs whose process is gone.
func removeStale(t *testing.T) {
	t.Helper()
	stale := func(name string) bool {
		rest, ok := strings.CutPrefix(name, netPrefix)
		if !ok {
			return false
		}
		end := strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' })
		if end <= 0 {
			return false
		}
		pid, _ := strconv.Atoi(rest[:end])
		if pid == os.Getpid() {
			return false
		}
		_, err := os.Stat("/proc/" + strconv.Itoa(pid))
		return os.IsNotExist(err)
	}
	if out, err := ipCmd("netns", "list"); err == nil {
		for _, line := range strings.Split(out, "\n") {
			if f := strings.Fields(line); len(f) > 0 && stale(f[0]) {
				t.Logf("removing namespace %s of a run that is gone", f[0])
				removeNetns(f[0])
			}
		}
	}
	if b, err := os.ReadFile("/proc/mounts"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) > 2 && f[2] == "tmpfs" && stale(filepath.Base(f[1])) {
				t.Logf("unmounting %s of a run that is gone", f[1])
				_ = exec.Command("umount", "-l", f[1]).Run()
				_ = os.Remove(f[1])
			}
		}
	}
	if out, err := ipCmd("-o", "link", "show"); err == nil {
		for _, line := range strings.Split(out, "\n") {
			f := strings.Fields(line)
			if len(f) < 2 {
				continue
			}
			name, _, _ := strings.Cut(strings.TrimSuffix(f[1], ":"), "@")
			if stale(name) {
				t.Logf("removing link %s of a run that is gone", name)
				_, _ = ipCmd("link", "del", name)
			}
		}
	}
}

// freeSubnet picks a 10.213.N.0/24 that no interface of this namespace uses, starting at
// one derived from the pid so that parallel runs do not race for the same.
func freeSubnet(pid int) (string, error) {
	out, err := ipCmd("-o", "-4", "addr", "show")
	if err != nil {
		return "", err
	}
	for k := range 256 {
		s := fmt.Sprintf("10.213.%d", (pid+k)%256)
		if !strings.Contains(out, " "+s+".") {
			return s, nil
		}
	}
	return "", fmt.Errorf("every 10.213.N.0/24 is in use")
}

// mountTmpfs mounts a tmpfs of size bytes on a new directory and unmounts it when the test
// ends. The directory is named after the run, so that removeStale unmounts one a killed run
// left behind.
func mountTmpfs(t *testing.T, size int64) string {
	t.Helper()
	skipWithoutNetns(t)
	dir, err := os.MkdirTemp("", fmt.Sprintf("%s%d-tmpfs", netPrefix, os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+strconv.FormatInt(size, 10), "tmpfs", dir).CombinedOutput(); err != nil {
		os.Remove(dir)
		t.Skipf("cannot mount a tmpfs for the store path: %v: %s", err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, bytes.TrimSpace(out))
		}
		os.Remove(dir)
	})
	return dir
}

// fillTo writes a file in the filesystem of dir until the reserve (1% of its size, the
// scenarios' reserved_storage_space) plus slack bytes are left free, and returns its path.
// Uploads may be writing there meanwhile: it writes in steps and checks again.
func fillTo(t *testing.T, dir string, slack int64) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 1<<20)
	for {
		var st syscall.Statfs_t
		if err := syscall.Statfs(dir, &st); err != nil {
			t.Fatal(err)
		}
		total, free := int64(st.Blocks)*st.Bsize, int64(st.Bavail)*st.Bsize
		n := min(free-total/100-slack, int64(len(chunk)))
		if n <= 0 {
			return path
		}
		if _, err := f.Write(chunk[:n]); errors.Is(err, syscall.ENOSPC) {
			return path
		} else if err != nil {
			t.Fatalf("fill %s: %v", dir, err)
		}
	}
}
