package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/downsignal/downsignal/webhook"
)

// Webhooks manages webhook endpoints and their deliveries (package
// webhook's Dispatcher).
type Webhooks interface {
	Create(ctx context.Context, s webhook.Spec) (webhook.Endpoint, error)
	Endpoints() ([]webhook.Endpoint, error)
	Endpoint(id string) (webhook.Endpoint, error)
	Update(ctx context.Context, id string, s webhook.Spec) (webhook.Endpoint, error)
	Delete(id string) error
	Rotate(id, secret string, grace time.Duration) (webhook.Endpoint, error)
	SendTest(id string) (webhook.Delivery, error)
	Deliveries(endpointID, status string, limit int) ([]webhook.Delivery, error)
	Redeliver(endpointID, deliveryID string) (webhook.Delivery, error)
	ReplayFailed(endpointID string, since time.Time) (int, error)
}

// webhookRoutes adds endpoint management; every route needs the admin token.
func (s *Server) webhookRoutes() []route {
	if s.o.Webhooks == nil {
		return nil
	}
	return []route{
		{pattern: "POST /v1/webhooks", h: s.requireToken(s.createWebhook)},
		{pattern: "GET /v1/webhooks", h: s.requireToken(s.listWebhooks)},
		{pattern: "GET /v1/webhooks/{id}", h: s.requireToken(s.getWebhook)},
		{pattern: "PATCH /v1/webhooks/{id}", h: s.requireToken(s.updateWebhook)},
		{pattern: "DELETE /v1/webhooks/{id}", h: s.requireToken(s.deleteWebhook)},
		{pattern: "GET /v1/webhooks/{id}/secret", h: s.requireToken(s.webhookSecret)},
		{pattern: "POST /v1/webhooks/{id}/rotate-secret", h: s.requireToken(s.rotateWebhook)},
		{pattern: "POST /v1/webhooks/{id}/test", h: s.requireToken(s.testWebhook)},
		{pattern: "GET /v1/webhooks/{id}/deliveries", h: s.requireToken(s.webhookDeliveries)},
		{pattern: "POST /v1/webhooks/{id}/deliveries/{delivery}/redeliver", h: s.requireToken(s.redeliver)},
		{pattern: "POST /v1/webhooks/{id}/replay", h: s.requireToken(s.replayWebhook)},
	}
}

// endpointView is an endpoint as the API shows it: secrets only where
// asked for (creation, rotation, GET .../secret).
type endpointView struct {
	webhook.Endpoint
	Secrets any    `json:"secrets,omitempty"` // hides the stored secrets
	Secret  string `json:"secret,omitempty"`
}

func view(ep webhook.Endpoint, withSecret bool) endpointView {
	v := endpointView{Endpoint: ep}
	if withSecret {
		v.Secret = ep.CurrentSecret()
	}
	return v
}

func (s *Server) webhookError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, webhook.ErrInvalid):
		writeError(w, http.StatusBadRequest, truncate(err.Error(), 300))
	case errors.Is(err, webhook.ErrNotFound):
		writeError(w, http.StatusNotFound, "no such webhook endpoint or delivery")
	default:
		s.fail(w, r, err)
	}
}

// canonicalServices maps the filter's names to catalog names; false (after
// a 400) when one is unknown.
func (s *Server) canonicalServices(w http.ResponseWriter, spec *webhook.Spec) bool {
	if spec.Services == nil {
		return true
	}
	out := make([]string, 0, len(*spec.Services))
	for _, name := range *spec.Services {
		svc, err := canonicalService(s.o.Catalog, name)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return false
		}
		out = append(out, svc)
	}
	spec.Services = &out
	return true
}

func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request) {
	var spec webhook.Spec
	if !decodeBody(w, r, &spec) || !s.canonicalServices(w, &spec) {
		return
	}
	ep, err := s.o.Webhooks.Create(r.Context(), spec)
	if err != nil {
		s.webhookError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, view(ep, true))
}

type webhooksResponse struct {
	Webhooks []endpointView `json:"webhooks"`
}

func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request) {
	if _, err := newParams(r.URL, s.o.Now()); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	eps, err := s.o.Webhooks.Endpoints()
	if err != nil {
		s.webhookError(w, r, err)
		return
	}
	out := webhooksResponse{Webhooks: []endpointView{}}
	for _, ep := range eps {
		out.Webhooks = append(out.Webhooks, view(ep, false))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getWebhook(w http.ResponseWriter, r *http.Request) {
	ep, err := s.o.Webhooks.Endpoint(r.PathValue("id"))
	if err != nil {
		s.webhookError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, view(ep, false))
}

func (s *Server) webhookSecret(w http.ResponseWriter, r *http.Request) {
	ep, err := s.o.Webhooks.Endpoint(r.PathValue("id"))
	if err != nil {
		s.webhookError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"secret": ep.CurrentSecret()})
}

func (s *Server) updateWebhook(w http.ResponseWriter, r *http.Request) {
	var spec webhook.Spec
	if !decodeBody(w, r, &spec) || !s.canonicalServices(w, &spec) {
		return
	}
	ep, err := s.o.Webhooks.Update(r.Context(), r.PathValue("id"), spec)
	if err != nil {
		s.webhookError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, view(ep, false))
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request) {
	if err := s.o.Webhooks.Delete(r.PathValue("id")); err != nil {
		s.webhookError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// rotateRequest: the old secret keeps signing for grace (default 24h).
type rotateRequest struct {
	Grace  string `json:"grace"`
	Secret string `json:"secret"`
}

func (s *Server) rotateWebhook(w http.ResponseWriter, r *http.Request) {
	req := rotateRequest{}
	if r.ContentLength != 0 && !decodeBody(w, r, &req) {
		return
	}
	grace := 24 * time.Hour
	if req.Grace != "" {
		d, err := time.ParseDuration(req.Grace)
		if err != nil {
			writeError(w, http.StatusBadRequest, "grace: want a duration like 24h")
			return
		}
		grace = d
	}
	ep, err := s.o.Webhooks.Rotate(r.PathValue("id"), req.Secret, grace)
	if err != nil {
		s.webhookError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, view(ep, true))
}

func (s *Server) testWebhook(w http.ResponseWriter, r *http.Request) {
	del, err := s.o.Webhooks.SendTest(r.PathValue("id"))
	if err != nil {
		s.webhookError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, del)
}

type deliveriesResponse struct {
	Deliveries []webhook.Delivery `json:"deliveries"`
}

// webhookDeliveries: GET /v1/webhooks/{id}/deliveries?status=&limit=
func (s *Server) webhookDeliveries(w http.ResponseWriter, r *http.Request) {
	p, err := newParams(r.URL, s.o.Now(), "status", "limit")
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	status := p.str("status")
	switch status {
	case "", webhook.StatusPending, webhook.StatusDelivered, webhook.StatusFailed, webhook.StatusSuperseded:
	default:
		writeError(w, http.StatusBadRequest, "status="+quote(status)+": want pending, delivered, failed or superseded")
		return
	}
	limit, err := p.int("limit", 50, 1, 500)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	dels, err := s.o.Webhooks.Deliveries(r.PathValue("id"), status, limit)
	if err != nil {
		s.webhookError(w, r, err)
		return
	}
	if dels == nil {
		dels = []webhook.Delivery{}
	}
	writeJSON(w, http.StatusOK, deliveriesResponse{Deliveries: dels})
}

func (s *Server) redeliver(w http.ResponseWriter, r *http.Request) {
	del, err := s.o.Webhooks.Redeliver(r.PathValue("id"), r.PathValue("delivery"))
	if err != nil {
		s.webhookError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, del)
}

type replayRequest struct {
	Since time.Time `json:"since"`
}

func (s *Server) replayWebhook(w http.ResponseWriter, r *http.Request) {
	var req replayRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if req.Since.IsZero() {
		writeError(w, http.StatusBadRequest, "since is required (RFC 3339)")
		return
	}
	n, err := s.o.Webhooks.ReplayFailed(r.PathValue("id"), req.Since)
	if err != nil {
		s.webhookError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]int{"requeued": n})
}
