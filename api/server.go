package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/downsignal/downsignal/classify"
	"github.com/downsignal/downsignal/index"
)

// Searcher answers search and trend queries (package index).
type Searcher interface {
	Search(ctx context.Context, r index.SearchRequest) (*index.SearchResult, error)
	Trend(r index.TrendRequest) ([]index.Point, error)
}

// Catalog resolves a service name, ID or alias to the catalog's entry.
type Catalog interface {
	Lookup(nameOrAlias string) (classify.Service, bool)
}

// Options configures the server.
type Options struct {
	Addr string
	// Searcher serves /v1; nil leaves only the operational endpoints (the
	// ingest and classify processes).
	Searcher Searcher
	Catalog  Catalog
	// Gatherer serves /metrics.
	Gatherer prometheus.Gatherer
	// Ready reports whether the process can serve its purpose (broker
	// reachable, index open); /readyz answers 503 with the error otherwise.
	Ready  func(ctx context.Context) error
	Logger *slog.Logger
	// Now is the clock for relative times; nil means time.Now.
	Now func() time.Time
	// Alerts serves /v1/incidents and /v1/silences; nil leaves them out.
	Alerts Alerts
	// Webhooks serves /v1/webhooks; nil leaves it out.
	Webhooks Webhooks
	// AdminToken is the bearer token of the administrative endpoints
	// (webhooks, creating and deleting silences); empty turns them off.
	AdminToken string
	// Dashboard, when set, serves the web dashboard: its page at "/" and
	// its files under "/assets/" (package web).
	Dashboard http.Handler
}

// Server is the HTTP server.
type Server struct {
	o    Options
	log  *slog.Logger
	srv  *http.Server
	ln   net.Listener
	reqs atomic.Uint64
}

// New validates the options and builds the routes. Listen binds the port.
func New(o Options) (*Server, error) {
	if o.Searcher != nil && o.Catalog == nil {
		return nil, errors.New("api: a searcher needs a catalog")
	}
	if o.Addr == "" {
		return nil, errors.New("api: empty listen address")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Gatherer == nil {
		o.Gatherer = prometheus.NewRegistry()
	}
	s := &Server{o: o, log: o.Logger}
	mux := http.NewServeMux()
	if o.Searcher != nil {
		mux.HandleFunc("GET /v1/search", s.search)
		mux.HandleFunc("GET /v1/trends", s.trends)
	}
	s.alertRoutes(mux)
	s.webhookRoutes(mux)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(o.Gatherer, promhttp.HandlerOpts{}))
	if o.Dashboard != nil {
		mux.Handle("GET /{$}", o.Dashboard)
		mux.Handle("GET /assets/", o.Dashboard)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint: "+r.Method+" "+r.URL.Path)
	})
	s.srv = &http.Server{
		Handler:           s.middleware(mux),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	return s, nil
}

// Listen binds the listen address. Tests use port 0 and read Addr.
func (s *Server) Listen() error {
	ln, err := net.Listen("tcp", s.o.Addr)
	if err != nil {
		return fmt.Errorf("api: listen %s: %w", s.o.Addr, err)
	}
	s.ln = ln
	return nil
}

// Addr returns the bound address (after Listen).
func (s *Server) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Run serves until ctx ends, then shuts down gracefully.
func (s *Server) Run(ctx context.Context) error {
	if s.ln == nil {
		if err := s.Listen(); err != nil {
			return err
		}
	}
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(s.ln) }()
	s.log.Info("api listening", "addr", s.Addr())
	select {
	case err := <-errc:
		return fmt.Errorf("api: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("api shutdown: %w", err)
	}
	return nil
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.o.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.o.Ready(ctx); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready", "error": err.Error()})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// middleware adds a request id, an access log line and panic recovery.
func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if id == "" || len(id) > 64 {
			id = strconv.FormatUint(s.reqs.Add(1), 36) + "-" + strconv.FormatInt(time.Now().UnixNano()%1e6, 36)
		}
		w.Header().Set("X-Request-Id", id)
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		start := time.Now()
		defer func() {
			if p := recover(); p != nil {
				s.log.Error("handler panic", "request_id", id, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				if !rec.wrote {
					writeError(rec, http.StatusInternalServerError, "internal error")
				}
			}
			s.log.Debug("http request", "request_id", id, "method", r.Method, "path", r.URL.Path,
				"status", rec.status, "duration_ms", time.Since(start).Milliseconds())
		}()
		next.ServeHTTP(rec, r)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.ResponseWriter.Write(b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
