// Command server is the Depot side of the download benchmark: internal/httpd over a
// disk.Store on one store path, served by fastsrv (the storage node's download server) or
// net/http, access log off. It is built and started by ../ (go run ./bench); it is not a
// product binary.
package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/depotfs/depot/internal/accounting"
	"github.com/depotfs/depot/internal/disk"
	"github.com/depotfs/depot/internal/fileid"
	"github.com/depotfs/depot/internal/httpd"
	"github.com/depotfs/depot/internal/httpd/fastsrv"
	"github.com/depotfs/depot/internal/meta"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "bench server:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	store := fs.String("store", "", "store path (store_path0)")
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	server := fs.String("server", "fastsrv", "fastsrv or nethttp")
	secret := fs.String("token", "", "anti-steal secret key (empty = token check off)")
	source := fs.String("source", "", "base URL of the source node: every file is proxied from there")
	pprofAddr := fs.String("pprof", "", "serve net/http/pprof on this address")
	copyBelow := fs.Int64("copy-below", 0, "fastsrv CopyBelow (0 = its default, -1 = always sendfile)")
	acct := fs.String("accounting", "", "account downloads, with the state file in this directory (empty = off)")
	userRate := fs.Int64("user-limit-rate", 0, "http.user_limit_rate in bytes/s (0 = none)")
	sndbuf := fs.Int("sndbuf", 0, "SO_SNDBUF of every connection (0 = the kernel's autotuning)")
	lowat := fs.Int("notsent-lowat", 0, "fastsrv NotSentLowat: TCP_NOTSENT_LOWAT of every connection (0 = fastsrv's default, 16 KiB; -1 = the kernel's, no limit)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *store == "" {
		return errors.New("-store is required")
	}
	st, err := disk.Open(disk.Options{Group: "group1", Paths: []disk.PathConfig{{Dir: *store}}, SubdirCount: 1})
	if err != nil {
		return err
	}
	defer st.Close()
	cfg := httpd.Config{
		Groups:           []httpd.Group{{Name: "group1", Store: st, StorePathCount: 1}},
		URLHaveGroupName: true,
		IsSelf:           func(fileid.ID) bool { return true },
	}
	if *secret != "" {
		cfg.Token = httpd.TokenConfig{Check: true, Secret: *secret, TTL: 24 * time.Hour}
	}
	if *source != "" {
		base := *source
		cfg.IsSelf = func(fileid.ID) bool { return false }
		cfg.SourceURL = func(fileid.ID) (string, bool) { return base, true }
	}
	cfg.UserLimitRate = *userRate
	if *acct != "" {
		if err := os.MkdirAll(*acct, 0o755); err != nil {
			return err
		}
		ds, err := meta.OpenDownloads(filepath.Join(*acct, "downloads.db"), meta.Options{})
		if err != nil {
			return err
		}
		defer ds.Close()
		a, err := accounting.New(accounting.Config{Store: ds})
		if err != nil {
			return err
		}
		defer a.Close()
		cfg.Accounting = a
	}
	h, err := httpd.New(cfg)
	if err != nil {
		return err
	}
	defer h.Close()
	if *pprofAddr != "" {
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		mux.HandleFunc("/debug/goroutines", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, runtime.NumGoroutine()) })
		go http.ListenAndServe(*pprofAddr, mux)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	if *sndbuf > 0 {
		ln = tunedListener{Listener: ln, sndbuf: *sndbuf}
	}
	fmt.Println(ln.Addr().String())
	if *server == "nethttp" {
		return http.Serve(ln, h)
	}
	return fastsrv.New(fastsrv.Config{Handler: h, CopyBelow: *copyBelow, NotSentLowat: *lowat}).Serve(ln)
}

// tunedListener sets SO_SNDBUF on every connection it accepts and returns the connection
// itself, not a wrapper, so that sendfile still applies (bench/soak compares buffer sizes).
type tunedListener struct {
	net.Listener
	sndbuf int
}

func (l tunedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return c, err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(l.sndbuf)
	}
	return c, nil
}
