package api_test

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/downsignal/downsignal/api"
	"github.com/downsignal/downsignal/catalog"
	"github.com/downsignal/downsignal/health"
	"github.com/downsignal/downsignal/index"
	"github.com/downsignal/downsignal/labels"
	"github.com/downsignal/downsignal/record"
)

// now is the API's clock: 22 Jan 2026, 15:00 ET, half an hour into the
// Microsoft 365 incident.
var now = time.Date(2026, 1, 22, 20, 0, 0, 0, time.UTC)

type fixture struct {
	t    *testing.T
	x    *index.Index
	base string
	next int64
	doc  *openapi3.T
}

type options struct {
	admin     string
	rate      float64
	incidents api.IncidentStates
	status    func(context.Context) health.Status
	spans     api.BaselineSpans
}

func newFixture(t *testing.T, o options) *fixture {
	t.Helper()
	x, err := index.Open(index.Options{Dir: t.TempDir(), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.Load()
	if err != nil {
		t.Fatal(err)
	}
	if o.rate == 0 {
		o.rate = -1
	}
	st, err := labels.Open(filepath.Join(t.TempDir(), "labels.db"), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	srv, err := api.New(api.Options{Addr: "127.0.0.1:0", Searcher: x, Catalog: cat, Now: func() time.Time { return now },
		AdminToken: o.admin, RateLimit: o.rate, RateBurst: 3, Incidents: o.incidents, Spans: o.spans, Labels: st, Status: o.status})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
		x.Close()
	})
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(api.OpenAPI())
	if err != nil {
		t.Fatalf("openapi: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi document invalid: %v", err)
	}
	return &fixture{t: t, x: x, base: "http://" + srv.Addr(), doc: doc}
}

// index feeds signals to the index as the consumer hands them over:
// encoded, decoded, at the next offsets of partition 0.
func (f *fixture) index(sigs ...record.Signal) {
	f.t.Helper()
	var batch []record.Delivery[record.Signal]
	for _, s := range sigs {
		b, err := json.Marshal(s)
		if err != nil {
			f.t.Fatal(err)
		}
		v, err := record.DecodeSignal(b)
		if err != nil {
			f.t.Fatal(err)
		}
		batch = append(batch, record.Delivery[record.Signal]{Position: record.Position{Offset: f.next}, Value: v})
		f.next++
	}
	if err := f.x.Handle(context.Background(), batch); err != nil {
		f.t.Fatal(err)
	}
}

// get fetches a path, checks the response against the OpenAPI document
// (template names the documented path) and decodes it into out.
func (f *fixture) get(path, template string, out any) int {
	f.t.Helper()
	res, err := http.Get(f.base + path)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	if template != "" {
		f.checkSchema(template, res.StatusCode, body)
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			f.t.Fatalf("GET %s: %d %q: %v", path, res.StatusCode, body, err)
		}
	}
	return res.StatusCode
}

func (f *fixture) checkSchema(template string, status int, body []byte) {
	f.t.Helper()
	item := f.doc.Paths.Find(template)
	if item == nil || item.Get == nil {
		f.t.Fatalf("openapi: no GET %s", template)
	}
	resp := item.Get.Responses.Status(status)
	if resp == nil {
		f.t.Fatalf("openapi: GET %s does not document status %d (body %s)", template, status, body)
	}
	mt := resp.Value.Content.Get("application/json")
	if mt == nil {
		f.t.Fatalf("openapi: GET %s %d has no JSON schema", template, status)
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		f.t.Fatalf("GET %s: not JSON: %q", template, body)
	}
	if err := mt.Schema.Value.VisitJSON(v); err != nil {
		f.t.Errorf("GET %s %d does not match the OpenAPI document: %v\nbody: %s", template, status, err, body)
	}
}

func signal(did, rkey string, at time.Time, text string, res *record.Result) record.Signal {
	if res == nil {
		res = &record.Result{Intent: "none", Services: []record.ServiceHit{}, ErrorCodes: []record.ErrorCode{}}
	}
	return record.Signal{V: 1, Event: record.Event{V: 1, Kind: record.KindPost, DID: did,
		URI: "at://" + did + "/app.bsky.feed.post/" + rkey, Time: at, CreatedAt: at, Text: text, Langs: []string{"en"}, Source: "replay"},
		Result: res}
}

func outlook(code, region string) *record.Result {
	r := &record.Result{Outage: true, Score: 0.85, Intent: "outage", ErrorCodes: []record.ErrorCode{},
		Services: []record.ServiceHit{{ID: "outlook", Name: "Outlook", Parent: "Microsoft 365", Category: "email", Matched: "Outlook"}}}
	if code != "" {
		r.ErrorCodes = append(r.ErrorCodes, record.ErrorCode{Code: code, Family: "smtp", Meaning: "temporary server error, try again later"})
	}
	if region != "" {
		r.Regions = []record.Region{{Name: region, Kind: "city", Code: "US-IL"}}
	}
	return r
}

type searchBody struct {
	Total  int `json:"total"`
	Hits   []index.Hit
	Next   string                   `json:"next_cursor"`
	Facets map[string][]index.Facet `json:"facets"`
}

// The incident: normal chatter for an hour, then Outlook reports from
// 14:30 ET, some from Chicago quoting 451 4.3.2.
func incident(f *fixture) []record.Signal {
	var sigs []record.Signal
	start := now.Add(-90 * time.Minute)
	for m := range 60 {
		sigs = append(sigs, signal(fmt.Sprintf("did:plc:calm%d", m%7), fmt.Sprintf("3c%03d", m), start.Add(time.Duration(m)*time.Minute),
			"Outlook calendar is handy", &record.Result{Intent: "none", ErrorCodes: []record.ErrorCode{},
				Services: []record.ServiceHit{{ID: "outlook", Name: "Outlook", Parent: "Microsoft 365", Matched: "Outlook"}}}))
	}
	onset := now.Add(-30 * time.Minute) // 14:30 ET
	for i := range 40 {
		at := onset.Add(time.Duration(i) * 30 * time.Second)
		region, code := "", ""
		if i%4 == 0 {
			region, code = "Chicago", "451 4.3.2"
		}
		sigs = append(sigs, signal(fmt.Sprintf("did:plc:user%d", i), fmt.Sprintf("3o%03d", i), at,
			fmt.Sprintf("Outlook down again #%d, mail bounces with 451 4.3.2 temporary server issue", i), outlook(code, region)))
	}
	f.index(sigs...)
	return sigs
}

func TestSearchAnalystQueries(t *testing.T) {
	f := newFixture(t, options{})
	incident(f)

	// "what are people saying about Outlook since 14:30, in Chicago,
	// quoting 451 4.3.2, newest first"
	q := url.Values{"q": {"down"}, "service": {"outlook"}, "since": {"2026-01-22T19:30:00Z"}, "region": {"Chicago"},
		"code": {"451 4.3.2"}, "sort": {"time"}, "highlight": {"true"}, "facets": {"true"}, "limit": {"4"}}
	var page searchBody
	if code := f.get("/v1/search?"+q.Encode(), "/v1/search", &page); code != 200 {
		t.Fatalf("status %d", code)
	}
	if page.Total != 10 || len(page.Hits) != 4 || page.Next == "" {
		t.Fatalf("got total %d, %d hits, cursor %q; want 10, 4, a cursor", page.Total, len(page.Hits), page.Next)
	}
	for i, h := range page.Hits {
		if i > 0 && !h.Time.Before(page.Hits[i-1].Time) {
			t.Errorf("hit %d not older than the one before", i)
		}
		if len(h.Fragments) == 0 || !strings.Contains(h.Fragments[0], "<mark>down</mark>") {
			t.Errorf("hit %d fragments %q", i, h.Fragments)
		}
	}
	if fc := page.Facets["codes"]; len(fc) != 1 || fc[0].Term != "451 4.3.2" || fc[0].Count != 10 {
		t.Errorf("codes facet %+v", page.Facets)
	}

	// New posts arrive between pages: the next pages neither repeat nor
	// skip a post.
	f.index(signal("did:plc:late", "3z001", now.Add(-time.Minute), "Outlook down in Chicago 451 4.3.2", outlook("451 4.3.2", "Chicago")))
	seen := map[string]bool{}
	for _, h := range page.Hits {
		seen[h.URI] = true
	}
	for cursor := page.Next; cursor != ""; {
		q.Set("cursor", cursor)
		var p searchBody
		f.get("/v1/search?"+q.Encode(), "/v1/search", &p)
		for _, h := range p.Hits {
			if seen[h.URI] {
				t.Fatalf("post %s seen twice", h.URI)
			}
			seen[h.URI] = true
		}
		cursor = p.Next
	}
	if len(seen) != 10 {
		t.Fatalf("paged through %d posts, want the 10 there when paging began", len(seen))
	}

	var rel searchBody
	f.get("/v1/search?q=temporary+server&sort=relevance&limit=5&outage=only", "/v1/search", &rel)
	if rel.Total != 40 || len(rel.Hits) != 5 || rel.Hits[0].Relevance <= 0 {
		t.Errorf("relevance search: total %d, %d hits", rel.Total, len(rel.Hits))
	}

	// One post by at-URI, percent-encoded or not.
	uri := page.Hits[0].URI
	for _, path := range []string{"/v1/posts/" + url.PathEscape(uri), "/v1/posts/" + uri} {
		var h index.Hit
		if code := f.get(path, "/v1/posts/{uri}", &h); code != 200 || h.URI != uri || len(h.Regions) != 1 || h.ErrorCodes[0].Meaning == "" {
			t.Errorf("GET %s: %d %+v", path, code, h)
		}
	}
	if code := f.get("/v1/posts/"+url.PathEscape("at://did:plc:nobody/app.bsky.feed.post/x"), "/v1/posts/{uri}", nil); code != 404 {
		t.Errorf("missing post: %d, want 404", code)
	}
}

func TestSearchErrorsNameTheLimit(t *testing.T) {
	f := newFixture(t, options{})
	incident(f)
	many := strings.Repeat("outlook OR ", index.MaxClauses) + "teams"
	for _, tc := range []struct {
		query, limit string
		status       int
	}{
		{"limit=501", "max_results", 400},
		{"q=" + url.QueryEscape(many), "max_clauses", 400},
		{"sevice=Outlook", "", 400},
		{"q=" + url.QueryEscape(`text:"unclosed`), "", 400},
		{"service=Nosuchservice", "", 400},
		{"since=yesterday", "", 400},
		{"sort=random", "", 400},
		{"cursor=garbage", "", 400},
		{"min_score=2", "", 400},
	} {
		var e struct{ Error, Limit string }
		if code := f.get("/v1/search?"+tc.query, "/v1/search", &e); code != tc.status || e.Limit != tc.limit || e.Error == "" {
			t.Errorf("%s: %d %+v, want %d naming limit %q", tc.query, code, e, tc.status, tc.limit)
		}
	}
}

func TestExportStreamsNDJSONAndCSV(t *testing.T) {
	f := newFixture(t, options{})
	incident(f)
	req, _ := http.NewRequest("GET", f.base+"/v1/search/export?service=Outlook&outage=only&format=ndjson", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	res, err := http.DefaultTransport.RoundTrip(req) // no transparent gunzip
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.Header.Get("Content-Encoding") != "gzip" || res.Header.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("headers %v", res.Header)
	}
	zr, err := gzip.NewReader(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(zr)
	schema := f.doc.Components.Schemas["Hit"].Value
	n := 0
	for sc.Scan() {
		var v any
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("line %d: %v", n, err)
		}
		if err := schema.VisitJSON(v); err != nil {
			t.Fatalf("line %d does not match Hit: %v", n, err)
		}
		n++
	}
	if n != 40 {
		t.Fatalf("ndjson export: %d lines, want 40", n)
	}

	res2, err := http.Get(f.base + "/v1/search/export?service=Outlook&format=csv&max=50")
	if err != nil {
		t.Fatal(err)
	}
	defer res2.Body.Close()
	rows, err := csv.NewReader(res2.Body).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	// 100 match: 50 rows after the header, then the row saying 50 were left out.
	if len(rows) != 52 || rows[0][0] != "uri" || !strings.HasPrefix(rows[50][0], "at://") || rows[51][0] != "#truncated" ||
		!strings.Contains(rows[51][len(rows[51])-1], "50 left out") || res2.Header.Get("X-Export-Left-Out") != "50" {
		t.Fatalf("csv export: %d rows, first %v, last %v, headers %v", len(rows), rows[0], rows[len(rows)-1], res2.Header)
	}
}

func TestTrendsTopAndServices(t *testing.T) {
	var askedAt []time.Time
	f := newFixture(t, options{incidents: incidentsFunc(func(_ context.Context, at time.Time) map[string]string {
		askedAt = append(askedAt, at)
		if !at.IsZero() {
			return nil
		}
		return map[string]string{"Microsoft Teams": "pending"}
	})})
	incident(f)
	var tr struct {
		Service string
		Points  []index.Point
	}
	path := "/v1/trends?service=outlook&step=5m&since=2026-01-22T19:00:00Z&until=2026-01-22T20:00:00Z"
	if code := f.get(path, "/v1/trends", &tr); code != 200 || tr.Service != "Outlook" || len(tr.Points) != 12 {
		t.Fatalf("trends: %d %+v", code, tr)
	}
	before, during := tr.Points[4], tr.Points[8] // 19:20, 19:40
	if before.Posts != 0 || before.Mentions != 5 || during.Posts != 10 || during.Authors != 10 || during.Anomaly < 4 {
		t.Errorf("before onset %+v, during %+v", before, during)
	}
	var byRegion struct{ Points []index.Point }
	f.get("/v1/trends?region=Chicago&code="+url.QueryEscape("451 4.3.2")+"&step=1h&since=2026-01-22T19:00:00Z&until=2026-01-22T20:00:00Z", "/v1/trends", &byRegion)
	if len(byRegion.Points) != 1 || byRegion.Points[0].Posts != 10 {
		t.Errorf("Chicago x 451 4.3.2: %+v", byRegion.Points)
	}
	// Every endpoint refuses an unknown service alike: 400, naming it.
	for _, path := range []string{"/v1/trends?service=nosuch", "/v1/search?service=nosuch", "/v1/search?parent=nosuch"} {
		var e struct{ Error string }
		if code := f.get(path, "", &e); code != 400 || !strings.Contains(e.Error, `unknown service "nosuch"`) {
			t.Errorf("%s: %d %q, want 400 naming the service", path, code, e.Error)
		}
	}
	if code := f.get("/v1/trends?step=7m", "/v1/trends", nil); code != 400 {
		t.Errorf("bad step: %d", code)
	}

	var top struct{ Services []index.Rising }
	f.get("/v1/trends/top?window=15m", "/v1/trends/top", &top)
	if len(top.Services) < 2 || top.Services[0].Anomaly < 4 || (top.Services[0].Service != "Outlook" && top.Services[0].Service != "Microsoft 365") {
		t.Errorf("top services: %+v", top.Services)
	}
	var codes struct{ Codes []index.Rising }
	f.get("/v1/codes/top?window=1h", "/v1/codes/top", &codes)
	if len(codes.Codes) != 1 || codes.Codes[0].Code != "451 4.3.2" || codes.Codes[0].Meaning == "" || len(codes.Codes[0].Services) != 2 {
		t.Errorf("top codes: %+v", codes.Codes)
	}
	if code := f.get("/v1/codes/top?window=3d", "/v1/codes/top", nil); code != 400 {
		t.Errorf("window 3d: %d", code)
	}
	var svcs struct {
		Services []struct{ Name, State, Incident string }
	}
	f.get("/v1/services", "/v1/services", &svcs)
	states := map[string]string{}
	for _, s := range svcs.Services {
		states[s.Name] = s.State
	}
	if states["Outlook"] != "elevated" || states["Microsoft Teams"] != "pending" || states["Gmail"] != "normal" {
		t.Errorf("service states: %v", states)
	}
	// The same before the outage began.
	var then struct {
		At       time.Time
		Services []struct{ Name, State string }
	}
	f.get("/v1/services?at=2026-01-22T19:10:00Z", "/v1/services", &then)
	for _, s := range then.Services {
		if s.State != "normal" {
			t.Errorf("at 19:10 %s is %s, want normal", s.Name, s.State)
		}
	}
	want := time.Date(2026, 1, 22, 19, 10, 0, 0, time.UTC)
	if !then.At.Equal(want) || len(askedAt) != 2 || !askedAt[0].IsZero() || !askedAt[1].Equal(want) {
		t.Errorf("services at 19:10: at %v, incident states asked at %v", then.At, askedAt)
	}
	if code := f.get("/v1/services?at=yesterday", "/v1/services", nil); code != 400 {
		t.Errorf("at=yesterday: %d, want 400", code)
	}
	f.get("/healthz", "/healthz", nil)
	f.get("/v1/openapi.json", "/v1/openapi.json", nil)
}

type incidentsFunc func(context.Context, time.Time) map[string]string

func (f incidentsFunc) IncidentStates(ctx context.Context, at time.Time) map[string]string {
	return f(ctx, at)
}

func TestMiddleware(t *testing.T) {
	f := newFixture(t, options{admin: "s3cret", rate: 1})
	do := func(method, path string, hdr map[string]string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, f.base+path, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res
	}
	res := do("OPTIONS", "/v1/search", map[string]string{"Origin": "https://notebook.example", "Access-Control-Request-Method": "GET"})
	if res.StatusCode != 204 || res.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("preflight: %d %v", res.StatusCode, res.Header)
	}
	res = do("GET", "/healthz", map[string]string{"X-Request-Id": "abc-123"})
	if res.Header.Get("X-Request-Id") != "abc-123" {
		t.Errorf("request id not echoed: %v", res.Header)
	}
	label := "/v1/posts/" + url.PathEscape("at://did:plc:nobody/app.bsky.feed.post/x") + "/label"
	if res := do("POST", label, nil); res.StatusCode != 401 {
		t.Errorf("POST without token: %d, want 401", res.StatusCode)
	}
	if res := do("POST", label, map[string]string{"Authorization": "Bearer wrong"}); res.StatusCode != 401 {
		t.Errorf("POST with a wrong token: %d, want 401", res.StatusCode)
	}
	// The right token gets through to the route (an empty body is a 400).
	if res := do("POST", label, map[string]string{"Authorization": "Bearer s3cret"}); res.StatusCode != 400 {
		t.Errorf("POST with the token: %d, want 400 from the route", res.StatusCode)
	}
	// Rate limit: a burst of 3, then 429 with Retry-After.
	limited := 0
	for range 6 {
		if res := do("GET", "/v1/services", nil); res.StatusCode == 429 {
			limited++
			if res.Header.Get("Retry-After") == "" {
				t.Error("429 without Retry-After")
			}
		}
	}
	if limited == 0 {
		t.Error("no request was rate limited")
	}
	if res := do("GET", "/healthz", nil); res.StatusCode != 200 {
		t.Errorf("health checks are not rate limited: %d", res.StatusCode)
	}
}

func TestStateChangesRefusedWithoutAdminToken(t *testing.T) {
	f := newFixture(t, options{})
	label := "/v1/posts/" + url.PathEscape("at://did:plc:nobody/app.bsky.feed.post/x") + "/label"
	res, err := http.Post(f.base+label, "application/json", strings.NewReader(`{"outage":true}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 403 {
		t.Fatalf("POST with no admin token configured: %d, want 403", res.StatusCode)
	}
}
