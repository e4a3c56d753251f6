package client

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials/insecure"

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
	Logger      *slog.Logger // nil discards
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

// New connects to cfg.Storage and waits up to cfg.DialTimeout for the connection.
// The connection is plaintext gRPC.
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
	conn, err := grpc.NewClient(cfg.Storage, grpc.WithTransportCredentials(insecure.NewCredentials()), keepaliveOption())
	if err != nil {
		return nil, fmt.Errorf("depot client: storage %q: %w: %w", cfg.Storage, ErrInvalid, err)
	}
	timeout := cfg.DialTimeout
	if timeout <= 0 {
		timeout = DefaultDialTimeout
	}
	if err := waitReady(conn, timeout); err != nil {
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

// Close closes the connection; calls in flight fail.
func (c *Client) Close() error {
	if c.trk != nil {
		return c.trk.close()
	}
	return c.conn.Close()
}
