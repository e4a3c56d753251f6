// Package client is Depot's Go SDK: upload, download, delete and describe files on a Depot
// storage node over gRPC, and sign download URLs for the anti-steal token check.
//
// A Client talks to one storage node (Config.Storage, "host:port" of its gRPC listener).
// File IDs are full FastDFS-compatible IDs, "group1/M00/00/00/wKgBaGVT8QCAEjRWAAAACw1KEYU123.jpg";
// they can be served over HTTP as base + "/" + fileID. Transfers stream in 256 KiB chunks,
// so any file size runs in constant memory.
//
//	c, err := client.New(client.Config{Storage: "10.0.0.5:23000", Secret: "FastDFS1234567890"})
//	if err != nil {
//		return err
//	}
//	defer c.Close()
//	id, err := c.Upload(ctx, f, client.UploadOptions{Ext: "jpg"})
//	if err != nil {
//		return err
//	}
//	url := c.SignedURL("https://img.example.com", id, time.Now())
//
// SignedURL makes FastDFS md5 token URLs; SignedURLWith makes Depot's own signed URLs
// (HMAC-SHA256 with an expiry, and optionally a user, a rate and a download file name), the
// only kind a storage with http.anti_steal.refuse_md5_token accepts.
//
// Errors wrap the package's sentinels (ErrNotFound, ErrInvalid, ...): test them with errors.Is.
//
// In tracker mode (Config.Trackers, no Config.Storage, as with tracker_server in client.conf)
// every call asks a tracker which storage to use: uploads go where the tracker places them,
// downloads to any storage allowed to serve the file. Calls fail over across trackers and
// storages, and a retried upload never stores a file twice (see Config.Trackers).
//
//	c, err := client.New(client.Config{Trackers: []string{"10.0.0.2:22122", "10.0.0.3:22122"}})
//
// With Config.TLS every connection is gRPC over TLS (nodes with tls_cert_file): the config's
// RootCAs are the CAs that signed the nodes' certificates, which must name the nodes'
// addresses (trackers hand out storages by IP). A client whose scheme does not match the
// node's fails in New with an error that says so.
//
//	pool := x509.NewCertPool()
//	pool.AppendCertsFromPEM(caPEM)
//	c, err := client.New(client.Config{Trackers: trackers, TLS: &tls.Config{RootCAs: pool}})
package client
