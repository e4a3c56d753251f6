package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/depotfs/depot/client"
	"github.com/depotfs/depot/internal/certs"
)

// usageError is a usage or configuration error: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// exitCode maps run's error to the exit status.
func exitCode(err error) int {
	var ue *usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		return 2
	}
	return 1
}

const usageText = `usage: fdfs [-c client.conf] [-tracker HOST:PORT,...] [-storage HOST:PORT] [-secret S] [-tls] [-tls-ca FILE] COMMAND ARGS

Commands:
  upload [-ext E] FILE        upload FILE ("-" = stdin); prints the file ID
  download ID [OUT]           write the file to OUT (replaced) or stdout
  delete ID                   delete the file
  info ID                     decode the ID, then ask the storage about the file
  meta [-overwrite] ID [k=v ...]
                              print the metadata, or merge (replace) the pairs into it
  sign [-ts UNIX] ID          print /ID?token=...&ts=... (FastDFS md5 token) for the secret
  sign [-user U] [-expires SECONDS] [-rate BYTES_PER_S] [-filename NAME] [-ts UNIX] ID
                              print /ID?expires=...&sig=..., a Depot signed URL (HMAC-SHA256)
                              valid for SECONDS (default 3600) from -ts (default now); any of
                              these flags selects it (docs/signed-urls.md)
  monitor [GROUP]             print the trackers' view of groups and storages
  delete-storage GROUP ID     remove a storage that is down from its group (ID: its id or IP:port)
  stats [-from D] [-to D] [-prefix K] [-json] [-storage HOST:HTTPPORT] [-referer URL]
                              daily statistics of every storage the trackers know, added up
                              (dates YYYY-MM-DD, default today); -storage asks one storage's
                              HTTP port instead

The storage is -storage, else storage_server in client.conf; without one, the trackers
(-tracker, else tracker_server in client.conf) choose it for each file. The secret is
-secret, else http.anti_steal.secret_key in client.conf. Connections are gRPC over TLS with
-tls or -tls-ca (else tls_enabled or tls_ca_file in client.conf), trusting the CAs of
-tls-ca (else tls_ca_file; else the system's); stats then asks the storages over https.

Flags:
`

// env is one invocation's I/O and global settings.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	storage        string
	secret         string
	trackers       []string
	confPath       string
	dialTimeout    time.Duration
	tls            *tls.Config // nil = plaintext
}

// run is the whole command: main only adds signals and the exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("fdfs", flag.ContinueOnError)
	fs.SetOutput(stderr)
	confPath := fs.String("c", "", "client.conf `path`")
	storage := fs.String("storage", "", "storage gRPC address `HOST:PORT`")
	secret := fs.String("secret", "", "anti-steal secret key (http.anti_steal.secret_key)")
	trackerList := fs.String("tracker", "", "tracker gRPC addresses `HOST:PORT[,HOST:PORT...]` (default: tracker_server in client.conf)")
	useTLS := fs.Bool("tls", false, "connect with TLS (default: tls_enabled in client.conf)")
	caFile := fs.String("tls-ca", "", "PEM `file` of the CAs to trust; implies -tls (default: tls_ca_file in client.conf)")
	fs.Usage = func() {
		fmt.Fprint(stderr, usageText)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usagef("%v", err)
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return usagef("no command given")
	}
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, storage: *storage, secret: *secret,
		confPath: *confPath, dialTimeout: 5 * time.Second}
	if *confPath != "" {
		cc, err := loadClientConf(*confPath)
		if err != nil {
			return usagef("reading %s: %v", *confPath, err)
		}
		if e.storage == "" {
			e.storage = cc.StorageServer
		}
		if e.secret == "" {
			e.secret = cc.Secret
		}
		if cc.ConnectTimeout > 0 {
			e.dialTimeout = cc.ConnectTimeout
		}
		e.trackers = cc.TrackerServers
		*useTLS = *useTLS || cc.TLS
		if *caFile == "" {
			*caFile = cc.TLSCAFile
		}
	}
	if *useTLS || *caFile != "" {
		cfg, err := certs.ClientConfig(*caFile)
		if err != nil {
			return usagef("%v", err)
		}
		e.tls = cfg
	}
	if *trackerList != "" {
		e.trackers = strings.Split(*trackerList, ",")
	}
	name, rest := fs.Arg(0), fs.Args()[1:]
	cmd := command(name)
	if cmd == nil {
		fs.Usage()
		return usagef("unknown command %q", name)
	}
	return cmd(ctx, e, rest)
}

// connect returns a client for the configured storage.
func (e *env) connect() (*client.Client, error) {
	if e.storage == "" {
		if len(e.trackers) > 0 {
			return client.New(client.Config{Trackers: e.trackers, Secret: e.secret, DialTimeout: e.dialTimeout, TLS: e.tls})
		}
		return nil, usagef("no storage: pass -storage HOST:PORT, -tracker HOST:PORT or -c client.conf with tracker_server or storage_server")
	}
	return client.New(client.Config{Storage: e.storage, Secret: e.secret, DialTimeout: e.dialTimeout, TLS: e.tls})
}

// creds returns the gRPC transport credentials of e's connections.
func (e *env) creds() credentials.TransportCredentials {
	if e.tls == nil {
		return insecure.NewCredentials()
	}
	return credentials.NewTLS(e.tls)
}

// subFlags returns a flag set for a command's own flags.
func (e *env) subFlags(name, args string) *flag.FlagSet {
	fs := flag.NewFlagSet("fdfs "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "usage: fdfs [global flags] %s %s\n", name, args)
		fs.PrintDefaults()
	}
	return fs
}

// parseSub parses a command's flags and checks its argument count.
func parseSub(fs *flag.FlagSet, args []string, minArgs, maxArgs int) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usagef("%v", err)
	}
	if n := fs.NArg(); n < minArgs || (maxArgs >= 0 && n > maxArgs) {
		fs.Usage()
		return usagef("%s: wrong number of arguments", fs.Name())
	}
	return nil
}
