package storage

import (
	"strconv"

	"github.com/depotfs/depot/internal/metrics"
)

// nodeMetrics is the storage node's metrics.Collector: every value is read at scrape time
// from totals the node's parts keep (httpd.Handler.Counters, fastsrv.Server.Bodies and
// SendTimeouts, storagesvc.Service.Uploads, the replica receiver's peer reports, the store's
// disk usage, the reporter's joins, the accountant's Stats). docs/operations.md lists them.
type nodeMetrics struct {
	s *Server

	responses, bodyBytes, bodies, tokenFailures     *metrics.Desc
	redirects, proxied, proxyErrors, sendTimeouts   *metrics.Desc
	droppedLogLines, uploads, uploadBytes, stalled  *metrics.Desc
	lagFiles, lagBytes, syncedTS                    *metrics.Desc
	diskFree, diskTotal, pathReadOnly, trackerJoin  *metrics.Desc
	acctResponses, acctAcked, acctCompleted, acctIn *metrics.Desc
	acctDropped                                     *metrics.Desc
}

func newNodeMetrics(s *Server) *nodeMetrics {
	c, g := metrics.Counter, metrics.Gauge
	d := metrics.NewDesc
	return &nodeMetrics{
		s:               s,
		responses:       d("depot_storage_http_responses_total", "HTTP responses of the download server by status code.", c, "code"),
		bodyBytes:       d("depot_storage_http_response_bytes_total", "HTTP response body bytes written to connections (proxied bodies included).", c),
		bodies:          d("depot_storage_http_file_bodies_total", "File bodies sent by the download server: copy = read behind the header into one send (at most 16 KiB), sendfile = sendfile(2).", c, "mode"),
		tokenFailures:   d("depot_storage_http_token_failures_total", "Requests refused by the anti-steal check (missing, bad or expired token or signed URL; md5 token while refused), token_check_fail answers included.", c),
		redirects:       d("depot_storage_http_redirects_total", "Requests for a file not here answered with a 302 to its source node (response_mode = redirect).", c),
		proxied:         d("depot_storage_http_proxied_total", "Requests for a file not here fetched from its source node (response_mode = proxy).", c),
		proxyErrors:     d("depot_storage_http_proxy_errors_total", "Proxied requests the source node did not answer (502, 504).", c),
		sendTimeouts:    d("depot_storage_http_send_timeouts_total", "Download connections closed because the client took no bytes for network_timeout.", c),
		droppedLogLines: d("depot_storage_access_log_dropped_lines_total", "Access-log lines dropped because the log writer lagged.", c),
		uploads:         d("depot_storage_uploads_total", "Upload calls: ok = a file stored, error = the call failed.", c, "result"),
		uploadBytes:     d("depot_storage_upload_bytes_total", "Bytes of the files stored by uploads.", c),
		stalled:         d("depot_storage_grpc_stalled_streams_total", "gRPC client streams ended because the client sent nothing for network_timeout.", c),
		lagFiles:        d("depot_storage_replication_lag_files", "Files a peer of the group has yet to replicate to this node, as the peer last reported.", g, "peer"),
		lagBytes:        d("depot_storage_replication_lag_bytes", "Binlog bytes a peer of the group has yet to replicate to this node, as the peer last reported.", g, "peer"),
		syncedTS:        d("depot_storage_replication_synced_timestamp_seconds", "Unix time up to which a peer's changes are replicated to this node.", g, "peer"),
		diskFree:        d("depot_storage_disk_free_bytes", "Free bytes of a store path's file system (for unprivileged users).", g, "store_path", "dir"),
		diskTotal:       d("depot_storage_disk_total_bytes", "Size of a store path's file system in bytes.", g, "store_path", "dir"),
		pathReadOnly:    d("depot_storage_store_path_read_only", "1 when a store path takes no new files (store_pathN_readonly, or it refused writes at start).", g, "store_path", "dir"),
		trackerJoin:     d("depot_storage_tracker_joined", "1 while the node is joined to a tracker_server (its last join or heartbeat there succeeded).", g, "tracker"),
		acctResponses:   d("depot_storage_accounting_responses_total", "Responses with a body reported to the download accounting.", c),
		acctAcked:       d("depot_storage_accounting_acked_bytes_total", "File bytes the clients acknowledged.", c),
		acctCompleted:   d("depot_storage_accounting_completed_total", "Downloads the accounting saw completed.", c),
		acctIn:          d("depot_storage_accounting_entries", "User-file pairs the accounting holds.", g),
		acctDropped:     d("depot_storage_accounting_dropped_total", "Accounting deliveries (what = delivery) or callback events (what = event) dropped because a queue was full.", c, "what"),
	}
}

func (m *nodeMetrics) Describe() []*metrics.Desc {
	return []*metrics.Desc{
		m.responses, m.bodyBytes, m.bodies, m.tokenFailures, m.redirects, m.proxied, m.proxyErrors,
		m.sendTimeouts, m.droppedLogLines, m.uploads, m.uploadBytes, m.stalled, m.lagFiles,
		m.lagBytes, m.syncedTS, m.diskFree, m.diskTotal, m.pathReadOnly, m.trackerJoin,
		m.acctResponses, m.acctAcked, m.acctCompleted, m.acctIn, m.acctDropped,
	}
}

func (m *nodeMetrics) Collect(e metrics.Emitter) {
	m.collectHTTP(e)
	s := m.s
	up := s.svc.Uploads()
	e.Emit(m.uploads, float64(up.Stored), "ok")
	e.Emit(m.uploads, float64(up.Failed), "error")
	e.Emit(m.uploadBytes, float64(up.Bytes))
	e.Emit(m.stalled, float64(s.stalledStreams.Load()))
	if s.repl != nil {
		for _, p := range s.repl.recv.Reports() {
			e.Emit(m.lagFiles, float64(p.LagFiles), p.Peer)
			e.Emit(m.lagBytes, float64(p.LagBytes), p.Peer)
			e.Emit(m.syncedTS, float64(p.SyncedTS), p.Peer)
		}
	}
	usage, err := s.store.Usage()
	if err != nil {
		s.log.Warn("metrics: disk usage", "err", err)
	}
	for i, u := range usage {
		idx := strconv.Itoa(i)
		e.Emit(m.diskFree, float64(u.Free), idx, u.Dir)
		e.Emit(m.diskTotal, float64(u.Total), idx, u.Dir)
		e.Emit(m.pathReadOnly, bool01(u.ReadOnly), idx, u.Dir)
	}
	if r := s.reporter; r != nil {
		joined := s.TrackerKeys()
		for _, t := range r.trackers {
			_, ok := joined[t]
			e.Emit(m.trackerJoin, bool01(ok), t)
		}
	}
	if a := s.ctl.acct; a != nil {
		st := a.Stats()
		e.Emit(m.acctResponses, float64(st.Responses))
		e.Emit(m.acctAcked, float64(st.BytesAcked))
		e.Emit(m.acctCompleted, float64(st.Completed))
		e.Emit(m.acctIn, float64(st.Entries))
		e.Emit(m.acctDropped, float64(st.DroppedRecord), "delivery")
		e.Emit(m.acctDropped, float64(st.DroppedEvents), "event")
	}
}

// collectHTTP emits the download server's families.
func (m *nodeMetrics) collectHTTP(e metrics.Emitter) {
	s := m.s
	hc := s.handler.Counters()
	for code, n := range hc.Responses {
		label := strconv.Itoa(code)
		if code == 0 {
			label = "other"
		}
		e.Emit(m.responses, float64(n), label)
	}
	e.Emit(m.bodyBytes, float64(hc.BodyBytes))
	b := s.httpSrv.Bodies()
	e.Emit(m.bodies, float64(b.Copied), "copy")
	e.Emit(m.bodies, float64(b.Sendfile), "sendfile")
	e.Emit(m.tokenFailures, float64(hc.TokenFailures))
	e.Emit(m.redirects, float64(hc.Redirects))
	e.Emit(m.proxied, float64(hc.Proxied))
	e.Emit(m.proxyErrors, float64(hc.ProxyErrors))
	e.Emit(m.sendTimeouts, float64(s.httpSrv.SendTimeouts()))
	e.Emit(m.droppedLogLines, float64(hc.DroppedLogLines))
}

func bool01(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
