package clusterpage

import (
	"embed"
	"encoding/json"
	"io/fs"
	"log/slog"
	"net/http"
)

//go:embed static
var static embed.FS

// Handler returns the page's handler (the paths in the package comment). view makes the
// document for one request; an error is served as 503 with its text. log may be nil.
func Handler(view func() (*View, error), log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	files, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", http.RedirectHandler("/cluster/", http.StatusFound))
	mux.Handle("GET /cluster/", http.StripPrefix("/cluster/", noCache(http.FileServerFS(files))))
	mux.HandleFunc("GET /cluster/state.json", func(w http.ResponseWriter, r *http.Request) {
		serveView(w, view, log)
	})
	return mux
}

func serveView(w http.ResponseWriter, view func() (*View, error), log *slog.Logger) {
	w.Header().Set("Cache-Control", "no-store")
	v, err := view()
	if err != nil {
		log.Warn("cluster page: no view", "err", err)
		http.Error(w, "cluster view: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "cluster view: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(append(b, '\n'))
}

// noCache makes browsers ask again for the page's files: a tracker upgraded in place
// serves its new page at once. (They are small and on a local network.)
func noCache(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		h.ServeHTTP(w, r)
	})
}
