package index

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search/query"

	"github.com/downsignal/downsignal/classify"
)

// Limits on one search.
const (
	DefaultLimit = 20
	MaxLimit     = 500
)

// ErrBadRequest marks a search the caller got wrong (syntax, bad cursor);
// the API answers it with 400.
var ErrBadRequest = errors.New("bad search request")

// SearchRequest is an analyst's query.
type SearchRequest struct {
	// Query is Bleve query-string syntax over the post fields; empty
	// matches every post.
	Query string
	// Service matches posts naming the service or one of its children,
	// by canonical name.
	Service string
	// Code matches posts quoting the error code, normalized as the
	// classifier writes it ("451 4.3.2", "HTTP 503").
	Code         string
	Since, Until time.Time
	Limit        int
	// Cursor continues a previous search from its NextCursor.
	Cursor string
}

// SearchResult is one page of hits, newest first.
type SearchResult struct {
	Total      uint64 `json:"total"`
	Hits       []Hit  `json:"hits"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// Hit is one post in a search result.
type Hit struct {
	URI        string                `json:"uri"`
	Author     string                `json:"author"`
	Text       string                `json:"text"`
	Time       time.Time             `json:"time"`
	CreatedAt  time.Time             `json:"created_at,omitzero"`
	Langs      []string              `json:"langs,omitempty"`
	Services   []classify.ServiceHit `json:"services"`
	ErrorCodes []classify.ErrorCode  `json:"error_codes"`
	Regions    []classify.Region     `json:"regions,omitempty"`
	Outage     bool                  `json:"outage"`
	Score      float64               `json:"score"`
}

var sortOrder = []string{"-" + fieldTime, "-_id"}

// Search runs one query. Results are sorted newest first; the cursor pages
// with search_after, so pages stay stable while new posts arrive.
func (x *Index) Search(ctx context.Context, r SearchRequest) (*SearchResult, error) {
	q, err := buildQuery(r)
	if err != nil {
		return nil, err
	}
	limit := r.Limit
	switch {
	case limit == 0:
		limit = DefaultLimit
	case limit < 0 || limit > MaxLimit:
		return nil, fmt.Errorf("%w: limit must be between 1 and %d", ErrBadRequest, MaxLimit)
	}
	req := bleve.NewSearchRequestOptions(q, limit, 0, false)
	req.SortBy(sortOrder)
	req.Fields = []string{fieldURI, fieldAuthor, fieldText, fieldTime, fieldCreatedAt, fieldLangs, fieldOutage, fieldScore, fieldDetail}
	if r.Cursor != "" {
		after, err := decodeCursor(r.Cursor)
		if err != nil {
			return nil, err
		}
		req.SearchAfter = after
	}
	res, err := x.bleve.SearchInContext(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	out := &SearchResult{Total: res.Total, Hits: make([]Hit, 0, len(res.Hits))}
	for _, h := range res.Hits {
		out.Hits = append(out.Hits, hitFrom(h.ID, h.Fields))
	}
	if len(res.Hits) == limit {
		out.NextCursor = encodeCursor(res.Hits[len(res.Hits)-1].Sort)
	}
	return out, nil
}

func buildQuery(r SearchRequest) (query.Query, error) {
	var must []query.Query
	if s := strings.TrimSpace(r.Query); s != "" {
		qs := bleve.NewQueryStringQuery(s)
		if _, err := qs.Parse(); err != nil {
			return nil, fmt.Errorf("%w: query: %v", ErrBadRequest, err)
		}
		must = append(must, qs)
	}
	if r.Service != "" {
		svc := bleve.NewTermQuery(r.Service)
		svc.SetField(fieldServices)
		parent := bleve.NewTermQuery(r.Service)
		parent.SetField(fieldParents)
		must = append(must, bleve.NewDisjunctionQuery(svc, parent))
	}
	if r.Code != "" {
		c := bleve.NewTermQuery(r.Code)
		c.SetField(fieldCodes)
		must = append(must, c)
	}
	if !r.Since.IsZero() || !r.Until.IsZero() {
		if !r.Since.IsZero() && !r.Until.IsZero() && !r.Until.After(r.Since) {
			return nil, fmt.Errorf("%w: until must be after since", ErrBadRequest)
		}
		t := bleve.NewDateRangeQuery(r.Since, r.Until)
		t.SetField(fieldTime)
		must = append(must, t)
	}
	switch len(must) {
	case 0:
		return bleve.NewMatchAllQuery(), nil
	case 1:
		return must[0], nil
	default:
		return bleve.NewConjunctionQuery(must...), nil
	}
}

func encodeCursor(sort []string) string {
	b, _ := json.Marshal(sort)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) ([]string, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: cursor is not one this API returned", ErrBadRequest)
	}
	var sort []string
	if err := json.Unmarshal(b, &sort); err != nil || len(sort) != len(sortOrder) {
		return nil, fmt.Errorf("%w: cursor is not one this API returned", ErrBadRequest)
	}
	return sort, nil
}

func hitFrom(id string, f map[string]any) Hit {
	h := Hit{URI: id, Services: []classify.ServiceHit{}, ErrorCodes: []classify.ErrorCode{}}
	h.Author, _ = f[fieldAuthor].(string)
	h.Text, _ = f[fieldText].(string)
	h.Time = fieldTimeValue(f[fieldTime])
	h.CreatedAt = fieldTimeValue(f[fieldCreatedAt])
	h.Langs = fieldStrings(f[fieldLangs])
	h.Outage, _ = f[fieldOutage].(bool)
	h.Score, _ = f[fieldScore].(float64)
	if s, ok := f[fieldDetail].(string); ok && s != "" {
		var d detail
		if err := json.Unmarshal([]byte(s), &d); err == nil {
			if d.Services != nil {
				h.Services = d.Services
			}
			if d.ErrorCodes != nil {
				h.ErrorCodes = d.ErrorCodes
			}
			h.Regions = d.Regions
		}
	}
	return h
}

func fieldTimeValue(v any) time.Time {
	s, _ := v.(string)
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

func fieldStrings(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// TrendRequest asks for one service's counters over a time range.
type TrendRequest struct {
	Service      string
	Since, Until time.Time
	Step         time.Duration
}

// MaxTrendPoints bounds one trend answer.
const MaxTrendPoints = 10_000

// Trend returns the service's counters in steps of r.Step, from the
// counter store (never from Bleve facets).
func (x *Index) Trend(r TrendRequest) ([]Point, error) {
	if r.Step < time.Minute || r.Step%time.Minute != 0 {
		return nil, fmt.Errorf("%w: step must be a whole number of minutes", ErrBadRequest)
	}
	if !r.Until.After(r.Since) {
		return nil, fmt.Errorf("%w: until must be after since", ErrBadRequest)
	}
	if n := r.Until.Sub(r.Since) / r.Step; n > MaxTrendPoints {
		return nil, fmt.Errorf("%w: %d points requested, at most %d", ErrBadRequest, n, MaxTrendPoints)
	}
	return x.counters.trend(r.Service, r.Since, r.Until, r.Step), nil
}

// DocCount returns the number of posts in the index.
func (x *Index) DocCount() (uint64, error) { return x.bleve.DocCount() }
