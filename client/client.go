package client

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/depotfs/depot/proto/storagepb"
)

// chunkSize is the size of the data messages the client sends.
const chunkSize = 256 << 10

// DefaultDialTimeout bounds New's wait for the first connection when Config.DialTimeout is 0.
const DefaultDialTimeout = 10 * time.Second

// Config configures a Client.
type Config struct {
	// Storage is the storage node's gRPC address, "host:port".
	Storage string
	// Trackers are tracker gRPC addresses, "host:port" (tracker_server of client.conf). With
	// Trackers and no Storage the Client is in tracker mode: every call asks a tracker which
	// storage to use, failing over across trackers and storages (see tracker_upload.go for
	// why a retried upload never stores a file twice). Beside Storage, Trackers is ignored.
	Trackers []string
	// RetryTimeout bounds how long a call in tracker mode keeps retrying on other trackers
	// and storages (0: DefaultRetryTimeout).
	RetryTimeout time.Duration
	// Secret is http.anti_steal.secret_key, used by Sign and SignedURL.
	Secret string
	// DialTimeout bounds New's wait for the connection (0: DefaultDialTimeout). New also
	// fails at once when the first connection attempt fails (refused, unresolvable).
	DialTimeout time.Duration
	// TLS makes every connection (trackers and storages) gRPC over TLS with this client
	// config: RootCAs the CAs that signed the nodes' certificates (nil RootCAs: the system's),
	// ServerName left empty to check each node's address against its certificate. Nil =
	// plaintext.
	TLS    *tls.Config
	Logger *slog.Logger // nil discards
}

// creds returns the transport credentials for cfg: TLS or plaintext.
func (cfg *Config) creds() credentials.TransportCredentials {
	if cfg.TLS == nil {
		return insecure.NewCredentials()
	}
	return credentials.NewTLS(cfg.TLS)
}

// Client is a connection to a storage node. Its methods are safe for concurrent use.
type Client struct {
	conn   *grpc.ClientConn
	rpc    storagepb.StorageServiceClient
	secret string
	log    *slog.Logger
	bufs   sync.Pool    // *[]byte of chunkSize
	trk    *trackerMode // non-nil in tracker mode (tracker.go)
}

// New connects to cfg.Storage and waits up to cfg.DialTimeout for the connection: plaintext
// gRPC, or TLS with cfg.TLS. A TLS client facing a plaintext storage (or the reverse) fails
// here, with ErrUnavailable.
func New(cfg Config) (*Client, error) {
	if cfg.Storage == "" {
		if len(cfg.Trackers) > 0 {
			return newTrackerClient(cfg)
		}
		return nil, fmt.Errorf("depot client: %w: Config.Storage is empty", ErrInvalid)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	conn, err := grpc.NewClient(cfg.Storage, grpc.WithTransportCredentials(cfg.creds()), keepaliveOption())
	if err != nil {
		return nil, fmt.Errorf("depot client: storage %q: %w: %w", cfg.Storage, ErrInvalid, err)
	}
	timeout := cfg.DialTimeout
	if timeout <= 0 {
		timeout = DefaultDialTimeout
	}
	if err := waitReady(conn, timeout); err != nil {
		err = dialFailure(conn, cfg.TLS != nil, err)
		conn.Close()
		return nil, fmt.Errorf("depot client: connect to storage %s: %w: %w", cfg.Storage, ErrUnavailable, err)
	}
	c := &Client{conn: conn, rpc: storagepb.NewStorageServiceClient(conn), secret: cfg.Secret, log: log}
	c.bufs.New = func() any { b := make([]byte, chunkSize); return &b }
	log.Debug("connected", "storage", cfg.Storage)
	return c, nil
}

// waitReady connects conn and waits until it is ready; it fails at the first failed
// connection attempt or when timeout passes.
func waitReady(conn *grpc.ClientConn, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	conn.Connect()
	for {
		s := conn.GetState()
		if s == connectivity.Ready {
			return nil
		}
		if s == connectivity.Shutdown {
			return fmt.Errorf("connection shut down")
		}
		if s == connectivity.TransientFailure {
			return fmt.Errorf("connection failed")
		}
		if !conn.WaitForStateChange(ctx, s) {
			return fmt.Errorf("no connection after %v (state %v)", timeout, s)
		}
	}
}

// dialFailure adds to err, from waitReady, the last connection error gRPC kept (which a call
// made while the connection is down returns), with a hint when it looks like a TLS mismatch:
// a plaintext client of a TLS port sees the server hang up during the HTTP/2 preface (or
// while it still writes it: broken pipe).
func dialFailure(conn *grpc.ClientConn, useTLS bool, err error) error {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	last := conn.Invoke(ctx, "/depot.client/Probe", &emptypb.Empty{}, &emptypb.Empty{})
	if last == nil {
		return err
	}
	msg := status.Convert(last).Message()
	switch {
	case useTLS && strings.Contains(msg, "first record does not look like a TLS handshake"):
		return fmt.Errorf("%w: %s (the node does not serve TLS: drop Config.TLS, or set tls_cert_file on the node)", err, msg)
	case !useTLS && (strings.Contains(msg, "preface") || strings.Contains(msg, "EOF") || strings.Contains(msg, "reset by peer") || strings.Contains(msg, "broken pipe")):
		return fmt.Errorf("%w: %s (if the node serves gRPC over TLS, tls_cert_file, connect with TLS: Config.TLS, or tls_ca_file in client.conf)", err, msg)
	}
	return fmt.Errorf("%w: %s", err, msg)
}

// Close closes the connection; calls in flight fail.
func (c *Client) Close() error {
	if c.trk != nil {
		return c.trk.close()
	}
	return c.conn.Close()
}
