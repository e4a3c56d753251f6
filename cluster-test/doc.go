// Package clustertest runs a Depot cluster as real processes: the tracker and storage
// binaries are built, given FastDFS-format config files and started on 127.0.0.x, and
// killed and restarted under a running client. It has tests only; `go test -short` skips
// them.
package clustertest
