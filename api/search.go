package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/downsignal/downsignal/index"
)

// search: GET /v1/search?q=&service=&code=&since=&until=&limit=&cursor=
func (s *Server) search(w http.ResponseWriter, r *http.Request) {
	p, err := newParams(r.URL, s.o.Now(), "q", "service", "code", "since", "until", "limit", "cursor")
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	req := index.SearchRequest{Query: p.str("q"), Code: p.str("code"), Cursor: p.str("cursor")}
	if name := p.str("service"); name != "" {
		svc, ok := s.o.Catalog.Lookup(name)
		if !ok {
			writeError(w, http.StatusBadRequest, "unknown service "+quote(name))
			return
		}
		req.Service = svc.Name
	}
	if req.Since, err = p.time("since"); err == nil {
		if req.Until, err = p.time("until"); err == nil {
			req.Limit, err = p.int("limit", index.DefaultLimit, 1, index.MaxLimit)
		}
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	res, err := s.o.Searcher.Search(r.Context(), req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// trendResponse is the body of GET /v1/trends.
type trendResponse struct {
	Service string        `json:"service"`
	Step    string        `json:"step"`
	Since   time.Time     `json:"since"`
	Until   time.Time     `json:"until"`
	Points  []index.Point `json:"points"`
}

var steps = map[string]time.Duration{
	"1m": time.Minute, "5m": 5 * time.Minute, "15m": 15 * time.Minute, "1h": time.Hour, "1d": 24 * time.Hour,
}

// trends: GET /v1/trends?service=&since=&until=&step=
func (s *Server) trends(w http.ResponseWriter, r *http.Request) {
	now := s.o.Now().UTC()
	p, err := newParams(r.URL, now, "service", "since", "until", "step")
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	name := p.str("service")
	if name == "" {
		writeError(w, http.StatusBadRequest, "service is required")
		return
	}
	svc, ok := s.o.Catalog.Lookup(name)
	if !ok {
		writeError(w, http.StatusNotFound, "unknown service "+quote(name))
		return
	}
	stepName := p.str("step")
	if stepName == "" {
		stepName = "1m"
	}
	step, ok := steps[stepName]
	if !ok {
		writeError(w, http.StatusBadRequest, "step="+quote(stepName)+": want 1m, 5m, 15m, 1h or 1d")
		return
	}
	until, err := p.time("until")
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if until.IsZero() {
		until = now.Truncate(time.Minute).Add(time.Minute)
	}
	since, err := p.time("since")
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if since.IsZero() {
		since = until.Add(-60 * step)
	}
	points, err := s.o.Searcher.Trend(index.TrendRequest{Service: svc.Name, Since: since, Until: until, Step: step})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, trendResponse{Service: svc.Name, Step: stepName, Since: since, Until: until, Points: points})
}

// fail answers an error from the index: the caller's mistakes are 400s,
// a cancelled request is dropped quietly, anything else is a logged 500.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, index.ErrBadRequest):
		writeError(w, http.StatusBadRequest, err.Error())
	case r.Context().Err() != nil:
		writeError(w, http.StatusServiceUnavailable, "request cancelled")
	default:
		s.log.Error("request failed", "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, "internal error")
	}
}

func quote(s string) string { return `"` + truncate(s, 64) + `"` }
