package index

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/numeric"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	bolt "go.etcd.io/bbolt"

	"github.com/downsignal/downsignal/labels"
	"github.com/downsignal/downsignal/record"
)

// Limits on one search.
const (
	DefaultLimit = 20
	MaxLimit     = 500
	// MaxClauses bounds the leaf queries of one search (query string and
	// filters together).
	MaxClauses = 64
	// DefaultTimeout bounds one search.
	DefaultTimeout = 2 * time.Second
	// MaxExport bounds one export.
	MaxExport = 100_000
	// FacetSize is how many terms each facet returns.
	FacetSize = 10
)

// ErrBadRequest marks a search the caller got wrong (syntax, bad cursor,
// a limit exceeded); the API answers it with 400.
var ErrBadRequest = errors.New("bad search request")

// ErrNotFound is a post the index does not hold.
var ErrNotFound = errors.New("not found")

// LimitError is a search over one of the cost limits.
type LimitError struct {
	// Limit names it: max_results, max_clauses or timeout.
	Limit string
	Msg   string
}

func (e *LimitError) Error() string { return e.Limit + ": " + e.Msg }
func (e *LimitError) Unwrap() error { return ErrBadRequest }

// Sort orders.
const (
	SortTime      = "time"
	SortRelevance = "relevance"
)

// SearchRequest is an analyst's query.
type SearchRequest struct {
	// Query is Bleve query-string syntax over the post fields; empty
	// matches every post.
	Query string
	// Service matches posts naming the service or one of its children,
	// by canonical name.
	Service string
	// Parent matches posts naming a child of the service (Microsoft 365
	// for Outlook and Teams).
	Parent string
	// Code matches posts quoting the error code, normalized as the
	// classifier writes it ("451 4.3.2", "HTTP 503").
	Code string
	// Family matches a code family (smtp, http, aadsts, win32...).
	Family string
	Lang   string
	Region string
	// Since and Until bound the event time, [Since, Until).
	Since, Until time.Time
	// MinScore keeps posts the classifier scored at least this high.
	MinScore float64
	// OutageOnly keeps outage reports only.
	OutageOnly bool
	// Sort is SortTime (newest first, the default) or SortRelevance.
	Sort      string
	Highlight bool
	Facets    bool
	Limit     int
	// Cursor continues a previous search from its NextCursor.
	Cursor string
	// Timeout bounds the search; 0 means DefaultTimeout.
	Timeout time.Duration
}

// SearchResult is one page of hits.
type SearchResult struct {
	Total      uint64             `json:"total"`
	Hits       []Hit              `json:"hits"`
	NextCursor string             `json:"next_cursor,omitempty"`
	Facets     map[string][]Facet `json:"facets,omitempty"`
	TookMS     float64            `json:"took_ms"`
}

// Facet is one term of a facet and how many matching posts have it.
type Facet struct {
	Term  string `json:"term"`
	Count int    `json:"count"`
}

// Hit is one post in a search result.
type Hit struct {
	URI        string              `json:"uri"`
	Author     string              `json:"author"`
	Text       string              `json:"text"`
	Time       time.Time           `json:"time"`
	CreatedAt  time.Time           `json:"created_at,omitzero"`
	Langs      []string            `json:"langs,omitempty"`
	Services   []record.ServiceHit `json:"services"`
	ErrorCodes []record.ErrorCode  `json:"error_codes"`
	Regions    []record.Region     `json:"regions,omitempty"`
	Outage     bool                `json:"outage"`
	Intent     string              `json:"intent,omitempty"`
	// Score is the classifier's outage score.
	Score float64 `json:"score"`
	// Relevance is the search engine's score (relevance sort only).
	Relevance float64 `json:"relevance,omitempty"`
	// Fragments are highlighted excerpts of the text (<mark>...</mark>).
	Fragments []string `json:"fragments,omitempty"`
	// Label is an analyst's correction of the classifier, when there is
	// one. The index does not store it: the API adds it from package
	// labels.
	Label *labels.Correction `json:"label,omitempty"`
}

var sortOrders = map[string][]string{
	SortTime:      {"-" + fieldTime, "-_id"},
	SortRelevance: {"-_score", "-" + fieldTime, "-_id"},
}

var hitFields = []string{fieldAuthor, fieldText, fieldTime, fieldCreatedAt, fieldLangs, fieldOutage, fieldScore, fieldDetail}

// cursor is what NextCursor encodes: the sort values of the last hit.
type cursor struct {
	Sort  string   `json:"o"`
	After []string `json:"a"`
}

// Search runs one query. The cursor pages with search_after, so pages stay
// stable while new posts arrive. Sorted by time, partitions are read
// newest first and the older ones only counted once the page is full.
func (x *Index) Search(ctx context.Context, r SearchRequest) (*SearchResult, error) {
	start := time.Now()
	prep, err := prepare(r)
	if err != nil {
		return nil, err
	}
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	keep := prep.keepDay
	var res *SearchResult
	if prep.sort == SortTime && !r.Facets {
		res, err = x.searchByDay(ctx, prep, keep)
	} else {
		res, err = x.searchMerge(ctx, prep, keep)
	}
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
			return nil, &LimitError{Limit: "timeout", Msg: fmt.Sprintf("the search took longer than %s; narrow it (a time range, a service, fewer wildcards)", timeout)}
		}
		return nil, fmt.Errorf("search: %w", err)
	}
	res.TookMS = math.Round(float64(time.Since(start).Microseconds())/10) / 100
	return res, nil
}

// searchByDay fills a newest-first page from the newest partition down,
// then only counts matches in the rest for the total. Within a partition
// it first looks at the newest hour, then 4 hours, then the whole day:
// sorting cost grows with the matches, and a page of recent posts is
// usually found in the first window.
func (x *Index) searchByDay(ctx context.Context, prep *prepared, keep func(int32) bool) (*SearchResult, error) {
	// Read before taking x.mu: the writer takes the state's lock first.
	newest := x.state.newest().Add(time.Second)
	x.mu.RLock()
	defer x.mu.RUnlock()
	var days []int32
	for d := range x.parts {
		if keep(d) {
			days = append(days, d)
		}
	}
	slices.Sort(days)
	slices.Reverse(days)
	var cursorTime time.Time
	if len(prep.after) > 0 {
		cursorTime, _ = sortTime(prep.after[0])
	}
	out := &SearchResult{Hits: make([]Hit, 0, prep.limit)}
	var last *search.DocumentMatch
	for _, d := range days {
		part := x.parts[d]
		idx := part.idx
		need := prep.limit - len(out.Hits)
		// Partitions newer than the cursor hold nothing after it.
		if !cursorTime.IsZero() && dayOf(cursorTime) < d {
			need = 0
		}
		total, err := prep.count(ctx, part, &x.counts)
		if err != nil {
			return nil, err
		}
		out.Total += total
		if need == 0 || total == 0 {
			continue
		}
		lo, hi := dayStart(d), dayStart(d+1)
		if !prep.since.IsZero() && prep.since.After(lo) {
			lo = prep.since
		}
		if !prep.until.IsZero() && prep.until.Before(hi) {
			hi = prep.until
		}
		if !cursorTime.IsZero() && cursorTime.Add(time.Nanosecond).Before(hi) {
			hi = cursorTime.Add(time.Nanosecond)
		}
		if newest.Before(hi) {
			hi = newest // today's partition ends with the newest post, not at midnight
		}
		var hits []*search.DocumentMatch
		for w := time.Hour; ; w *= 4 {
			from, final := hi.Add(-w), false
			// Sorting a few thousand matches is cheaper than narrowing.
			if !from.After(lo) || total <= uint64(max(4*need, sortAllBelow)) {
				from, final = lo, true
			}
			req := prep.request(need, d)
			if !final {
				win := bleve.NewDateRangeQuery(from, hi)
				win.SetField(fieldTime)
				req.Query = bleve.NewConjunctionQuery(prep.base, win)
			}
			res, err := idx.SearchInContext(ctx, req)
			if err != nil {
				return nil, err
			}
			if len(res.Hits) >= need || final {
				hits = res.Hits
				break
			}
		}
		for _, h := range hits {
			out.Hits = append(out.Hits, prep.hit(h))
			last = h
		}
	}
	if len(out.Hits) == prep.limit && last != nil {
		out.NextCursor = prep.cursorAfter(last)
	}
	return out, nil
}

// sortAllBelow is the number of matches in a partition below which a
// newest-first search sorts them all instead of narrowing by time.
const sortAllBelow = 4000

// sortTime decodes the time sort value of a cursor.
func sortTime(v string) (time.Time, bool) {
	t, err := decodeSortTime(v)
	return t, err == nil
}

// prepared is a validated search.
type prepared struct {
	q          query.Query // the whole query, for limits
	base       query.Query // without the time range
	timeQ      query.Query // the time range, nil without one
	sort       string
	after      []string
	limit      int
	highlight  bool
	facets     bool
	since      time.Time
	until      time.Time
	cursorTime time.Time
}

func prepare(r SearchRequest) (*prepared, error) {
	p := &prepared{sort: r.Sort, highlight: r.Highlight, facets: r.Facets, since: r.Since, until: r.Until}
	if p.sort == "" {
		p.sort = SortTime
	}
	if _, ok := sortOrders[p.sort]; !ok {
		return nil, fmt.Errorf("%w: sort must be %s or %s", ErrBadRequest, SortTime, SortRelevance)
	}
	r.Sort = p.sort
	p.limit = r.Limit
	switch {
	case p.limit == 0:
		p.limit = DefaultLimit
	case p.limit < 0:
		return nil, fmt.Errorf("%w: limit must be positive", ErrBadRequest)
	case p.limit > MaxLimit:
		return nil, &LimitError{Limit: "max_results", Msg: fmt.Sprintf("limit %d is above %d results per page; page with the cursor", p.limit, MaxLimit)}
	}
	base, timeQ, err := buildQuery(r)
	if err != nil {
		return nil, err
	}
	p.base, p.timeQ, p.q = base, timeQ, base
	if timeQ != nil {
		p.q = bleve.NewConjunctionQuery(base, timeQ)
	}
	if n := countClauses(p.q); n > MaxClauses {
		return nil, &LimitError{Limit: "max_clauses", Msg: fmt.Sprintf("the query has %d clauses, at most %d are allowed", n, MaxClauses)}
	}
	if r.Cursor != "" {
		c, err := decodeCursor(r.Cursor)
		if err != nil || c.Sort != p.sort || len(c.After) != len(sortOrders[p.sort]) {
			return nil, fmt.Errorf("%w: cursor is not one this API returned for this sort", ErrBadRequest)
		}
		p.after = c.After
	}
	return p, nil
}

// keepDay selects the partitions that can hold matches.
func (p *prepared) keepDay(day int32) bool {
	if !p.since.IsZero() && day < dayOf(p.since) {
		return false
	}
	if !p.until.IsZero() && dayStart(day).Compare(p.until) >= 0 {
		return false
	}
	return true
}

// queryFor is the query of one partition. A post lives in the day of its
// event time, so a day wholly inside the time range needs no range clause,
// and a day mostly inside it excludes the rest instead: a range clause
// costs a walk over the postings of every time it covers.
func (p *prepared) queryFor(day int32) query.Query {
	if p.timeQ == nil {
		return p.base
	}
	start, end := dayStart(day), dayStart(day+1)
	lo, hi := start, end
	if !p.since.IsZero() && p.since.After(lo) {
		lo = p.since
	}
	if !p.until.IsZero() && p.until.Before(hi) {
		hi = p.until
	}
	if lo.Equal(start) && hi.Equal(end) {
		return p.base
	}
	if 2*hi.Sub(lo) <= end.Sub(start) {
		return p.q
	}
	b := bleve.NewBooleanQuery()
	b.AddMust(p.base)
	for _, r := range [][2]time.Time{{start, lo}, {hi, end}} {
		if r[1].After(r[0]) {
			out := bleve.NewDateRangeQuery(r[0], r[1])
			out.SetField(fieldTime)
			b.AddMustNot(out)
		}
	}
	return b
}

func (p *prepared) request(size int, day int32) *bleve.SearchRequest {
	req := bleve.NewSearchRequestOptions(p.queryFor(day), size, 0, false)
	req.SortBy(sortOrders[p.sort])
	if p.sort == SortTime {
		req.Score = "none" // sorted by time: scoring is wasted work
	}
	if size > 0 {
		req.Fields = hitFields
		req.SearchAfter = p.after
		if p.highlight {
			req.Highlight = bleve.NewHighlightWithStyle("html")
			req.Highlight.Fields = []string{fieldText}
		}
	}
	if p.facets {
		req.AddFacet("services", bleve.NewFacetRequest(fieldServices, FacetSize))
		req.AddFacet("codes", bleve.NewFacetRequest(fieldCodes, FacetSize))
		req.AddFacet("langs", bleve.NewFacetRequest(fieldLangs, FacetSize))
	}
	return req
}

// count counts a partition's matches without sorting or scoring them.
// Counts are cached per partition and query until the partition is next
// written: every page of a search reports the total, and past days rarely
// change.
func (p *prepared) count(ctx context.Context, part *partition, cache *countCache) (uint64, error) {
	q := p.queryFor(part.day)
	if _, all := q.(*query.MatchAllQuery); all {
		return part.idx.DocCount()
	}
	key, err := json.Marshal(q)
	if err != nil {
		return 0, err
	}
	gen := part.gen.Load()
	if n, ok := cache.get(part.day, string(key), gen); ok {
		return n, nil
	}
	req := bleve.NewSearchRequestOptions(q, 0, 0, false)
	req.Score = "none"
	res, err := part.idx.SearchInContext(ctx, req)
	if err != nil {
		return 0, err
	}
	cache.put(part.day, string(key), gen, res.Total)
	return res.Total, nil
}

// countCache remembers match counts per partition, query and partition
// generation. It is bounded: when full, it forgets everything.
type countCache struct {
	mu sync.Mutex
	m  map[countKey]countVal
}

type countKey struct {
	day int32
	q   string
}

type countVal struct {
	gen uint64
	n   uint64
}

const maxCachedCounts = 20_000

func (c *countCache) get(day int32, q string, gen uint64) (uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[countKey{day, q}]
	return v.n, ok && v.gen == gen
}

func (c *countCache) put(day int32, q string, gen, n uint64) {
	if len(q) > 4096 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCachedCounts {
		c.m = make(map[countKey]countVal)
	}
	c.m[countKey{day, q}] = countVal{gen, n}
}

// searchMerge runs the search in every partition in range and merges the
// pages (and facets) by the sort order: relevance, or time with facets.
func (x *Index) searchMerge(ctx context.Context, prep *prepared, keep func(int32) bool) (*SearchResult, error) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	out := &SearchResult{}
	var hits []*search.DocumentMatch
	facets := map[string]map[string]int{}
	for d, part := range x.parts {
		if !keep(d) {
			continue
		}
		res, err := part.idx.SearchInContext(ctx, prep.request(prep.limit, d))
		if err != nil {
			return nil, err
		}
		out.Total += res.Total
		hits = append(hits, res.Hits...)
		for name, fr := range res.Facets {
			if facets[name] == nil {
				facets[name] = map[string]int{}
			}
			if fr.Terms != nil {
				for _, t := range fr.Terms.Terms() {
					facets[name][t.Term] += t.Count
				}
			}
		}
	}
	slices.SortFunc(hits, prep.compare)
	hits = hits[:min(len(hits), prep.limit)]
	out.Hits = make([]Hit, 0, len(hits))
	for _, h := range hits {
		out.Hits = append(out.Hits, prep.hit(h))
	}
	if len(hits) == prep.limit {
		out.NextCursor = prep.cursorAfter(hits[len(hits)-1])
	}
	if prep.facets {
		out.Facets = map[string][]Facet{}
		for _, name := range []string{"services", "codes", "langs"} {
			terms := []Facet{}
			for t, c := range facets[name] {
				terms = append(terms, Facet{Term: t, Count: c})
			}
			slices.SortFunc(terms, func(a, b Facet) int { return cmp.Or(b.Count-a.Count, cmp.Compare(a.Term, b.Term)) })
			out.Facets[name] = terms[:min(len(terms), FacetSize)]
		}
	}
	return out, nil
}

// compare orders hits as the search sorts them: by relevance, then newest
// first, then by descending id (Bleve's -_id).
func (p *prepared) compare(a, b *search.DocumentMatch) int {
	if p.sort == SortRelevance {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		return cmp.Or(strings.Compare(b.Sort[1], a.Sort[1]), strings.Compare(b.ID, a.ID))
	}
	return cmp.Or(strings.Compare(b.Sort[0], a.Sort[0]), strings.Compare(b.ID, a.ID))
}

// cursorAfter encodes the sort values of the last hit. Bleve reports the
// score's sort value as the literal "_score" but takes the number back.
func (p *prepared) cursorAfter(h *search.DocumentMatch) string {
	after := slices.Clone(h.Sort)
	for i, f := range sortOrders[p.sort] {
		if f == "-_score" {
			after[i] = strconv.FormatFloat(h.Score, 'g', -1, 64)
		}
	}
	return encodeCursor(cursor{Sort: p.sort, After: after})
}

func (p *prepared) hit(h *search.DocumentMatch) Hit {
	hit := hitFrom(h.ID, h.Fields)
	if p.sort == SortRelevance {
		hit.Relevance = math.Round(h.Score*1e4) / 1e4
	}
	if p.highlight {
		hit.Fragments = h.Fragments[fieldText]
	}
	return hit
}

func buildQuery(r SearchRequest) (base, timeQ query.Query, err error) {
	var must []query.Query
	if s := strings.TrimSpace(r.Query); s != "" {
		qs, err := parseUserQuery(s)
		if err != nil {
			return nil, nil, err
		}
		must = append(must, qs)
	}
	term := func(field, v string) *query.TermQuery {
		t := bleve.NewTermQuery(v)
		t.SetField(field)
		return t
	}
	if r.Service != "" {
		must = append(must, bleve.NewDisjunctionQuery(term(fieldServices, r.Service), term(fieldParents, r.Service)))
	}
	if r.Parent != "" {
		must = append(must, term(fieldParents, r.Parent))
	}
	if r.Code != "" {
		must = append(must, term(fieldCodes, r.Code))
	}
	if r.Family != "" {
		must = append(must, term(fieldFamilies, strings.ToLower(r.Family)))
	}
	if r.Lang != "" {
		must = append(must, term(fieldLangs, r.Lang))
	}
	if r.Region != "" {
		must = append(must, term(fieldRegions, r.Region))
	}
	if r.OutageOnly {
		b := bleve.NewBoolFieldQuery(true)
		b.SetField(fieldOutage)
		must = append(must, b)
	}
	if r.MinScore > 0 {
		lo, inc := r.MinScore, true
		n := bleve.NewNumericRangeInclusiveQuery(&lo, nil, &inc, nil)
		n.SetField(fieldScore)
		must = append(must, n)
	}
	if !r.Since.IsZero() || !r.Until.IsZero() {
		if !r.Since.IsZero() && !r.Until.IsZero() && !r.Until.After(r.Since) {
			return nil, nil, fmt.Errorf("%w: until must be after since", ErrBadRequest)
		}
		t := bleve.NewDateRangeQuery(r.Since, r.Until)
		t.SetField(fieldTime)
		timeQ = t
	}
	switch len(must) {
	case 0:
		return bleve.NewMatchAllQuery(), timeQ, nil
	case 1:
		return must[0], timeQ, nil
	default:
		return bleve.NewConjunctionQuery(must...), timeQ, nil
	}
}

// countClauses counts the leaf queries of q.
func countClauses(q query.Query) int {
	switch v := q.(type) {
	case nil:
		return 0
	case *query.BooleanQuery:
		return countClauses(v.Must) + countClauses(v.Should) + countClauses(v.MustNot)
	case *query.ConjunctionQuery:
		n := 0
		for _, c := range v.Conjuncts {
			n += countClauses(c)
		}
		return n
	case *query.DisjunctionQuery:
		n := 0
		for _, c := range v.Disjuncts {
			n += countClauses(c)
		}
		return n
	default:
		return 1
	}
}

func encodeCursor(c cursor) string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (cursor, error) {
	var c cursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return c, err
	}
	err = json.Unmarshal(b, &c)
	return c, err
}

func hitFrom(id string, f map[string]any) Hit {
	h := Hit{URI: id, Services: []record.ServiceHit{}, ErrorCodes: []record.ErrorCode{}}
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
			h.Intent = d.Intent
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

// Get returns one post by at-URI.
func (x *Index) Get(ctx context.Context, uri string) (*Hit, error) {
	q := bleve.NewDocIDQuery([]string{uri})
	req := bleve.NewSearchRequestOptions(q, 1, 0, false)
	req.Fields = hitFields
	var keep func(int32) bool
	if day, ok, indexed := x.dayOf(uri); ok && !indexed {
		return nil, ErrNotFound // counted, never kept in Bleve
	} else if ok {
		keep = func(d int32) bool { return d == day }
	}
	res, err := x.searchParts(ctx, req, keep)
	if err != nil {
		return nil, fmt.Errorf("get: %w", err)
	}
	if len(res.Hits) == 0 {
		return nil, ErrNotFound
	}
	h := hitFrom(res.Hits[0].ID, res.Hits[0].Fields)
	return &h, nil
}

// dayOf looks the post's partition up in the ledger, and whether the post
// is kept in it.
func (x *Index) dayOf(uri string) (day int32, ok, indexed bool) {
	st := x.state
	if st == nil {
		return 0, false, false
	}
	_ = st.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketPosts).Get(ledgerKey(uri)); v != nil {
			if r, err := decodePostRec(v); err == nil {
				day, ok, indexed = r.Day, true, r.indexed()
			}
		}
		return nil
	})
	return day, ok, indexed
}

// ExportAll as ExportRequest.Max exports every matching post.
const ExportAll = -1

// ExportRequest is a search to export whole.
type ExportRequest struct {
	SearchRequest
	// Max bounds the posts exported: 0 means MaxExport, ExportAll none.
	Max int
	// Begin, when set, is called once before the first post (also when
	// none matches) with how many posts matched when the export began.
	Begin func(matched uint64) error
}

// Export calls fn for every post matching r, in r's order, at most r.Max
// posts. It pages with search_after, MaxLimit posts a page, so a long
// export neither holds one huge result in memory nor sees a post twice.
func (x *Index) Export(ctx context.Context, r ExportRequest, fn func(Hit) error) (int, error) {
	limit := r.Max
	switch {
	case limit == ExportAll:
		limit = math.MaxInt
	case limit <= 0 || limit > MaxExport:
		limit = MaxExport
	}
	q := r.SearchRequest
	q.Limit, q.Facets, q.Highlight = 0, false, false
	if q.Timeout <= 0 {
		q.Timeout = 30 * time.Second
	}
	n := 0
	for first := true; n < limit; first = false {
		q.Limit = min(MaxLimit, limit-n)
		res, err := x.Search(ctx, q)
		if err != nil {
			return n, err
		}
		if first && r.Begin != nil {
			if err := r.Begin(res.Total); err != nil {
				return n, err
			}
		}
		for _, h := range res.Hits {
			if err := fn(h); err != nil {
				return n, err
			}
			n++
		}
		if res.NextCursor == "" {
			break
		}
		q.Cursor = res.NextCursor
	}
	return n, nil
}

// decodeSortTime reads a time sort value: Bleve's prefix-coded
// nanoseconds.
func decodeSortTime(v string) (time.Time, error) {
	n, err := numeric.PrefixCoded(v).Int64()
	if err != nil {
		return time.Time{}, err
	}
	return time.Unix(0, n).UTC(), nil
}
