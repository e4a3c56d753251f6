package conf

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Client is client.conf, read by command-line tools and the Go SDK.
type Client struct {
	Path string

	ConnectTimeout                time.Duration
	NetworkTimeout                time.Duration
	BasePath                      string
	TrackerServers                []string
	LogLevel                      string
	ConnectFirstBy                string // "tracker" or "last-connected"
	UseConnectionPool             bool
	ConnectionPoolMaxIdleTime     time.Duration
	LoadFDFSParametersFromTracker bool
	UseStorageID                  bool
	StorageIDsFilename            string
	TrackerHTTPPort               int    // http.tracker_server_port (legacy; read for compatibility)
	StorageServer                 string // storage_server (Depot): a storage's host:port, for use without a tracker
	// Only CheckToken and SecretKey are read from client.conf.
	AntiSteal AntiSteal
	// TLSEnabled (tls_enabled, Depot) makes the client speak TLS to trackers and storages;
	// TLSCAFile (tls_ca_file) names the CAs it trusts ("" = the system's roots) and turns
	// TLS on by itself.
	TLSEnabled bool
	TLSCAFile  string
}

// UseTLS reports whether the client connects with TLS.
func (c *Client) UseTLS() bool { return c.TLSEnabled || c.TLSCAFile != "" }

// DefaultClient returns the values used for keys absent from client.conf.
func DefaultClient() Client {
	return Client{
		ConnectTimeout:            10 * time.Second,
		NetworkTimeout:            30 * time.Second,
		LogLevel:                  "info",
		ConnectFirstBy:            "tracker",
		ConnectionPoolMaxIdleTime: 3600 * time.Second,
		TrackerHTTPPort:           80,
		AntiSteal:                 DefaultHTTP().AntiSteal,
	}
}

// LoadClient reads client.conf at path.
func LoadClient(path string, log *slog.Logger) (*Client, error) {
	d, err := readDoc(path)
	if err != nil {
		return nil, err
	}
	b := newBinder(d, log)
	c := DefaultClient()
	c.Path = d.path
	b.seconds("connect_timeout", &c.ConnectTimeout)
	b.seconds("network_timeout", &c.NetworkTimeout)
	b.str("base_path", &c.BasePath)
	b.addrs("tracker_server", &c.TrackerServers)
	b.str("log_level", &c.LogLevel)
	b.str("connect_first_by", &c.ConnectFirstBy)
	b.boolean("use_connection_pool", &c.UseConnectionPool)
	b.seconds("connection_pool_max_idle_time", &c.ConnectionPoolMaxIdleTime)
	b.boolean("load_fdfs_parameters_from_tracker", &c.LoadFDFSParametersFromTracker)
	b.boolean("use_storage_id", &c.UseStorageID)
	b.str("storage_ids_filename", &c.StorageIDsFilename)
	b.integer("http.tracker_server_port", &c.TrackerHTTPPort)
	if e, ok := b.value("storage_server"); ok {
		if err := CheckHostPort(e.Value); err != nil {
			b.fail(e, err)
		}
		c.StorageServer = e.Value
	}
	b.boolean("http.anti_steal.check_token", &c.AntiSteal.CheckToken)
	b.str("http.anti_steal.secret_key", &c.AntiSteal.SecretKey)
	b.boolean("tls_enabled", &c.TLSEnabled)
	b.str("tls_ca_file", &c.TLSCAFile)
	b.ignore("storage_sync_file_max_delay", "http.anti_steal.token_ttl")
	if err := b.finish(); err != nil {
		return nil, err
	}
	c.BasePath = resolvePath(d.dir(), c.BasePath)
	c.StorageIDsFilename = resolvePath(d.dir(), c.StorageIDsFilename)
	c.TLSCAFile = resolvePath(d.dir(), c.TLSCAFile)
	if err := c.Validate(); err != nil {
		return nil, locate(err, d)
	}
	return &c, nil
}

// Validate checks c. It does not touch the file system.
func (c *Client) Validate() error {
	var errs []error
	if c.AntiSteal.CheckToken && c.AntiSteal.SecretKey == "" {
		errs = append(errs, keyErr("http.anti_steal.secret_key",
			fmt.Errorf("needed with http.anti_steal.check_token: %w", ErrRequired)))
	}
	for _, t := range c.TrackerServers {
		if err := CheckHostPort(t); err != nil {
			errs = append(errs, keyErr("tracker_server", err))
		}
	}
	if c.StorageServer != "" {
		if err := CheckHostPort(c.StorageServer); err != nil {
			errs = append(errs, keyErr("storage_server", err))
		}
	}
	if c.UseStorageID && !c.LoadFDFSParametersFromTracker && c.StorageIDsFilename == "" {
		errs = append(errs, keyErr("storage_ids_filename", fmt.Errorf("needed with use_storage_id: %w", ErrRequired)))
	}
	if c.ConnectFirstBy != "tracker" && c.ConnectFirstBy != "last-connected" {
		errs = append(errs, keyErr("connect_first_by", invalid("value (want tracker or last-connected)", c.ConnectFirstBy)))
	}
	if err := checkLogLevel("log_level", c.LogLevel); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
