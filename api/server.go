package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/downsignal/downsignal/health"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/downsignal/downsignal/baseline"
	"github.com/downsignal/downsignal/catalog"
	"github.com/downsignal/downsignal/index"
)

// Searcher answers the read API (package index).
type Searcher interface {
	PostSearcher
	TrendReader
}

// PostSearcher finds posts.
type PostSearcher interface {
	Search(ctx context.Context, r index.SearchRequest) (*index.SearchResult, error)
	Get(ctx context.Context, uri string) (*index.Hit, error)
	Export(ctx context.Context, r index.ExportRequest, fn func(index.Hit) error) (int, error)
}

// TrendReader reads the per-minute counters.
type TrendReader interface {
	Trend(r index.TrendRequest) ([]index.Point, error)
	TopServices(r index.TopRequest) ([]index.Rising, error)
	TopCodes(r index.TopRequest) ([]index.Rising, error)
	ServiceLevels(at time.Time, exclude index.SpansFunc) map[string]index.ServiceLevel
}

// Catalog resolves a service name, ID or alias to the catalog's entry.
type Catalog interface {
	Lookup(nameOrAlias string) (catalog.Service, bool)
	Services() []catalog.Service
}

// IncidentStates reports the alerting engine's incident state per service
// name (pending, firing): of the incidents open now when at is zero, else
// of those pending or firing at that event time. Services it does not list
// have none.
type IncidentStates interface {
	IncidentStates(ctx context.Context, at time.Time) map[string]string
}

// BaselineSpans returns the minutes the detector keeps out of a service's
// baseline (its group's incidents), so the levels the API shows follow the
// detector's rule.
type BaselineSpans interface {
	BaselineSpans(service string) []baseline.Span
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
	// Labels serves POST /v1/posts/{at-uri}/label and GET /v1/labels, and
	// adds corrections to the posts search returns; nil leaves them out.
	Labels Labels

	// AdminToken authorizes state-changing requests (any method but GET,
	// HEAD and OPTIONS) with "Authorization: Bearer <token>"; empty
	// refuses them all. The read API is open.
	AdminToken string
	// RateLimit is requests per second allowed per client address
	// (default 50; negative: no limit), with bursts of RateBurst
	// (default 2 x RateLimit).
	RateLimit float64
	RateBurst int
	// CORSOrigins may call the API from a browser; default any ("*").
	CORSOrigins []string
	// Incidents adds incident states to /v1/services; optional.
	Incidents IncidentStates
	// Spans leaves each service's incidents out of the expected levels of
	// the trends and /v1/services; nil leaves out only what the baseline
	// trims.
	Spans BaselineSpans
	// Registerer takes the API's metrics; nil registers none.
	Registerer prometheus.Registerer
	// Dashboard, when set, serves the web dashboard: its page at "/" and
	// its files under "/assets/" (package web).
	Dashboard http.Handler
	// Status serves GET /v1/status: whether the stream of posts is whole
	// (package health). nil leaves it out.
	Status func(ctx context.Context) health.Status
	// Pprof serves Go's profiles under /debug/pprof/. They reveal
	// internals and cost CPU: only on a private address.
	Pprof bool
}

// Server is the HTTP server.
type Server struct {
	o       Options
	log     *slog.Logger
	srv     *http.Server
	ln      net.Listener
	reqs    atomic.Uint64
	limiter *clientLimiter
	metrics *metrics
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
	if o.RateLimit == 0 {
		o.RateLimit = 50
	}
	if o.RateBurst <= 0 {
		o.RateBurst = max(1, int(2*o.RateLimit))
	}
	if len(o.CORSOrigins) == 0 {
		o.CORSOrigins = []string{"*"}
	}
	s := &Server{o: o, log: o.Logger, limiter: newClientLimiter(o.RateLimit, o.RateBurst), metrics: newMetrics()}
	if o.Registerer != nil {
		if err := s.metrics.register(o.Registerer); err != nil {
			return nil, fmt.Errorf("api: metrics: %w", err)
		}
	}
	mux := http.NewServeMux()
	// Any method but GET/HEAD/OPTIONS needs the admin token (see
	// middleware), so state-changing routes added to routes are protected.
	for _, rt := range s.routes() {
		mux.Handle(rt.pattern, rt.h)
	}
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
	s.ln = jsonErrorListener{Listener: ln, maxHeaderBytes: s.srv.MaxHeaderBytes}
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
