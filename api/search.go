package api

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/downsignal/downsignal/index"
)

// filterParams are the search filters shared by search and export.
var filterParams = []string{"q", "service", "parent", "code", "family", "lang", "region", "since", "until", "min_score", "outage", "sort"}

// searchRequest reads the filters into a request.
func (s *Server) searchRequest(p *params) (index.SearchRequest, error) {
	req := index.SearchRequest{Query: p.str("q"), Code: p.str("code"), Family: p.str("family"), Lang: p.str("lang"), Region: p.str("region")}
	var err error
	if req.Service, err = p.service("service", s.o.Catalog); err != nil {
		return req, err
	}
	if req.Parent, err = p.service("parent", s.o.Catalog); err != nil {
		return req, err
	}
	if req.Since, err = p.time("since"); err != nil {
		return req, err
	}
	if req.Until, err = p.time("until"); err != nil {
		return req, err
	}
	if req.MinScore, err = p.float("min_score", 0, 1); err != nil {
		return req, err
	}
	outage, err := p.oneOf("outage", "all", "all", "only")
	if err != nil {
		return req, err
	}
	req.OutageOnly = outage == "only"
	if req.Sort, err = p.oneOf("sort", index.SortTime, index.SortTime, index.SortRelevance); err != nil {
		return req, err
	}
	return req, nil
}

// search: GET /v1/search
func (s *Server) search(w http.ResponseWriter, r *http.Request) {
	p, err := newParams(r.URL, s.o.Now(), append(filterParams, "highlight", "facets", "limit", "cursor")...)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	req, err := s.searchRequest(p)
	if err == nil {
		req.Cursor = p.str("cursor")
		if req.Highlight, err = p.bool("highlight"); err == nil {
			if req.Facets, err = p.bool("facets"); err == nil {
				req.Limit, err = p.int("limit", index.DefaultLimit, 1, 1<<20)
			}
		}
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	res, err := s.o.Searcher.Search(r.Context(), req)
	if err == nil {
		err = s.withLabels(res.Hits)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// post: GET /v1/posts/{at-uri}
func (s *Server) post(w http.ResponseWriter, r *http.Request) {
	uri, ok := postURI(r.PathValue("uri"))
	if !ok {
		writeError(w, http.StatusBadRequest, "want /v1/posts/{at-uri}, the at-URI percent-encoded (at%3A%2F%2Fdid%3Aplc%3A...)")
		return
	}
	h, err := s.o.Searcher.Get(r.Context(), uri)
	if errors.Is(err, index.ErrNotFound) {
		writeError(w, http.StatusNotFound, "no post "+quote(uri)+" in the index (never seen, deleted, or past retention)")
		return
	}
	if err == nil {
		hs := []index.Hit{*h}
		if err = s.withLabels(hs); err == nil {
			h = &hs[0]
		}
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, h)
}

// DefaultExport is how many posts an export returns without max.
const DefaultExport = 10_000

// exportWindow is how long an export may take to write the next page:
// the server's WriteTimeout would otherwise cut a long export off.
const exportWindow = time.Minute

// export: GET /v1/search/export?format=ndjson|csv&max=N|all plus the search
// filters; streams posts in the search's order. max=all (the admin token
// needed) exports every match; a capped export says what it left out in
// X-Export-Left-Out and in a last record.
func (s *Server) export(w http.ResponseWriter, r *http.Request) {
	p, err := newParams(r.URL, s.o.Now(), append(filterParams, "format", "max")...)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	req, err := s.searchRequest(p)
	var format string
	max := index.ExportAll
	if err == nil {
		if format, err = p.oneOf("format", "ndjson", "ndjson", "csv"); err == nil && p.str("max") != "all" {
			max, err = p.int("max", DefaultExport, 1, index.MaxExport)
			if err != nil {
				err = badParam("%v, or all (with the admin token) for every match", err)
			}
		}
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if max == index.ExportAll && !checkToken(w, r, s.o.AdminToken) {
		return
	}
	ew := &exportWriter{s: s, w: w, rc: http.NewResponseController(w), csv: format == "csv", max: max}
	n, err := s.o.Searcher.Export(r.Context(), index.ExportRequest{SearchRequest: req, Max: max, Begin: ew.begin}, ew.write)
	switch {
	case err != nil && !ew.started:
		s.fail(w, r, err)
	case err != nil:
		// Too late for a status: end the stream with a line that says so.
		s.log.Warn("export cut short", "rows", ew.n, "err", err)
		ew.cutShort(err)
	default:
		ew.finish(n)
	}
}

// exportWriter streams an export as NDJSON or CSV: the status and headers go
// out when the first page is read, so an error before it can still be a
// 400 or 500.
type exportWriter struct {
	s       *Server
	w       http.ResponseWriter
	rc      *http.ResponseController
	csv     bool
	cw      *csv.Writer
	enc     *json.Encoder
	started bool
	n       int
	max     int    // index.ExportAll for no cap
	matched uint64 // posts matching when the export began
}

func (e *exportWriter) begin(matched uint64) error {
	e.started, e.matched = true, matched
	name := "downsignal-export-" + e.s.o.Now().UTC().Format("20060102T150405Z")
	h := e.w.Header()
	if e.csv {
		h.Set("Content-Type", "text/csv; charset=utf-8")
		h.Set("Content-Disposition", `attachment; filename="`+name+`.csv"`)
	} else {
		h.Set("Content-Type", "application/x-ndjson")
		h.Set("Content-Disposition", `attachment; filename="`+name+`.ndjson"`)
	}
	h.Set("X-Export-Matched", strconv.FormatUint(matched, 10))
	if e.max == index.ExportAll {
		h.Set("X-Export-Max", "all")
	} else {
		h.Set("X-Export-Max", strconv.Itoa(e.max))
		if matched > uint64(e.max) {
			h.Set("X-Export-Left-Out", strconv.FormatUint(matched-uint64(e.max), 10))
		}
	}
	_ = e.rc.SetWriteDeadline(time.Now().Add(exportWindow))
	e.w.WriteHeader(http.StatusOK)
	if e.csv {
		e.cw = csv.NewWriter(e.w)
		return e.cw.Write(csvHeader)
	}
	e.enc = json.NewEncoder(e.w)
	e.enc.SetEscapeHTML(false)
	return nil
}

func (e *exportWriter) write(h index.Hit) error {
	var err error
	if e.csv {
		err = e.cw.Write(csvRow(h))
	} else {
		hs := []index.Hit{h}
		if err = e.s.withLabels(hs); err == nil {
			err = e.enc.Encode(hs[0])
		}
	}
	if err != nil {
		return err
	}
	if e.n++; e.n%500 == 0 {
		e.flush()
	}
	return nil
}

func (e *exportWriter) flush() {
	if e.cw != nil {
		e.cw.Flush()
	}
	_ = e.rc.Flush()
	_ = e.rc.SetWriteDeadline(time.Now().Add(exportWindow))
}

// exportTruncated is the last record of an export that max cut short.
type exportTruncated struct {
	Truncated bool   `json:"truncated"`
	Exported  int    `json:"exported"`
	Matched   uint64 `json:"matched"`
	LeftOut   uint64 `json:"left_out"`
	Max       int    `json:"max"`
}

// finish ends a complete export: one that max cut short ends with a record
// saying how many matching posts it left out (in CSV, a row whose uri is
// "#truncated" and whose text says it).
func (e *exportWriter) finish(n int) {
	if e.max != index.ExportAll && n == e.max && e.matched > uint64(n) {
		t := exportTruncated{Truncated: true, Exported: n, Matched: e.matched, LeftOut: e.matched - uint64(n), Max: e.max}
		if e.csv {
			row := make([]string, len(csvHeader))
			row[0] = "#truncated"
			row[len(row)-1] = fmt.Sprintf("exported %d of %d matching posts, %d left out: max=%d; narrow the search or raise max (up to %d, or all with the admin token)",
				n, t.Matched, t.LeftOut, e.max, index.MaxExport)
			_ = e.cw.Write(row)
		} else {
			_ = e.enc.Encode(t)
		}
	}
	e.flush()
}

// cutShort ends an export that failed after it started.
func (e *exportWriter) cutShort(err error) {
	if e.cw != nil {
		e.cw.Flush()
		return
	}
	writeJSONLine(e.w, map[string]string{"error": "export cut short: " + truncate(err.Error(), 200)})
}

var csvHeader = []string{"uri", "time", "created_at", "author", "outage", "score", "intent", "services", "error_codes", "regions", "langs", "text"}

func csvRow(h index.Hit) []string {
	var svcs, codes, regions []string
	for _, s := range h.Services {
		svcs = append(svcs, s.Name)
	}
	for _, c := range h.ErrorCodes {
		codes = append(codes, c.Code)
	}
	for _, g := range h.Regions {
		regions = append(regions, g.Name)
	}
	created := ""
	if !h.CreatedAt.IsZero() {
		created = h.CreatedAt.Format(time.RFC3339Nano)
	}
	return []string{h.URI, h.Time.Format(time.RFC3339Nano), created, h.Author, strconv.FormatBool(h.Outage),
		strconv.FormatFloat(h.Score, 'g', -1, 64), h.Intent, strings.Join(svcs, ";"), strings.Join(codes, ";"),
		strings.Join(regions, ";"), strings.Join(h.Langs, ";"), h.Text}
}

func writeJSONLine(w http.ResponseWriter, v any) {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// fail answers an error from the index: the caller's mistakes are 400s
// (a query over a cost limit names the limit), a cancelled request is
// dropped quietly, anything else is a logged 500.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var le *index.LimitError
	switch {
	case errors.As(err, &le):
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": le.Error(), "limit": le.Limit})
	case errors.Is(err, index.ErrBadRequest):
		writeError(w, http.StatusBadRequest, err.Error())
	case r.Context().Err() != nil:
		writeError(w, http.StatusServiceUnavailable, "request cancelled")
	default:
		s.log.Error("request failed", "path", truncate(r.URL.Path, 128), "err", err)
		writeError(w, http.StatusInternalServerError, "internal error")
	}
}

func quote(s string) string { return `"` + truncate(s, 64) + `"` }
