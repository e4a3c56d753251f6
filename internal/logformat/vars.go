package logformat

import "strings"

// Var names what an Op writes.
type Var uint8

// The variables. Their values are nginx's, as documented in docs/logs.md; a value that is
// absent is written as "-".
const (
	Literal           Var = iota // Op.Arg as it is
	RemoteAddr                   // $remote_addr: the client's address
	RemotePort                   // $remote_port
	RemoteUser                   // $remote_user: the user of HTTP Basic credentials
	TimeLocal                    // $time_local: 02/Jan/2006:15:04:05 -0700
	TimeISO8601                  // $time_iso8601: 2006-01-02T15:04:05-07:00
	Msec                         // $msec: Unix time in seconds with milliseconds
	Request                      // $request: method, request target and protocol
	RequestMethod                // $request_method
	RequestURI                   // $request_uri: the request target as sent, with its query
	URI                          // $uri, $document_uri: the decoded path
	Args                         // $args, $query_string: the query as sent
	ServerProtocol               // $server_protocol: HTTP/1.1
	Status                       // $status
	BodyBytesSent                // $body_bytes_sent
	BytesSent                    // $bytes_sent: header and body
	RequestTime                  // $request_time: seconds with milliseconds
	RequestCompletion            // $request_completion: "OK" when the response went out in full, else ""
	Connection                   // $connection: the connection's serial number
	HTTP                         // $http_<name>: a request header; Op.Arg is its name
	SentHTTP                     // $sent_http_<name>: a response header; Op.Arg is its name
	DepotUser                    // $depot_user: the user the request's grant names
	DepotBytesAcked              // $depot_bytes_acked: body bytes the client's TCP stack acknowledged
	numVars
)

// Format.uses is a 64-bit set of Vars.
var _ [64 - numVars]struct{}

// names maps each plain variable name to its Var; several names may share one.
var names = map[string]Var{
	"remote_addr":        RemoteAddr,
	"remote_port":        RemotePort,
	"remote_user":        RemoteUser,
	"time_local":         TimeLocal,
	"time_iso8601":       TimeISO8601,
	"msec":               Msec,
	"request":            Request,
	"request_method":     RequestMethod,
	"request_uri":        RequestURI,
	"uri":                URI,
	"document_uri":       URI,
	"args":               Args,
	"query_string":       Args,
	"server_protocol":    ServerProtocol,
	"status":             Status,
	"body_bytes_sent":    BodyBytesSent,
	"bytes_sent":         BytesSent,
	"request_time":       RequestTime,
	"request_completion": RequestCompletion,
	"connection":         Connection,
	"depot_user":         DepotUser,
	"depot_bytes_acked":  DepotBytesAcked,
}

// Header-variable prefixes: the rest of the name is the header's, '_' standing for '-'.
const (
	httpPrefix     = "http_"
	sentHTTPPrefix = "sent_http_"
)

// lookup returns the op of a variable name.
func lookup(name string) (Op, bool) {
	name = strings.ToLower(name)
	if v, ok := names[name]; ok {
		return Op{Var: v}, true
	}
	for _, p := range [...]struct {
		prefix string
		v      Var
	}{{sentHTTPPrefix, SentHTTP}, {httpPrefix, HTTP}} {
		if h, ok := strings.CutPrefix(name, p.prefix); ok && strings.Trim(h, "_") != "" {
			return Op{Var: p.v, Arg: headerName(h)}, true
		}
	}
	return Op{}, false
}

// headerName turns the lower-case rest of an $http_ name ("x_forwarded_for") into a
// canonical header name ("X-Forwarded-For").
func headerName(s string) string {
	b := []byte(s)
	upper := true
	for i, c := range b {
		switch {
		case c == '_':
			b[i], upper = '-', true
			continue
		case upper && 'a' <= c && c <= 'z':
			b[i] = c - 'a' + 'A'
		}
		upper = false
	}
	return string(b)
}

// name returns the variable name of a non-literal op, lower case.
func (op Op) name() string {
	switch op.Var {
	case HTTP:
		return httpPrefix + strings.ReplaceAll(strings.ToLower(op.Arg), "-", "_")
	case SentHTTP:
		return sentHTTPPrefix + strings.ReplaceAll(strings.ToLower(op.Arg), "-", "_")
	}
	for n, v := range names {
		if v == op.Var && (v != URI || n == "uri") && (v != Args || n == "args") {
			return n
		}
	}
	return ""
}
