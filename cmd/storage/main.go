// Command storage runs a Depot storage node.
//
//	storage -c /etc/fdfs/storage.conf   # a node from FastDFS-format config files
//	storage -dev                        # a ready single-node cluster on 127.0.0.1 (node and
//	                                    # embedded tracker), data in ./depot-data
//	storage -c storage.conf logstats FILE…  # import access logs into the daily statistics
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
	"time"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "storage:", err)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("storage", flag.ContinueOnError)
	fs.SetOutput(stderr)
	confPath := fs.String("c", "", "path of storage.conf (FastDFS format)")
	modPath := fs.String("mod", "", "path of mod_fastdfs.conf (default: http.mod_fastdfs_conf, or mod_fastdfs.conf beside storage.conf)")
	dev := fs.Bool("dev", false, "run a ready single-node cluster (node and embedded tracker) on 127.0.0.1 with data and generated config in -data")
	dataDir := fs.String("data", "depot-data", "data folder for -dev")
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		if fs.Arg(0) == "logstats" {
			return logstats(*confPath, fs.Args()[1:], stdout, stderr)
		}
		return fmt.Errorf("unexpected arguments %q (the one command is logstats FILE…)", fs.Args())
	}
	switch {
	case *showVersion:
		fmt.Fprintln(stdout, "depot storage", version)
		return nil
	case *dev && *confPath != "":
		return errors.New("-dev and -c are exclusive: -dev writes its own config into -data")
	case *dev:
		p, err := writeDevConfig(*dataDir)
		if err != nil {
			return err
		}
		trackerConf, clientConf, err := writeDevTrackerConfig(*dataDir)
		if err != nil {
			return err
		}
		trk, err := startDevTracker(trackerConf, stderr)
		if err != nil {
			return err
		}
		defer trk.Close()
		return serve(ctx, p, "", stderr, func(addrs nodeAddrs) {
			if !waitActive(ctx, trk, 10*time.Second) {
				fmt.Fprintln(stderr, "storage: the node has not reported to the embedded tracker yet; tracker commands may fail for a moment")
			}
			printDevHelp(stdout, p, addrs)
			printDevTrackerHelp(stdout, trk.Addr(), clientConf)
		})
	case *confPath == "":
		fs.Usage()
		return errors.New("need -c storage.conf or -dev")
	}
	return serve(ctx, *confPath, *modPath, stderr, nil)
}
