// Package clustertest runs a Depot cluster as real processes: the tracker and storage
// binaries are built, given FastDFS-format config files and started on 127.0.0.x, and
// killed and restarted under a running client. It has tests only; `go test -short` skips
// them.
//
// The fault scenarios (faults_test.go) run each node in its own network namespace, joined
// by veth pairs to a bridge in the test's namespace (netns_test.go): a storage cut off its
// group and healed, the leader tracker cut off, a rolling restart of every node, and a
// store path filled for real (a tmpfs). A client loop runs through each, and in the end
// every acknowledged file must download with its bytes from every storage of its group
// over gRPC and HTTP. They need root (ip netns, mount) and iproute2, and skip with a
// message otherwise; DEPOT_FULL=1 makes them longer.
package clustertest
