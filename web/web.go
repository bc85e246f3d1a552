package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed assets
var embedded embed.FS

// contentSecurityPolicy lets the page load and call only its own origin:
// no CDN, no external font, no inline script or style. Posts are untrusted
// text; the scripts only ever put them into text nodes, and this policy is
// the second line of defence.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// file is one embedded asset, ready to serve.
type file struct {
	body        []byte
	etag        string
	contentType string
}

// Dashboard serves the dashboard: the page at "/" and its files under
// "/assets/". Mount it on exactly those two patterns.
type Dashboard struct {
	files map[string]file // by URL path
}

// New reads the embedded assets. It fails only if the binary was built
// without them.
func New() (*Dashboard, error) {
	d := &Dashboard{files: map[string]file{}}
	err := fs.WalkDir(embedded, "assets", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := embedded.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ct := mime.TypeByExtension(path.Ext(p))
		switch path.Ext(p) {
		case ".js":
			// Module scripts need a JavaScript type; some systems' mime
			// tables say text/plain.
			ct = "text/javascript; charset=utf-8"
		case ".svg":
			ct = "image/svg+xml"
		}
		if ct == "" {
			ct = "application/octet-stream"
		}
		d.files["/"+p] = file{body: b, etag: `"` + hex.EncodeToString(sum[:8]) + `"`, contentType: ct}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("web: embedded assets: %w", err)
	}
	if _, ok := d.files["/assets/index.html"]; !ok {
		return nil, fmt.Errorf("web: embedded assets lack index.html")
	}
	return d, nil
}

// ServeHTTP answers GET and HEAD for "/" and "/assets/...". The files are
// not content-hashed, so browsers revalidate them (ETag, 304) on each load:
// an upgraded binary never runs with stale scripts.
func (d *Dashboard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := r.URL.Path
	if p == "/" {
		p = "/assets/index.html"
	}
	f, ok := d.files[p]
	if !ok || !strings.HasPrefix(p, "/assets/") {
		http.Error(w, "no such dashboard file", http.StatusNotFound)
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.contentType)
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", f.etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
}
