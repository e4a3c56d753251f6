package httpd

import "net/http"

// routeWriter records the status and body size of a route's answer for the access log.
type routeWriter struct {
	http.ResponseWriter
	status int
	n      int64
}

func (w *routeWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *routeWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.n += int64(n)
	return n, err
}

// serveRoute runs one of Config.Routes and returns what the access log needs.
func serveRoute(rh http.Handler, w http.ResponseWriter, r *http.Request) (int, int64) {
	rw := &routeWriter{ResponseWriter: w}
	rh.ServeHTTP(rw, r)
	if rw.status == 0 {
		rw.status = http.StatusOK
	}
	return rw.status, rw.n
}
