// Package httpd is a storage node's HTTP download module: it serves FastDFS file-ID URLs
// ("/group1/M00/00/00/<name>" or "/M00/00/00/<name>") straight from the node's store paths,
// with the anti-steal token check, conditional requests, byte ranges and zero-copy sends.
//
// # Request flow
//
// ServeHTTP runs one fixed sequence, each step a small function:
//
//  1. method (GET, HEAD; else 405) and URI length (8 KiB; else 414);
//  2. app-decided downloads, when Config.XAccel.Prefix is set and the path starts with it
//     (xaccel.go): the request goes to the app (XAccel.Upstream + path + query, the client's
//     end-to-end headers, X-Real-IP, X-Forwarded-For). An answer with X-Accel-Redirect naming
//     a file URL of this node is served from step 6 on for that path, with no token or auth
//     check (the app decided): the client's Range and conditionals apply, the app's
//     Content-Type, Content-Disposition, X-Accel-Limit-Rate and X-Depot-User go into the
//     grant (xaccelfile.go); a bad one is 502. Any other answer is passed through, streamed,
//     without hop-by-hop and X-Accel-* headers; a body that breaks off is cut on the client
//     too. A down app is 502, one slower than XAccel.Timeout 504;
//  3. the path: group segment (when Config.URLHaveGroupName), then the remote file name
//     ("M00/XX/YY/name"); a name shorter than 22 bytes is 400;
//  4. the credential, unless the bypass header matches: a query with sig= is a Depot signed
//     URL over the whole path (token.VerifyQuery), whose user, rate and file name go with the
//     request; any other query is an md5 token over the remote name (token.Verify), or 400
//     with TokenConfig.RefuseMD5. A failure serves the token_check_fail file with 200, or 400
//     without one. With the check off (or bypassed) a signed URL that verifies against a
//     configured secret still gives its user, rate and file name; one that does not is ignored;
//  5. delegated auth, when Config.AuthRequest.URL is set (authreq.go): a GET to the auth
//     service with X-Original-URI, X-Original-Method, X-Real-IP, X-Forwarded-For and the
//     client's Cookie and Authorization. 2xx goes on with X-Depot-User, X-Depot-Limit-Rate and
//     X-Depot-Filename in the request's grant; 401 and 403 go to the client (with the
//     service's WWW-Authenticate) before anything of the file is read; anything else, an
//     unreachable service or one slower than the timeout is 503. Answers may be kept for a
//     ttl per (Cookie, Authorization, URI) in a bounded cache (authcache.go), where
//     concurrent identical misses share one ask;
//  6. fileid.ParseRemote and the store path index (400 on failure);
//  7. the open: a normal file or trunk slice whose name says at most 16 KiB from the group's
//     disk.FileCache (a descriptor kept open), anything else with Store.Open; a miss goes to
//     notLocal (404, 400 loop guard, 302 or proxy);
//  8. the conditionals (If-Match, If-Unmodified-Since, If-None-Match, If-Modified-Since)
//     against the ETag (crc32 and size from a normal or trunk ID) and Last-Modified (the ID's
//     create time, or the mtime of slave and appender files);
//  9. Range / If-Range (or FLV ?start= / ?end= when Config.FLV), then the body.
//
// # Zero copy
//
// A whole file, a single range or an FLV slice is sent with the *os.File the store opened for
// this request only: Seek to the start, Content-Length set, Flush, then io.CopyN(w, f, n)
// straight into the http.ResponseWriter, which receives the *io.LimitedReader in ReadFrom.
// On the storage node's server (package fastsrv) a body of at most CopyBelow bytes (16 KiB) is
// read behind the header and both leave in one write(2); a larger one follows the header with
// sendfile(2). On net/http, ReadFrom hands it to the TCP connection, which uses sendfile(2)
// for any size. Nothing may wrap the ResponseWriter, the file or the connection on that path,
// which is why the status and byte count for the access log are returned by the serving
// functions instead of being captured by a wrapper. TestSendfile proves both sides of the
// threshold under strace; TestDownloadAllocs bounds the allocations of a 4 KiB download.
//
// Over HTTPS (fastsrv with Config.TLS) the same calls reach fastsrv's TLS path, which copies
// the body through its pooled buffer into crypto/tls: no sendfile, no extra allocation.
//
// A small file from the FileCache is shared between requests: it goes as an *io.SectionReader
// (pread at its own offset, no Seek), which fastsrv copies behind the header like a small
// *os.File body.
//
// # Access log
//
// With Config.AccessLog set, ServeHTTP records one line per request in Config.AccessLogFormat
// (nginx's log_format syntax, compiled once by package logformat; logline.go fills the
// variables), queued to a goroutine that writes whole lines and never holds up a download
// (accesslog.go). A format with $depot_bytes_acked or $request_completion makes the
// acknowledgement watch of account.go run without accounting too, and the line of a watched
// body is written once the client acknowledged it (or stopped); other lines at handler return.
//
// # Live settings
//
// ResponseMode, Token, the rate limits and DownloadReferers may change while the Handler
// serves (Handler.SetLive, live.go): they sit behind one atomically swapped pointer that
// ServeHTTP loads once per request into the request's grant, so a request runs to its end
// under the settings it started with and a download costs no allocation for it. Everything
// else in Config is fixed at New.
//
// # Not here
//
// A file of a configured group that is missing locally, whose source (from the ID) is another
// node and which is younger than SyncFileMaxDelay, and any file of a group this node does not
// serve, is either redirected (302 to the source with redirect=1 appended; https when the
// request came over TLS, keepScheme) or proxied through a pooled keep-alive client (trusting
// Config.ProxyTLS for https sources). Anything else is 404.
package httpd
