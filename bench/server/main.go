// Command server is the Depot side of the download benchmark: internal/httpd over a
// disk.Store on one store path, plain HTTP/1.1, access log off. It is built and started by
// ../ (go run ./bench); it is not a product binary.
package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"

	"github.com/depotfs/depot/internal/disk"
	"github.com/depotfs/depot/internal/fileid"
	"github.com/depotfs/depot/internal/httpd"
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
	h, err := httpd.New(httpd.Config{
		Groups:           []httpd.Group{{Name: "group1", Store: st, StorePathCount: 1}},
		URLHaveGroupName: true,
		IsSelf:           func(fileid.ID) bool { return true },
	})
	if err != nil {
		return err
	}
	defer h.Close()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	fmt.Println(ln.Addr().String())
	return http.Serve(ln, h)
}
