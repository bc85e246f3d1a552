package api

import (
	"context"
	"net/http"
	"time"

	"github.com/downsignal/downsignal/index"
)

// trendResponse is the body of GET /v1/trends.
type trendResponse struct {
	Service string        `json:"service"`
	Code    string        `json:"code,omitempty"`
	Region  string        `json:"region,omitempty"`
	Step    string        `json:"step"`
	Since   time.Time     `json:"since"`
	Until   time.Time     `json:"until"`
	Points  []index.Point `json:"points"`
	// Series is "all" when no service, code or region narrows it: the
	// whole stream's volume, whose drops show ingest trouble.
	Series string `json:"series"`
}

var steps = map[string]time.Duration{
	"1m": time.Minute, "5m": 5 * time.Minute, "15m": 15 * time.Minute, "1h": time.Hour, "1d": 24 * time.Hour,
}

// trends: GET /v1/trends?service=&code=&region=&since=&until=&step=
func (s *Server) trends(w http.ResponseWriter, r *http.Request) {
	now := s.o.Now().UTC()
	p, err := newParams(r.URL, now, "service", "code", "region", "since", "until", "step")
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	req := index.TrendRequest{Code: p.str("code"), Region: p.str("region")}
	if req.Service, err = p.service("service", s.o.Catalog); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	stepName, err := p.oneOf("step", "1m", "1m", "5m", "15m", "1h", "1d")
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	req.Step = steps[stepName]
	if req.Until, err = p.time("until"); err == nil {
		req.Since, err = p.time("since")
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if req.Until.IsZero() {
		req.Until = now.Truncate(time.Minute).Add(time.Minute)
	}
	if req.Since.IsZero() {
		req.Since = req.Until.Add(-60 * req.Step)
	}
	req.Exclude = s.spans().Of(req.Service)
	points, err := s.o.Searcher.Trend(req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	series := "filtered"
	if req.Service == "" && req.Code == "" && req.Region == "" {
		series = "all"
	}
	writeJSON(w, http.StatusOK, trendResponse{Service: req.Service, Code: req.Code, Region: req.Region, Step: stepName,
		Since: req.Since, Until: req.Until, Points: points, Series: series})
}

// topResponse is the body of GET /v1/trends/top and /v1/codes/top.
type topResponse struct {
	Window   string         `json:"window"`
	At       time.Time      `json:"at"`
	Services []index.Rising `json:"services,omitzero"` // [] when none, absent on /v1/codes/top
	Codes    []index.Rising `json:"codes,omitzero"`    // [] when none, absent on /v1/trends/top
}

func (s *Server) topRequest(r *http.Request, def string) (index.TopRequest, string, error) {
	now := s.o.Now().UTC()
	p, err := newParams(r.URL, now, "window", "limit", "at")
	if err != nil {
		return index.TopRequest{}, "", err
	}
	win := p.str("window")
	if win == "" {
		win = def
	}
	d, err := time.ParseDuration(win)
	if err != nil || d < time.Minute || d > index.MaxTopWindow || d%time.Minute != 0 {
		return index.TopRequest{}, "", badParam("window=%s: want whole minutes from 1m to 24h, like 15m or 1h", quote(win))
	}
	req := index.TopRequest{Window: d, At: now, Exclude: s.spans()}
	if at, err := p.time("at"); err != nil {
		return req, "", err
	} else if !at.IsZero() {
		req.At = at
	}
	req.Limit, err = p.int("limit", 20, 1, 500)
	return req, win, err
}

// trendsTop: GET /v1/trends/top?window=15m
func (s *Server) trendsTop(w http.ResponseWriter, r *http.Request) {
	req, win, err := s.topRequest(r, "15m")
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	top, err := s.o.Searcher.TopServices(req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, topResponse{Window: win, At: req.At, Services: nonNil(top)})
}

// codesTop: GET /v1/codes/top?window=1h
func (s *Server) codesTop(w http.ResponseWriter, r *http.Request) {
	req, win, err := s.topRequest(r, "1h")
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	top, err := s.o.Searcher.TopCodes(req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, topResponse{Window: win, At: req.At, Codes: nonNil(top)})
}

// spans reads the detector's incident spans for a service's baseline, or
// is nil without a detector.
func (s *Server) spans() index.SpansFunc {
	if s.o.Spans == nil {
		return nil
	}
	return s.o.Spans.BaselineSpans
}

func nonNil(r []index.Rising) []index.Rising {
	if r == nil {
		return []index.Rising{}
	}
	return r
}

// serviceState is one entry of GET /v1/services.
type serviceState struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	Parent     string   `json:"parent,omitempty"`
	Category   string   `json:"category,omitempty"`
	StatusPage string   `json:"status_page,omitempty"`
	Aliases    []string `json:"aliases,omitempty"`
	// State is normal or elevated (outage posts in the last 15 minutes
	// far above the baseline), or the alerting engine's incident state
	// (pending, firing) when it has one.
	State    string `json:"state"`
	Incident string `json:"incident,omitempty"`
	Posts    int    `json:"posts"`
	Authors  int    `json:"authors"`
	Mentions int    `json:"mentions"`
	// Expected is null, and Learning true, while the service has less
	// than an hour of history: its level would be a guess.
	Expected *float64 `json:"expected"`
	Learning bool     `json:"learning"`
	Anomaly  float64  `json:"anomaly"`
}

// services: GET /v1/services
func (s *Server) services(w http.ResponseWriter, r *http.Request) {
	now := s.o.Now().UTC()
	p, err := newParams(r.URL, now, "at")
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	at, err := p.time("at")
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	levelsAt := now
	if !at.IsZero() {
		levelsAt = at
	}
	levels := s.o.Searcher.ServiceLevels(levelsAt, s.spans())
	var incidents map[string]string
	if s.o.Incidents != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		incidents = s.o.Incidents.IncidentStates(ctx, at)
		cancel()
	}
	out := []serviceState{}
	for _, svc := range s.o.Catalog.Services() {
		st := serviceState{ID: svc.ID, Name: svc.Name, Parent: svc.Parent, Category: svc.Category,
			StatusPage: svc.StatusPage, Aliases: svc.Aliases, State: "normal"}
		if lv, ok := levels[svc.Name]; ok {
			st.State, st.Posts, st.Authors, st.Mentions, st.Expected, st.Learning, st.Anomaly =
				lv.State, lv.Posts, lv.Authors, lv.Mentions, lv.Expected, lv.Learning, lv.Anomaly
		}
		if inc := incidents[svc.Name]; inc != "" {
			st.Incident, st.State = inc, inc
		}
		out = append(out, st)
	}
	writeJSON(w, http.StatusOK, map[string]any{"at": levelsAt, "services": out})
}
