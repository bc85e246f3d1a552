package api

import (
	"net/http"
	"net/http/pprof"
	"net/url"
	"strings"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// route is one pattern the server answers. The routes are one list, so
// the OpenAPI test can hold the document and the server to each other.
type route struct {
	// pattern is the method and path as http.ServeMux takes them.
	pattern string
	h       http.Handler
	// doc is the path as the OpenAPI document names it, when it differs
	// from the pattern's ("/v1/posts/{uri}/label" for "{rest...}").
	doc string
	// internal routes (profiles, the dashboard's files) are not API and
	// are left out of the OpenAPI document.
	internal bool
}

func get(path string, h http.HandlerFunc) route { return route{pattern: "GET " + path, h: h} }

// routes lists every route the options enable.
func (s *Server) routes() []route {
	o := s.o
	var rs []route
	if o.Searcher != nil {
		rs = append(rs,
			get("/v1/search", s.search),
			get("/v1/search/export", s.export),
			route{pattern: "GET /v1/posts/{uri...}", h: http.HandlerFunc(s.post), doc: "/v1/posts/{uri}"})
		if o.Labels != nil {
			rs = append(rs,
				route{pattern: "POST /v1/posts/{rest...}", h: http.HandlerFunc(s.postAction), doc: "/v1/posts/{uri}/label"},
				get("/v1/labels", s.labelsExport))
		}
		rs = append(rs,
			get("/v1/trends", s.trends),
			get("/v1/trends/top", s.trendsTop),
			get("/v1/codes/top", s.codesTop),
			get("/v1/services", s.services))
	}
	rs = append(rs, s.alertRoutes()...)
	rs = append(rs, s.webhookRoutes()...)
	if o.Status != nil {
		rs = append(rs, get("/v1/status", s.status))
	}
	rs = append(rs,
		get("/v1/openapi.json", serveOpenAPI),
		get("/healthz", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		}),
		get("/readyz", s.readyz),
		route{pattern: "GET /metrics", h: promhttp.HandlerFor(o.Gatherer, promhttp.HandlerOpts{})})
	if o.Pprof {
		for _, p := range []struct {
			path string
			h    http.HandlerFunc
		}{{"/debug/pprof/", pprof.Index}, {"/debug/pprof/cmdline", pprof.Cmdline}, {"/debug/pprof/profile", pprof.Profile},
			{"/debug/pprof/symbol", pprof.Symbol}, {"/debug/pprof/trace", pprof.Trace}} {
			rs = append(rs, route{pattern: "GET " + p.path, h: p.h, internal: true})
		}
	}
	if o.Dashboard != nil {
		rs = append(rs, route{pattern: "GET /{$}", h: o.Dashboard, internal: true},
			route{pattern: "GET /assets/", h: o.Dashboard, internal: true})
	}
	return rs
}

// probeMethods are the methods tried to fill Allow on a 405.
var probeMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// dispatch answers what no route takes before the admin token is asked
// for: 404 for a path no route has, 405 with Allow for a method the path
// does not take (OPTIONS: 204 with Allow). It also lets an at-URI be
// written raw after /v1/posts/, as analysts paste it.
func dispatch(mux *http.ServeMux, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rawPostURI(r)
		if _, pattern := mux.Handler(r); pattern != "" {
			next.ServeHTTP(w, r)
			return
		}
		var allow []string
		for _, m := range probeMethods {
			if _, p := mux.Handler(&http.Request{Method: m, URL: r.URL, Host: r.Host}); p != "" {
				allow = append(allow, m)
			}
		}
		switch {
		case len(allow) == 0:
			writeError(w, http.StatusNotFound, "no such endpoint: "+truncate(r.Method, 16)+" "+truncate(r.URL.Path, 128)+" (GET /v1/openapi.json lists them)")
		case r.Method == http.MethodOptions:
			w.Header().Set("Allow", strings.Join(append(allow, http.MethodOptions), ", "))
			w.WriteHeader(http.StatusNoContent)
		default:
			w.Header().Set("Allow", strings.Join(allow, ", "))
			writeError(w, http.StatusMethodNotAllowed, truncate(r.URL.Path, 128)+" takes "+strings.Join(allow, ", ")+", not "+truncate(r.Method, 16))
		}
	})
}

// rawPostURI keeps an at-URI written raw in the path ("/v1/posts/at://did:plc:...")
// from being cleaned into a redirect to "at:/did:plc:...": the mux cleans
// the escaped path, so the at-URI is escaped whole.
func rawPostURI(r *http.Request) {
	const prefix = "/v1/posts/"
	rest, ok := strings.CutPrefix(r.URL.Path, prefix)
	if ok && strings.Contains(r.URL.EscapedPath(), "//") {
		r.URL.RawPath = prefix + url.PathEscape(rest)
	}
}
