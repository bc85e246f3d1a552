package api_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/downsignal/downsignal/index"
)

// noRedirect is a client that shows redirects instead of following them.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// call sends one request and returns the status, headers and body.
func (f *fixture) call(method, path string, hdr map[string]string, body io.Reader) (int, http.Header, []byte) {
	f.t.Helper()
	req, err := http.NewRequest(method, f.base+path, body)
	if err != nil {
		f.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := noRedirect.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return res.StatusCode, res.Header, b
}

// jsonError reads an error body, failing the test unless it is JSON
// {"error": ...}.
func jsonError(t *testing.T, what string, hdr http.Header, body []byte) string {
	t.Helper()
	var e struct{ Error string }
	if ct := hdr.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type %q, want application/json (body %q)", what, ct, body)
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Error == "" {
		t.Errorf("%s: body %q is not a JSON error", what, body)
	}
	return e.Error
}

func TestWrongMethodIs405WithAllow(t *testing.T) {
	f := newFixture(t, options{admin: "s3cret"})
	for _, tc := range []struct {
		method, path, token, allow string
	}{
		{"DELETE", "/v1/search", "", "GET, HEAD"},
		{"DELETE", "/v1/search", "s3cret", "GET, HEAD"},
		{"POST", "/v1/trends", "wrong", "GET, HEAD"},
		{"PUT", "/v1/posts/" + url.PathEscape("at://did:plc:a/app.bsky.feed.post/b"), "", "GET, HEAD, POST"},
	} {
		code, hdr, body := f.call(tc.method, tc.path, map[string]string{"Authorization": "Bearer " + tc.token}, nil)
		msg := jsonError(t, tc.method+" "+tc.path, hdr, body)
		if code != 405 || hdr.Get("Allow") != tc.allow || !strings.Contains(msg, tc.method) {
			t.Errorf("%s %s: %d Allow %q %q, want 405 Allow %q naming the method", tc.method, tc.path, code, hdr.Get("Allow"), msg, tc.allow)
		}
	}
	code, hdr, body := f.call("GET", "/v1/nosuch", nil, nil)
	if msg := jsonError(t, "GET /v1/nosuch", hdr, body); code != 404 || !strings.Contains(msg, "/v1/nosuch") {
		t.Errorf("GET /v1/nosuch: %d %q, want 404 naming the path", code, msg)
	}
	if code, hdr, _ := f.call("OPTIONS", "/v1/search", nil, nil); code != 204 || hdr.Get("Allow") != "GET, HEAD, OPTIONS" {
		t.Errorf("OPTIONS /v1/search: %d Allow %q, want 204 listing the methods", code, hdr.Get("Allow"))
	}
}

func TestPostByRawAtURI(t *testing.T) {
	f := newFixture(t, options{admin: "s3cret"})
	incident(f)
	uri := "at://did:plc:user4/app.bsky.feed.post/3o004"
	for _, path := range []string{"/v1/posts/" + uri, "/v1/posts/" + url.PathEscape(uri), "/v1/posts/at:/did:plc:user4/app.bsky.feed.post/3o004"} {
		code, _, body := f.call("GET", path, nil, nil)
		var h index.Hit
		if err := json.Unmarshal(body, &h); code != 200 || err != nil || h.URI != uri {
			t.Errorf("GET %s: %d %q, want 200 with the post", path, code, body)
			continue
		}
		f.checkSchema("/v1/posts/{uri}", code, body)
	}
	// A label, the at-URI raw too.
	code, _, body := f.call("POST", "/v1/posts/"+uri+"/label", map[string]string{"Authorization": "Bearer s3cret"},
		strings.NewReader(`{"outage":false}`))
	if code != 200 || !strings.Contains(string(body), uri) {
		t.Errorf("POST raw label: %d %q, want 200", code, body)
	}
}

func TestBodyOverLimitIs413(t *testing.T) {
	f := newFixture(t, options{admin: "s3cret"})
	incident(f)
	path := "/v1/posts/" + url.PathEscape("at://did:plc:user4/app.bsky.feed.post/3o004") + "/label"
	big := `{"outage":true,"services":["` + strings.Repeat("x", 70<<10) + `"]}`
	auth := map[string]string{"Authorization": "Bearer s3cret"}
	for name, body := range map[string]io.Reader{
		"with a length": strings.NewReader(big),
		"chunked":       io.MultiReader(strings.NewReader(big)), // no length: sent chunked
	} {
		code, hdr, b := f.call("POST", path, auth, body)
		if msg := jsonError(t, name, hdr, b); code != 413 || !strings.Contains(msg, "65536 bytes") {
			t.Errorf("%s: %d %q, want 413 naming the limit", name, code, msg)
		}
	}
}

// rawHTTP writes req on a fresh connection and reads the answer.
func rawHTTP(t *testing.T, addr, req string) (*http.Response, []byte) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, body
}

func TestServerOwnErrorsAreJSON(t *testing.T) {
	f := newFixture(t, options{})
	addr := strings.TrimPrefix(f.base, "http://")
	for _, tc := range []struct {
		name, req string
		status    int
		says      string
	}{
		{"headers over the limit", "GET /v1/search HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 80<<10) + "\r\n\r\n", 431, "65536 bytes"},
		{"malformed header", "GET /v1/search HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n", 400, "malformed"},
		{"no Host", "GET /v1/search HTTP/1.1\r\n\r\n", 400, "Host"},
		{"unknown transfer encoding", "POST /v1/search HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: rot13\r\n\r\n", 501, "transfer encoding"},
	} {
		res, body := rawHTTP(t, addr, tc.req)
		if msg := jsonError(t, tc.name, res.Header, body); res.StatusCode != tc.status || !strings.Contains(msg, tc.says) {
			t.Errorf("%s: %d %q, want %d saying %q", tc.name, res.StatusCode, msg, tc.status, tc.says)
		}
	}
	// An ordinary request on the same listener is untouched.
	res, body := rawHTTP(t, addr, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	if res.StatusCode != 200 || !strings.Contains(string(body), `"ok"`) || res.Header.Get("Date") == "" {
		t.Errorf("healthz: %d %v %q", res.StatusCode, res.Header, body)
	}
}

func TestRegexpErrorsAre400(t *testing.T) {
	f := newFixture(t, options{})
	incident(f)
	for _, tc := range []struct {
		q, limit, says string
	}{
		{"/[/", "", "missing closing ]"},
		{"text:/[z-a]/", "", "invalid character class range"},
		{"outlook /a$/", "", "no anchors"},
		{"/" + strings.Repeat("a", 70) + "/", "max_regexp", "at most 64"},
		{"/.*x.{0,30}/", "max_regexp", "repeat count 30"},
		{`/\pL+/`, "max_regexp", "ranges"},
		{"/(a|b)*a(a|b)(a|b)(a|b)(a|b)(a|b)(a|b)(a|b)(a|b)(a|b)(a|b)/", "max_regexp", "states"},
		{"outl*k" + strings.Repeat("?", 60), "max_regexp", "at most 64"},
	} {
		for _, path := range []string{"/v1/search", "/v1/search/export"} {
			code, hdr, body := f.call("GET", path+"?q="+url.QueryEscape(tc.q), nil, nil)
			msg := jsonError(t, tc.q, hdr, body)
			var e struct{ Limit string }
			json.Unmarshal(body, &e)
			if code != 400 || e.Limit != tc.limit || !strings.Contains(msg, tc.says) {
				t.Errorf("%s q=%s: %d %s, want 400 with limit %q saying %q", path, tc.q, code, body, tc.limit, tc.says)
			}
		}
	}
	// A sound one still searches.
	var page searchBody
	if code := f.get("/v1/search?q="+url.QueryEscape("text:/bounc.*/"), "/v1/search", &page); code != 200 || page.Total != 40 {
		t.Errorf("text:/bounc.*/: %d, %d posts, want 200 and 40", code, page.Total)
	}
}

func TestWordsAreAllRequired(t *testing.T) {
	f := newFixture(t, options{})
	incident(f) // 60 "Outlook calendar is handy", 40 "Outlook down again #i, mail bounces with 451 4.3.2 ..."
	for _, tc := range []struct {
		q    string
		want int
	}{
		{"outlook down", 40},
		{"outlook AND down", 40},
		{"calendar down", 0},
		{"calendar OR bounces", 100},
		{"handy OR bounces outlook", 100},
		{"outlook NOT calendar", 40},
		{"outlook -calendar", 40},
		{"+outlook down", 40},
		{`"outlook down" mail`, 40},
		{"outlook — down", 40},
		{"text:down services:Outlook", 40},
	} {
		var page searchBody
		if code := f.get("/v1/search?q="+url.QueryEscape(tc.q), "/v1/search", &page); code != 200 || page.Total != tc.want {
			t.Errorf("q=%s: %d, %d posts, want %d", tc.q, code, page.Total, tc.want)
		}
	}
	for _, q := range []string{"outlook OR", "OR outlook", "outlook NOT", "AND"} {
		code, hdr, body := f.call("GET", "/v1/search?q="+url.QueryEscape(q), nil, nil)
		if msg := jsonError(t, q, hdr, body); code != 400 || msg == "" {
			t.Errorf("q=%s: %d %q, want 400", q, code, msg)
		}
	}
	// Relevance is one parameter away and keeps every word required.
	var rel searchBody
	f.get("/v1/search?q="+url.QueryEscape("outlook bounces")+"&sort=relevance", "/v1/search", &rel)
	if rel.Total != 40 || len(rel.Hits) == 0 || rel.Hits[0].Relevance <= 0 {
		t.Errorf("relevance: %d posts, hits %+v", rel.Total, rel.Hits)
	}
}

// exportLines reads an NDJSON export.
func exportLines(t *testing.T, body []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(string(body)))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

func TestExportSaysWhatMaxLeftOut(t *testing.T) {
	f := newFixture(t, options{admin: "s3cret"})
	incident(f) // 100 posts name Outlook
	code, hdr, body := f.call("GET", "/v1/search/export?service=Outlook&max=30", nil, nil)
	lines := exportLines(t, body)
	if code != 200 || len(lines) != 31 || hdr.Get("X-Export-Matched") != "100" || hdr.Get("X-Export-Max") != "30" || hdr.Get("X-Export-Left-Out") != "70" {
		t.Fatalf("max=30: %d, %d lines, headers %v; want 200, 30 posts and a trailer, matched 100, left out 70", code, len(lines), hdr)
	}
	last := lines[30]
	if last["truncated"] != true || last["exported"] != 30.0 || last["matched"] != 100.0 || last["left_out"] != 70.0 || last["max"] != 30.0 {
		t.Errorf("trailer %v", last)
	}
	if err := f.doc.Components.Schemas["ExportTruncated"].Value.VisitJSON(map[string]any(last)); err != nil {
		t.Errorf("trailer does not match ExportTruncated: %v", err)
	}
	// Everything that matches, when max does not cut: no trailer.
	code, hdr, body = f.call("GET", "/v1/search/export?service=Outlook", nil, nil)
	if lines := exportLines(t, body); code != 200 || len(lines) != 100 || lines[99]["uri"] == nil || hdr.Get("X-Export-Left-Out") != "" || hdr.Get("X-Export-Max") != "10000" {
		t.Errorf("default max: %d, %d lines, headers %v", code, len(lines), hdr)
	}
	// max=all is the admin's, and streams every match.
	if code, hdr, body := f.call("GET", "/v1/search/export?service=Outlook&max=all", nil, nil); code != 401 {
		t.Errorf("max=all without the token: %d %q, want 401", code, body)
	} else {
		jsonError(t, "max=all without the token", hdr, body)
	}
	code, hdr, body = f.call("GET", "/v1/search/export?service=Outlook&max=all&format=csv", map[string]string{"Authorization": "Bearer s3cret"}, nil)
	if n := strings.Count(string(body), "\nat://"); code != 200 || n != 100 || hdr.Get("X-Export-Max") != "all" || strings.Contains(string(body), "#truncated") {
		t.Errorf("max=all: %d, %d posts, headers %v", code, n, hdr)
	}
	code, hdr, body = f.call("GET", "/v1/search/export?max=0", nil, nil)
	if msg := jsonError(t, "max=0", hdr, body); code != 400 || !strings.Contains(msg, "all") {
		t.Errorf("max=0: %d %q, want 400 naming all", code, msg)
	}
}

func TestTrendsWithoutFilterIsTheAllPostsSeries(t *testing.T) {
	f := newFixture(t, options{})
	incident(f) // 18:30-20:00: 100 posts naming Outlook, 40 of them outage reports
	var all, outlook struct {
		Series  string
		Service string
		Points  []index.Point
	}
	window := "&step=1h&since=2026-01-22T18:00:00Z&until=2026-01-22T20:00:00Z"
	if code := f.get("/v1/trends?"+window[1:], "/v1/trends", &all); code != 200 || all.Series != "all" || all.Service != "" || len(all.Points) != 2 {
		t.Fatalf("no filter: %d %+v, want the all-posts series", code, all)
	}
	f.get("/v1/trends?service=Outlook"+window, "/v1/trends", &outlook)
	if outlook.Series != "filtered" {
		t.Errorf("service=Outlook: series %q, want filtered", outlook.Series)
	}
	sum := func(ps []index.Point) (posts, mentions int) {
		for _, p := range ps {
			posts, mentions = posts+p.Posts, mentions+p.Mentions
		}
		return posts, mentions
	}
	ap, am := sum(all.Points)
	op, om := sum(outlook.Points)
	t.Logf("all posts %d mentions %d; outlook %d %d", ap, am, op, om)
	if ap != 40 || am != 100 {
		t.Errorf("all-posts series: %d outage posts, %d posts; want 40 and 100", ap, am)
	}
}
