// Package admin serves a node's admin port and its gRPC health: the operator's view of a
// storage or tracker node (docs/operations.md).
//
// On the admin listener (plain HTTP/1.1, net/http: not the download server):
//
//	/metrics  the node's Prometheus metrics (package metrics)
//	/healthz  200 "ok" while the process serves HTTP at all (liveness)
//	/readyz   200 "ready" when the node's readiness check passes, else 503 with the reason
//	          as plain text
//	/...      anything else goes to Config.Page when set: the tracker's cluster page
//	          (package clusterpage)
//
// The standard gRPC health service (grpc.health.v1.Health) is registered on the node's own
// gRPC server; its overall status (service "") is SERVING while the readiness check passes
// and NOT_SERVING otherwise, followed every Config.Poll and on each /readyz, and NOT_SERVING
// from Close on.
//
// # Readiness
//
// The check is the node's (Config.Ready). One runs at a time: callers that come while one
// is running share its answer, and a check that does not return within Config.Timeout (a
// hung disk) reads as not ready without another being started beside it.
package admin
