package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/downsignal/downsignal/detect"
)

// Alerts serves incidents and silences (package alert's Engine).
type Alerts interface {
	Incidents(f detect.Filter) []detect.Incident
	Incident(id string) (detect.Incident, bool)
	IncidentAt(id string, at time.Time) (detect.Incident, bool, error)
	AddSilence(s detect.Silence, now time.Time) (detect.Silence, error)
	Silences() []detect.Silence
	DeleteSilence(id string) (bool, error)
}

// alertRoutes adds the incident and silence endpoints when the process
// runs the detector.
func (s *Server) alertRoutes() []route {
	if s.o.Alerts == nil {
		return nil
	}
	return []route{
		get("/v1/incidents", s.incidents),
		get("/v1/incidents/{id}", s.incident),
		get("/v1/silences", s.silences),
		{pattern: "POST /v1/silences", h: s.requireToken(s.createSilence)},
		{pattern: "DELETE /v1/silences/{id}", h: s.requireToken(s.deleteSilence)},
	}
}

type incidentsResponse struct {
	Incidents []detect.Incident `json:"incidents"`
}

// incidents: GET /v1/incidents?state=&service=&since=&until=&at=&limit=
func (s *Server) incidents(w http.ResponseWriter, r *http.Request) {
	p, err := newParams(r.URL, s.o.Now(), "state", "service", "since", "until", "at", "limit")
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	var f detect.Filter
	if st := p.str("state"); st != "" {
		if !detect.ValidState(st) {
			writeError(w, http.StatusBadRequest, "state="+quote(st)+": want pending, firing or resolved")
			return
		}
		f.State = detect.State(st)
	}
	if f.Service, err = p.service("service", s.o.Catalog); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if f.Since, err = p.time("since"); err == nil {
		if f.Until, err = p.time("until"); err == nil {
			if f.At, err = p.time("at"); err == nil {
				f.Limit, err = p.int("limit", 50, 1, 500)
			}
		}
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	list := s.o.Alerts.Incidents(f)
	if list == nil {
		list = []detect.Incident{}
	}
	writeJSON(w, http.StatusOK, incidentsResponse{Incidents: list})
}

// incident: GET /v1/incidents/{id}?at=, with its timeline, samples, codes
// and regions; with at, as it was then.
func (s *Server) incident(w http.ResponseWriter, r *http.Request) {
	p, err := newParams(r.URL, s.o.Now(), "at")
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	at, err := p.time("at")
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	id := r.PathValue("id")
	var in detect.Incident
	var ok bool
	if at.IsZero() {
		in, ok = s.o.Alerts.Incident(id)
	} else if in, ok, err = s.o.Alerts.IncidentAt(id, at); err != nil {
		s.fail(w, r, err)
		return
	}
	if !ok && !at.IsZero() {
		if _, exists := s.o.Alerts.Incident(id); exists {
			writeError(w, http.StatusNotFound, "incident "+quote(id)+" had not begun at "+at.UTC().Format(time.RFC3339))
			return
		}
	}
	if !ok {
		writeError(w, http.StatusNotFound, "no incident "+quote(id))
		return
	}
	writeJSON(w, http.StatusOK, in)
}

type silencesResponse struct {
	Silences []detect.Silence `json:"silences"`
}

func (s *Server) silences(w http.ResponseWriter, r *http.Request) {
	if _, err := newParams(r.URL, s.o.Now()); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, silencesResponse{Silences: s.o.Alerts.Silences()})
}

// silenceRequest is the body of POST /v1/silences. Without starts_at the
// silence starts now; give ends_at or a duration ("2h").
type silenceRequest struct {
	Service  string    `json:"service"`
	StartsAt time.Time `json:"starts_at"`
	EndsAt   time.Time `json:"ends_at"`
	Duration string    `json:"duration"`
	Comment  string    `json:"comment"`
}

func (s *Server) createSilence(w http.ResponseWriter, r *http.Request) {
	var req silenceRequest
	if !decodeBody(w, r, &req) {
		return
	}
	svc, err := canonicalService(s.o.Catalog, req.Service)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	now := s.o.Now().UTC()
	if req.StartsAt.IsZero() {
		req.StartsAt = now
	}
	if req.Duration != "" {
		d, err := time.ParseDuration(req.Duration)
		if err != nil || d <= 0 || !req.EndsAt.IsZero() {
			writeError(w, http.StatusBadRequest, "duration: want a positive duration like 2h, and no ends_at with it")
			return
		}
		req.EndsAt = req.StartsAt.Add(d)
	}
	sil, err := s.o.Alerts.AddSilence(detect.Silence{Service: svc, StartsAt: req.StartsAt, EndsAt: req.EndsAt, Comment: req.Comment}, now)
	if errors.Is(err, detect.ErrBadSilence) {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, sil)
}

func (s *Server) deleteSilence(w http.ResponseWriter, r *http.Request) {
	ok, err := s.o.Alerts.DeleteSilence(r.PathValue("id"))
	switch {
	case err != nil:
		s.fail(w, r, err)
	case !ok:
		writeError(w, http.StatusNotFound, "no silence "+quote(r.PathValue("id")))
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

// maxBody bounds a JSON request body.
const maxBody = 64 << 10

// decodeBody reads one strict JSON object (unknown fields refused) or
// answers itself: 413 naming the limit for a body over maxBody, else 400.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	tooLarge := func() bool {
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{
			"error": fmt.Sprintf("body: larger than %d bytes, the limit of a request body", maxBody), "limit": "max_body_bytes"})
		return false
	}
	if r.ContentLength > maxBody {
		return tooLarge()
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
		return tooLarge()
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "body: "+truncate(err.Error(), 200))
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "body: "+truncate(err.Error(), 200))
		return false
	}
	if dec.More() {
		writeError(w, http.StatusBadRequest, "body: one JSON object expected")
		return false
	}
	return true
}

// requireToken guards administrative endpoints, reads included (webhook
// endpoints and their secrets), with the admin bearer token.
func (s *Server) requireToken(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if checkToken(w, r, s.o.AdminToken) {
			h(w, r)
		}
	}
}
