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
// Errors wrap the package's sentinels (ErrNotFound, ErrInvalid, ...): test them with errors.Is.
// Tracker mode (Config.Trackers: ask a tracker which storage to use) is reserved for a
// later version.
package client
