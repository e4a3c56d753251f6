// Command fdfs is Depot's command-line client: upload, download, delete, describe and
// sign files on a Depot storage node.
//
//	fdfs [-c client.conf] [-storage HOST:PORT] [-secret S] COMMAND ARGS
//
// Run `fdfs -h` for the commands. Exit status: 0 on success, 1 when the operation failed,
// 2 on a usage or configuration error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "fdfs:", err)
	}
	os.Exit(exitCode(err))
}
