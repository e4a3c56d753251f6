// Package metrics exposes a node's counters in the Prometheus text format. It is the only
// importer of github.com/prometheus/client_golang and github.com/prometheus/common: the
// storage and tracker packages describe their metrics with Desc and hand samples to an
// Emitter, and never see a Prometheus type.
//
// # Design
//
// A node makes one Registry (never the library's global default registry, so two nodes in
// one process, such as "storage -dev" and its embedded tracker, or the nodes of a test
// cluster, each expose only their own numbers) and registers Collectors on it. A Collector
// reads, at scrape time, counters the node keeps anyway (atomic totals, a snapshot taken
// under a lock held briefly): nothing is added to a request path beyond the atomic add that
// keeps the total, and a scrape costs the node only the reads. Counters are exposed as
// Prometheus counters (monotonic since the node started), levels as gauges.
//
// The Registry also carries the Go runtime and process collectors (go_*, process_*).
//
// ParseText reads the text format back, for tests and tools.
package metrics
