package api

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/downsignal/downsignal/index"
	"github.com/downsignal/downsignal/labels"
)

// Labels stores analysts' corrections of the classifier (package labels).
type Labels interface {
	Put(ctx context.Context, l labels.Label) error
	Get(uris []string) (map[string]labels.Correction, error)
	WriteExport(w io.Writer) (int, error)
}

// labelBody is the body of POST /v1/posts/{at-uri}/label.
type labelBody struct {
	Outage   *bool    `json:"outage"`
	Services []string `json:"services"`
}

// postAction: POST /v1/posts/{at-uri}/label, the only action on a post:
// an admin's correction of the classifier. The post must be in the index;
// its text is stored with the correction, so the correction outlives it.
func (s *Server) postAction(w http.ResponseWriter, r *http.Request) {
	rest := r.PathValue("rest")
	raw, ok := strings.CutSuffix(rest, "/label")
	if !ok {
		writeError(w, http.StatusNotFound, "no such action: POST /v1/posts/{at-uri}/label is the one action on a post")
		return
	}
	uri, ok := postURI(raw)
	if !ok {
		writeError(w, http.StatusBadRequest, "want /v1/posts/{at-uri}/label, the at-URI percent-encoded (at%3A%2F%2Fdid%3Aplc%3A...)")
		return
	}
	var body labelBody
	if !decodeBody(w, r, &body) {
		return
	}
	if body.Outage == nil {
		writeError(w, http.StatusBadRequest, `body: "outage" (true or false) is required`)
		return
	}
	if len(body.Services) > labels.MaxServices {
		writeError(w, http.StatusBadRequest, "body: at most 16 services")
		return
	}
	var services []string
	for _, name := range body.Services {
		canon, err := canonicalService(s.o.Catalog, name)
		if err != nil {
			writeError(w, http.StatusBadRequest, "body: "+err.Error())
			return
		}
		services = append(services, canon)
	}
	h, err := s.o.Searcher.Get(r.Context(), uri)
	if errors.Is(err, index.ErrNotFound) {
		writeError(w, http.StatusNotFound, "no post "+quote(uri)+" in the index (never seen, deleted, or past retention)")
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	l := labels.Label{
		URI:        uri,
		Correction: labels.Correction{Outage: *body.Outage, Services: services, At: s.o.Now().UTC().Truncate(time.Second)},
		Post: labels.Post{Author: h.Author, Text: h.Text, Langs: h.Langs, Time: h.Time, CreatedAt: h.CreatedAt,
			Outage: h.Outage, Score: h.Score},
	}
	if err := s.o.Labels.Put(r.Context(), l); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, l)
}

// labelsExport: GET /v1/labels, every correction in the corpus format that
// `go run ./classify/cmd/train -labels FILE` reads, one JSON line each.
func (s *Server) labelsExport(w http.ResponseWriter, r *http.Request) {
	if _, err := newParams(r.URL, s.o.Now()); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	if _, err := s.o.Labels.WriteExport(w); err != nil {
		// Headers are out: the client sees a short body, and the log says why.
		s.log.Error("labels export", "err", err)
	}
}

// withLabels adds the analysts' corrections to hits.
func (s *Server) withLabels(hits []index.Hit) error {
	if s.o.Labels == nil || len(hits) == 0 {
		return nil
	}
	uris := make([]string, len(hits))
	for i := range hits {
		uris[i] = hits[i].URI
	}
	got, err := s.o.Labels.Get(uris)
	if err != nil {
		return err
	}
	for i := range hits {
		if c, ok := got[hits[i].URI]; ok {
			hits[i].Label = &c
		}
	}
	return nil
}

// postURI reads the at-URI of a post path, which clients and path
// cleaning easily mangle to "at:/".
func postURI(raw string) (string, bool) {
	uri := raw
	if !strings.HasPrefix(uri, "at://") {
		if rest, ok := strings.CutPrefix(uri, "at:/"); ok {
			uri = "at://" + rest
		}
	}
	return uri, strings.HasPrefix(uri, "at://") && len(uri) <= 512
}
