package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/downsignal/downsignal/app"
	"github.com/downsignal/downsignal/broker"
	"github.com/downsignal/downsignal/ingest/jetstream"
	"github.com/downsignal/downsignal/internal/apptest"
)

// The dashboard during a replayed Microsoft 365 outage, in real headless
// Chromium over real HTTP: the overview shows the firing service, the
// service page draws the spike, a search highlights its terms, and no page
// logs an error. Screenshots of every page go to the artifacts directory.
func TestDashboardDuringReplayedIncident(t *testing.T) {
	exe := chromium(t)
	dir := artifacts(t)
	now := time.Now().UTC()
	replay := incidentReplay(t, now, 0)
	hook := newReceiver(t)
	p := apptest.Start(t, app.Options{
		Source:     "replay:" + replay,
		AdminToken: adminToken,
		// Deliveries to a real receiver on loopback, which the guard
		// against server-side request forgery must be told to allow.
		WebhookURLs:      []string{"native=" + hook.URL},
		WebhookAllowNets: []string{"127.0.0.0/8"},
	})
	p.WaitReplayed(t)
	incidentID := waitFiring(t, p)

	b := newBrowser(t, exe, p.URL(), dir)
	b.open(t, "#/")
	// A short refresh, so that live updates show within the test.
	eval[chromedp.Void](t, b, `localStorage.setItem('downsignal.refresh', '5'); localStorage.setItem('downsignal.theme', 'light')`)
	if err := chromedp.Do(b.ctx, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}

	t.Run("overview", func(t *testing.T) {
		cards := wait[[]struct {
			Service string `json:"service"`
			State   string `json:"state"`
		}](t, b, "Outlook firing on the overview", `(() => {
			const c = [...document.querySelectorAll('.service-card')].map(e => ({service: e.dataset.service, state: e.dataset.state}));
			return c.some(x => x.service === 'Outlook' && x.state === 'firing') ? c : null;
		})()`, 60*time.Second)
		var outlook string
		for _, c := range cards {
			if c.Service == "Outlook" {
				outlook = c.State
			}
		}
		t.Logf("overview cards: %+v", cards)
		if outlook != "firing" {
			t.Errorf("Outlook is %q on the overview, want firing", outlook)
		}
		if n := eval[int](t, b, fmt.Sprintf(`document.querySelectorAll('#h-open ~ .incidents a.incident-card.firing[data-incident=%q]').length`, incidentID)); n != 1 {
			t.Errorf("%d cards for the firing incident %s among the open incidents, want 1", n, incidentID)
		}
		spark := eval[int](t, b, `document.querySelectorAll('.service-card[data-service="Outlook"] svg.spark polyline').length`)
		if spark != 1 {
			t.Errorf("Outlook card has %d sparklines, want 1", spark)
		}
		b.shot(t, "overview")
		readme := b.viewport(t, "overview-viewport")
		if *updateScreenshot {
			if err := os.WriteFile(filepath.Join("..", "docs", "dashboard.png"), readme, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Log("updated docs/dashboard.png")
		}
		eval[chromedp.Void](t, b, `document.documentElement.dataset.theme = 'dark'`)
		b.viewport(t, "overview-dark")
		eval[chromedp.Void](t, b, `document.documentElement.dataset.theme = 'light'`)
		b.checkerWorks(t)
		b.accessible(t, "overview")
		b.noProblems(t, "overview")
	})

	t.Run("service page draws the spike", func(t *testing.T) {
		b.open(t, "#/service/Outlook?range=1h")
		wait[bool](t, b, "the trend chart", `!!document.querySelector('svg#trend-chart polyline[data-series="posts"]')`, 20*time.Second)
		// Read the drawing itself: the highest point of the posts line must
		// sit in the last minutes, far above where the line ran before.
		type drawing struct {
			Xs, Ys              []float64
			Bottom, Left, Right float64
		}
		geo := eval[drawing](t, b, `(() => {
			const svg = document.querySelector('svg#trend-chart');
			const pts = svg.querySelector('polyline[data-series="posts"]').getAttribute('points').trim().split(/\s+/).map(p => p.split(',').map(Number));
			const axis = svg.querySelector('line.axis-x');
			return { Xs: pts.map(p => p[0]), Ys: pts.map(p => p[1]), Bottom: Number(axis.getAttribute('y1')), Left: Number(axis.getAttribute('x1')), Right: Number(axis.getAttribute('x2')) };
		})()`)
		if len(geo.Ys) < 55 {
			t.Fatalf("posts line has %d points, want an hour at 1 min steps", len(geo.Ys))
		}
		peak := 0
		for i, y := range geo.Ys {
			if y < geo.Ys[peak] {
				peak = i
			}
		}
		peakHeight := geo.Bottom - geo.Ys[peak]
		var before float64
		for _, y := range geo.Ys[:len(geo.Ys)*3/4] {
			before = max(before, geo.Bottom-y)
		}
		if pos := (geo.Xs[peak] - geo.Left) / (geo.Right - geo.Left); pos < 0.8 {
			t.Errorf("the peak is drawn at %.0f%% of the time axis, want it at the end (the surge is the last %d minutes of the hour)", pos*100, surgeMinutes)
		}
		if peakHeight < 100 || peakHeight < 5*before {
			t.Errorf("the peak stands %.0f px high against %.0f px before it, want a spike", peakHeight, before)
		}
		wait[bool](t, b, "the 451 4.3.2 code in the codes table", `[...document.querySelectorAll('#h-codes ~ table code')].some(c => c.textContent === '451 4.3.2')`, 10*time.Second)
		links := eval[[]string](t, b, `[...document.querySelectorAll('.post a[href^="https://bsky.app/profile/"]')].map(a => a.href)`)
		if len(links) == 0 || !strings.Contains(links[0], "/post/3web") {
			t.Errorf("sample posts link to %v, want their bsky.app pages", links)
		}
		regions := eval[string](t, b, `document.querySelector('#h-regions').parentElement.innerText`)
		if !strings.Contains(regions, "Chicago") && !strings.Contains(regions, "North America") && !strings.Contains(regions, "Toronto") {
			t.Errorf("regions panel says %q, want the places people named", regions)
		}
		b.shot(t, "service")
		b.accessible(t, "service page")
		b.noProblems(t, "service page")
	})

	t.Run("search highlights", func(t *testing.T) {
		b.open(t, "#/search")
		wait[bool](t, b, "the search form", `!!document.getElementById('q')`, 10*time.Second)
		if err := chromedp.Do(b.ctx, chromedp.SendKeys(chromedp.ID("q"), "outlook\n")); err != nil {
			t.Fatal(err)
		}
		marks := wait[[]string](t, b, "highlighted results", `(() => {
			const m = [...document.querySelectorAll('#results .post mark')].map(e => e.textContent);
			return m.length ? m : null;
		})()`, 20*time.Second)
		for _, m := range marks {
			if !strings.EqualFold(m, "outlook") {
				t.Errorf("highlighted %q, want only the query term", m)
			}
		}
		total := eval[string](t, b, `document.getElementById('h-results').textContent`)
		facets := eval[int](t, b, `document.querySelectorAll('[data-facet]').length`)
		if facets == 0 {
			t.Error("no facets to refine the search")
		}
		href := eval[string](t, b, `document.querySelector('a[data-export="csv"]').href`)
		if !strings.Contains(href, "q=outlook") || !strings.Contains(href, "format=csv") {
			t.Errorf("CSV export link %s does not carry the query", href)
		}
		res, err := http.Get(href)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		rows := strings.Count(strings.TrimSpace(string(body)), "\n")
		if res.StatusCode != http.StatusOK || rows == 0 || !strings.Contains(total, strings.TrimSpace(strings.Fields(total)[0])) {
			t.Errorf("export: %d with %d rows for %q", res.StatusCode, rows, total)
		}
		t.Logf("search: %s, %d marks, %d csv rows", total, len(marks), rows)
		// The hostile post is among the newest: shown as text, never run.
		shown := eval[bool](t, b, `[...document.querySelectorAll('#results .post .text')].some(e => e.textContent.includes('<img src=x onerror='))`)
		if !shown {
			t.Error("the post with markup in its text is not shown as text on the first page")
		}
		if n := eval[int](t, b, `document.querySelectorAll('#results .post img, #results .post script').length`); n != 0 {
			t.Errorf("%d elements made from post text", n)
		}
		if v := eval[string](t, b, `String(window.__pwned)`); v != "undefined" {
			t.Errorf("post text ran a script: window.__pwned = %s", v)
		}
		b.shot(t, "search")
		// The next page holds other posts.
		first := eval[string](t, b, `document.querySelector('#results .post .text').textContent + document.querySelector('#results .post time').getAttribute('datetime')`)
		if eval[bool](t, b, `!!document.querySelector('a[rel="next"]')`) {
			eval[chromedp.Void](t, b, `document.querySelector('a[rel="next"]').click()`)
			wait[bool](t, b, "page 2", `document.getElementById('h-results') && document.getElementById('h-results').textContent.includes('page 2')`, 10*time.Second)
			second := eval[string](t, b, `document.querySelector('#results .post .text').textContent + document.querySelector('#results .post time').getAttribute('datetime')`)
			if second == first {
				t.Errorf("page 2 starts with the same post as page 1")
			}
		}
		b.accessible(t, "search page")
		b.noProblems(t, "search page")
	})

	t.Run("incidents", func(t *testing.T) {
		b.open(t, "#/incidents")
		state := wait[string](t, b, "the incident in the list", fmt.Sprintf(`(() => {
			const row = document.querySelector('tr[data-incident=%q]');
			return row ? row.querySelector('.badge').dataset.state : '';
		})()`, incidentID), 20*time.Second)
		if state != "firing" {
			t.Errorf("incident %s is %q in the list, want firing", incidentID, state)
		}
		b.shot(t, "incidents")
		b.accessible(t, "incident list")
		eval[chromedp.Void](t, b, fmt.Sprintf(`document.querySelector('tr[data-incident=%q] a').click()`, incidentID))
		wait[bool](t, b, "the incident's timeline chart", `!!document.querySelector('svg#incident-chart [data-series="authors"]')`, 20*time.Second)
		// Deliveries are an administrative view: the token is asked for.
		if err := chromedp.Do(b.ctx, chromedp.SendKeys(chromedp.ID("admin-token"), adminToken+"\n")); err != nil {
			t.Fatal(err)
		}
		hook.waitDelivered(t, 30*time.Second)
		rows := wait[[]string](t, b, "the delivery of incident.firing", `(() => {
			const r = [...document.querySelectorAll('#delivery-table tbody tr')].map(tr => tr.dataset.status + ' ' + tr.querySelector('code').textContent);
			return r.some(x => x === 'delivered incident.firing') ? r : null;
		})()`, 30*time.Second)
		t.Logf("deliveries shown: %v", rows)
		b.shot(t, "incident")
		b.accessible(t, "incident page")
		b.noProblems(t, "incidents")
	})

	t.Run("silences", func(t *testing.T) {
		// Silencing the group mutes the incident: the incident list, the
		// overview and the list of silences all say so.
		p.PostJSON(t, "/v1/silences", adminToken, json.RawMessage(`{"service":"Microsoft 365","duration":"2h","comment":"vendor engaged"}`))
		b.open(t, "#/incidents")
		row := wait[string](t, b, "the silence in the list", `(() => {
			const r = document.querySelector('#silence-table tr[data-service="Microsoft 365"]');
			return r ? r.textContent : '';
		})()`, 20*time.Second)
		if !strings.Contains(row, "In force") || !strings.Contains(row, "vendor engaged") {
			t.Errorf("silence row %q, want in force with its comment", row)
		}
		wait[bool](t, b, "the incident marked silenced", fmt.Sprintf(`!!document.querySelector('tr[data-incident=%q] .muted-tag')`, incidentID), 20*time.Second)
		b.shot(t, "silences")
		b.accessible(t, "incident list with silences")
		b.open(t, "#/")
		wait[bool](t, b, "Outlook's card marked silenced", `!!document.querySelector('.service-card[data-service="Outlook"] .muted-tag')`, 30*time.Second)
		b.shot(t, "overview-silenced")
		b.accessible(t, "overview with silences")
		b.noProblems(t, "silences")
	})

	t.Run("label a post", func(t *testing.T) {
		// A tab given the admin token (as the incident page does) offers the
		// correction on each post, and a click stores it through the API.
		b.open(t, "#/search")
		eval[chromedp.Void](t, b, fmt.Sprintf(`sessionStorage.setItem('downsignal.adminToken', %q)`, adminToken))
		b.open(t, "#/search")
		wait[bool](t, b, "the search form", `!!document.getElementById('q')`, 10*time.Second)
		if err := chromedp.Do(b.ctx, chromedp.SendKeys(chromedp.ID("q"), "outlook\n")); err != nil {
			t.Fatal(err)
		}
		uri := wait[string](t, b, "a post with the correction buttons", `(() => {
			const li = [...document.querySelectorAll('#results li.post')].find(li => li.querySelector('.label-control button[data-outage="false"]'));
			return li ? li.dataset.uri : '';
		})()`, 20*time.Second)
		eval[chromedp.Void](t, b, fmt.Sprintf(`document.querySelector('li.post[data-uri=%q] .label-control button[data-outage="false"]').click()`, uri))
		wait[bool](t, b, "the correction shown", fmt.Sprintf(`document.querySelector('li.post[data-uri=%q] .label-said').dataset.label === 'false'`, uri), 10*time.Second)
		var post struct {
			Outage bool `json:"outage"`
			Label  *struct {
				Outage bool `json:"outage"`
			} `json:"label"`
		}
		p.GetJSON(t, "/v1/posts/"+url.PathEscape(uri), &post)
		if post.Label == nil || post.Label.Outage {
			t.Errorf("after the click the API shows label %+v for %s, want 'not an outage'", post.Label, uri)
		}
		b.shot(t, "search-labelled")
		b.accessible(t, "search with the correction control")
		b.noProblems(t, "label a post")
	})

	t.Run("as of", func(t *testing.T) {
		// The overview as it was a minute after the incident fired, and an
		// hour before the complaints began.
		var in struct {
			FiringAt  time.Time `json:"firing_at"`
			StartedAt time.Time `json:"started_at"`
		}
		p.GetJSON(t, "/v1/incidents/"+url.PathEscape(incidentID), &in)
		b.open(t, "#/?at="+url.QueryEscape(in.FiringAt.Add(time.Minute).Format(time.RFC3339)))
		wait[bool](t, b, "the incident firing then", fmt.Sprintf(`!!document.querySelector('#h-open ~ .incidents a.incident-card.firing[data-incident=%q]') && document.querySelector('main h1').textContent.startsWith('As of')`, incidentID), 20*time.Second)
		b.shot(t, "overview-as-of")
		b.accessible(t, "overview as of a past time")
		b.open(t, "#/?at="+url.QueryEscape(in.StartedAt.Add(-time.Hour).Format(time.RFC3339)))
		wait[bool](t, b, "no incident an hour before", `(() => {
			const h = document.querySelector('main h1');
			return !!h && h.textContent.startsWith('As of') && !document.querySelector('.incident-card') && !!document.querySelector('#h-open ~ .empty');
		})()`, 20*time.Second)
		// A live page does not rebuild under someone typing a time.
		b.open(t, "#/")
		wait[bool](t, b, "the live overview", `!!document.getElementById('as-of') && document.querySelector('main h1').textContent === 'Right now'`, 20*time.Second)
		eval[chromedp.Void](t, b, `(() => { const i = document.getElementById('as-of'); i.focus(); i.value = '2026-01-22T19:45'; })()`)
		time.Sleep(7 * time.Second) // longer than the 5 s refresh
		if v := eval[string](t, b, `document.activeElement.id + ' ' + document.getElementById('as-of').value`); v != "as-of 2026-01-22T19:45" {
			t.Errorf("after a refresh period the field holds %q, want the typed time, still focused", v)
		}
		eval[chromedp.Void](t, b, `document.activeElement.blur()`)
		b.noProblems(t, "as of")
	})

	t.Run("keyboard", func(t *testing.T) {
		b.open(t, "#/")
		wait[bool](t, b, "the overview", `!!document.querySelector('.service-card')`, 20*time.Second)
		eval[chromedp.Void](t, b, `document.activeElement && document.activeElement.blur()`)
		b.keys(t, "t")
		if theme := eval[string](t, b, `document.documentElement.dataset.theme + ' ' + localStorage.getItem('downsignal.theme')`); theme != "dark dark" {
			t.Errorf("after t the theme is %q, want dark (and remembered)", theme)
		}
		b.keys(t, "t")
		b.keys(t, "gi")
		wait[bool](t, b, "g i to go to incidents", `location.hash.startsWith('#/incidents')`, 5*time.Second)
		b.keys(t, "/")
		wait[bool](t, b, "/ to focus the query", `document.activeElement && document.activeElement.id === 'q'`, 5*time.Second)
		// A chart is read with the arrow keys.
		b.open(t, "#/service/Outlook?range=1h")
		wait[bool](t, b, "the trend chart", `!!document.querySelector('svg#trend-chart polyline[data-series="posts"]')`, 20*time.Second)
		eval[chromedp.Void](t, b, `document.getElementById('trend-chart').focus()`)
		b.keys(t, kb.ArrowLeft+kb.ArrowLeft)
		tip := wait[string](t, b, "the chart's reading", `(() => { const t = document.querySelector('.chart-tip'); return t && !t.hidden ? t.textContent : ''; })()`, 5*time.Second)
		if !strings.Contains(tip, "outage posts") || !strings.Contains(tip, "distinct authors") {
			t.Errorf("the chart reads %q, want the counts of a step", tip)
		}
		b.noProblems(t, "keyboard")
	})

	t.Run("live update", func(t *testing.T) {
		b.open(t, "#/")
		wait[bool](t, b, "the overview", `!!document.querySelector('.service-card[data-service="Outlook"]')`, 20*time.Second)
		if eval[bool](t, b, `!!document.querySelector('.service-card[data-service="Slack"]')`) {
			t.Fatal("Slack is above normal before anyone complained")
		}
		eval[chromedp.Void](t, b, `window.__sameDocument = true`)
		// Another ingest worker's posts arrive: Slack fails for many people.
		produced := time.Now()
		produce(t, p, slackComplaints(produced.UTC(), 30))
		wait[bool](t, b, "Slack to appear without a reload", `!!document.querySelector('.service-card[data-service="Slack"]') && window.__sameDocument === true`, 30*time.Second)
		t.Logf("Slack is on the overview %v after its posts were produced", time.Since(produced).Round(time.Millisecond))
		b.noProblems(t, "live update")
	})
}

// slackComplaints are n distinct people saying Slack fails, just now.
func slackComplaints(now time.Time, n int) []string {
	texts := []string{
		"Slack is down, messages won't send",
		"Is Slack down? can't load a single channel",
		"Slack not working for anyone else? stuck on connecting",
	}
	var lines []string
	for i := range n {
		at := now.Add(-time.Duration(n-i) * time.Second)
		lines = append(lines, apptest.JetstreamPost(fmt.Sprintf("did:plc:slacker%03d", i), fmt.Sprintf("3slk%05d", i), at, texts[i%len(texts)]))
	}
	return lines
}

// produce writes Jetstream lines into downsignal.posts the way an ingest
// worker does, while the pipeline runs.
func produce(t *testing.T, p *apptest.Process, lines []string) {
	t.Helper()
	w := broker.NewProducer(broker.WriterOptions{Brokers: p.App.Brokers(), Topic: broker.PostsTopic})
	defer w.Close()
	var recs []broker.Record
	for _, l := range lines {
		ev, _, err := jetstream.Decode([]byte(l), "test")
		if err != nil {
			t.Fatal(err)
		}
		if recs, err = broker.Encode(recs, &ev); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := w.Produce(ctx, recs); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

const adminToken = "dashboard-test-token"

// receiver is a webhook endpoint on loopback that takes every delivery.
type receiver struct {
	*httptest.Server
	mu    sync.Mutex
	types []string
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var ev struct {
			Type string `json:"type"`
		}
		_ = json.NewDecoder(req.Body).Decode(&ev)
		r.mu.Lock()
		r.types = append(r.types, ev.Type)
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) waitDelivered(t *testing.T, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		r.mu.Lock()
		got := slices.Contains(r.types, "incident.firing")
		r.mu.Unlock()
		if got {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the receiver got no incident.firing within %v", timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitFiring waits until the detector fires for the replayed outage and
// returns the incident's id.
func waitFiring(t *testing.T, p *apptest.Process) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var list struct {
			Incidents []struct {
				ID       string   `json:"id"`
				Service  string   `json:"service"`
				Services []string `json:"services"`
			} `json:"incidents"`
		}
		p.GetJSON(t, "/v1/incidents?state=firing", &list)
		for _, in := range list.Incidents {
			if slices.Contains(in.Services, "Outlook") {
				t.Logf("incident %s fires for %s %v", in.ID, in.Service, in.Services)
				return in.ID
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no firing incident naming Outlook within 60s: %+v", list.Incidents)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// run and serve mount the dashboard at "/" unless told not to; the API is
// there either way.
func TestRunServesDashboardUnlessTurnedOff(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "empty.jsonl")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, off := range []bool{false, true} {
		t.Run(fmt.Sprintf("no-dashboard=%v", off), func(t *testing.T) {
			p := apptest.Start(t, app.Options{Source: "replay:" + empty, NoDashboard: off})
			p.WaitReplayed(t)
			res, err := http.Get(p.URL() + "/")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			page := res.StatusCode == http.StatusOK && strings.Contains(string(body), `<script type="module"`)
			if page == off {
				t.Errorf("GET / with NoDashboard=%v: %d %.80s", off, res.StatusCode, body)
			}
			var health map[string]string
			p.GetJSON(t, "/healthz", &health)
		})
	}
}
