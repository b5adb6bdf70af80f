// Package web is Parley's browser client: small ES modules, styles and
// vendored libraries (Preact and htm), embedded in the binary and served
// by every node at /. There is no build step: the files under static/ are
// what the browser runs.
package web

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed static
var files embed.FS

// Static returns the client's files, index.html at the root.
func Static() fs.FS {
	sub, err := fs.Sub(files, "static")
	if err != nil {
		panic(err) // the embedded tree always has static/
	}
	return sub
}

// Handler serves the client. Module and style files are revalidated on
// every load (they are small and change with the binary); any path that
// is not a file gets index.html, so a reload of a deep link works.
func Handler() http.Handler {
	static := Static()
	fsrv := http.FileServerFS(static)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		p := strings.TrimPrefix(r.URL.Path, "/")
		if p != "" {
			if st, err := fs.Stat(static, p); err != nil || st.IsDir() {
				r = r.Clone(r.Context())
				r.URL.Path = "/"
			}
		}
		if strings.HasSuffix(r.URL.Path, ".mjs") {
			w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		}
		fsrv.ServeHTTP(w, r)
	})
}
