// Command tracker runs a Depot tracker from FastDFS's tracker.conf.
//
//	tracker -c /etc/fdfs/tracker.conf
//
// It serves the TrackerService over gRPC on bind_addr:port (22122 by default), keeps its
// state in base_path/data/depot-tracker.db, and finds the other trackers of its cluster
// through the storages' tracker_server lists (gossip on gossip_port, Raft on raft_port).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "tracker:", err)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tracker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	confPath := fs.String("c", "", "path of tracker.conf (FastDFS format)")
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	case *showVersion:
		fmt.Fprintln(stdout, "depot tracker", version)
		return nil
	case *confPath == "":
		fs.Usage()
		return errors.New("need -c tracker.conf")
	}
	return serve(ctx, *confPath, stderr, nil)
}
