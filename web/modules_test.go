package web_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/downsignal/downsignal/web"
)

// The dashboard's own JavaScript, run in Chromium: the statistics behind
// the baseline band, the axis ticks, the routes, and the rendering of
// untrusted post text and search fragments.
func TestModulesInBrowser(t *testing.T) {
	exe := chromium(t)
	d, err := web.New()
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", d)
	mux.Handle("GET /assets/", d)
	// The page asks the API for data; here there is none, and that is
	// not what this test looks at.
	var failing atomic.Bool
	mux.HandleFunc("/v1/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if failing.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, `{"error":"restarting"}`)
			return
		}
		fmt.Fprint(w, `{"services":[],"incidents":[],"codes":[],"hits":[],"silences":[],"total":0}`)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	b := newBrowser(t, exe, srv.URL, t.TempDir())
	b.open(t, "#/")
	wait[bool](t, b, "the page's modules", `document.title.includes('downsignal') && !!document.querySelector('main h1')`, 20*time.Second)

	evalAwait := func(t *testing.T, body string) string {
		t.Helper()
		v, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`(async () => {
			const chart = await import('./assets/js/chart.js');
			const dom = await import('./assets/js/dom.js');
			const fmt = await import('./assets/js/format.js');
			const main = await import('./assets/js/main.js');
			const ui = await import('./assets/js/ui.js');
			`+body+`
		})()`, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("evaluate: %v", err)
		}
		return v
	}

	for _, tc := range []struct{ name, body, want string }{
		// Central 95% of Poisson(lambda): 0.025 and 0.975 quantiles.
		{"poisson 4", `return JSON.stringify(chart.poissonInterval(4))`, "[1,8]"},
		{"poisson 0.3", `return JSON.stringify(chart.poissonInterval(0.3))`, "[0,2]"},
		{"poisson none", `return JSON.stringify(chart.poissonInterval(0))`, "[0,0]"},
		{"poisson large", `const [lo, hi] = chart.poissonInterval(400); return lo + ',' + hi`, "360,440"},
		{"ticks", `return JSON.stringify(chart.niceTicks(37, 4))`, `{"ticks":[0,10,20,30,40],"top":40}`},
		{"ticks small", `return JSON.stringify(chart.niceTicks(0, 4).ticks)`, "[0,1]"},
		{"time ticks every 10 min", `const t0 = Date.UTC(2026, 0, 22, 19, 3); const ts = chart.timeTicks(t0, t0 + 3600e3, 8);
			return ts.map(x => (x.t - t0) / 60e3).join(',')`, "7,17,27,37,47,57"},
		{"bsky link", `return fmt.bskyURL('at://did:plc:abc123/app.bsky.feed.post/3kxyz')`, "https://bsky.app/profile/did:plc:abc123/post/3kxyz"},
		{"no link for other records", `return String(fmt.bskyURL('at://did:plc:abc/app.bsky.feed.like/3k'))`, "null"},
		{"ratio", `return [fmt.ratio(30, 1.5), fmt.ratio(3, 2), fmt.ratio(5, 0), fmt.ratio(0, 2)].join('|')`, "20× normal|1.5× normal|new (none expected)|none"},
		// No expected level (the baseline is learning): no ratio, and no band.
		{"ratio learning", `return [fmt.ratio(111, null), fmt.ratio(0, null)].join('|')`, "learning|learning"},
		{"sparkline band", `const n = (pts) => chart.sparkline(pts, 'x').querySelectorAll('polygon').length;
			return n([{posts: 1, expected: null}, {posts: 40, expected: null}]) + '|' + n([{posts: 1, expected: null}, {posts: 2, expected: 1}, {posts: 3, expected: 1}])`, "0|1"},
		{"route service", `const r = main.route('#/service/Microsoft%20365?range=24h'); return r.arg + '|' + r.params.get('range')`, "Microsoft 365|24h"},
		{"route unknown", `return main.route('#/nope/x/y').page.title`, "Not found"},
		// A fragment is escaped text with marks: the marks become <mark>,
		// anything else, markup included, stays text.
		{"fragment", `const box = document.createElement('div');
			box.append(...dom.highlighted('&lt;img src=x onerror=alert(1)&gt; <mark>Outlook</mark> down &amp; out'));
			return box.querySelectorAll('img').length + '|' + box.querySelectorAll('mark').length + '|' + box.textContent`,
			"0|1|<img src=x onerror=alert(1)> Outlook down & out"},
		{"fragment with raw markup", `const box = document.createElement('div');
			box.append(...dom.highlighted('<b onmouseover=x>bold</b> <mark>hit</mark>'));
			return box.querySelectorAll('b').length + '|' + box.textContent`, "0|<b onmouseover=x>bold</b> hit"},
		// An incident says its size in its kind's terms: a volume drop
		// (fields as GET /v1/incidents gives them; observed_volume is left
		// out at 0) has posts per minute, never people.
		{"volume drop size", `const k = ui.incidentKind({kind: 'volume_drop', service: 'Bluesky', expected_volume: 28.6, peak_authors: 0, reports: 0});
			return k.short() + '|' + k.size({kind: 'volume_drop', expected_volume: 28.6}) + '|' + k.peak({expected_volume: 28.6, observed_volume: 1.4})`,
			"Bluesky volume drop|Bluesky's post volume fell to 0 a minute from 29 expected|1 of 29 posts/min"},
		{"reports size", `const inc = {kind: 'reports', service: 'Microsoft 365', hot_regions: ['Chicago'], peak_authors: 1234, reports: 4321};
			const k = ui.incidentKind(inc); return k.short(inc) + '|' + k.size(inc) + '|' + ui.incidentKind({service: 'Slack'}).short({service: 'Slack'})`,
			"Microsoft 365 outage in Chicago|Peak 1,234 people in one window · 4,321 reports in all|Slack outage"},
		{"text stays text", `return dom.h('p', null, '<script>window.__x=1</script>').innerHTML`, "&lt;script&gt;window.__x=1&lt;/script&gt;"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := evalAwait(t, tc.body); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	if s := strings.TrimSpace(evalAwait(t, `return String(window.__x)`)); s != "undefined" {
		t.Errorf("a script in post text ran: %s", s)
	}
	b.noProblems(t, "modules")

	// A page that could not load tries again by itself: downsignal may
	// have been restarting.
	t.Run("recovers", func(t *testing.T) {
		eval[chromedp.Void](t, b, `localStorage.setItem('downsignal.refresh', '5'); document.getElementById('refresh').value = '5'; window.__sameDocument = true`)
		failing.Store(true)
		b.open(t, "#/incidents")
		msg := wait[string](t, b, "the failure shown", `(document.querySelector('.error-box') || {}).textContent`, 10*time.Second)
		if !strings.Contains(msg, "restarting") {
			t.Errorf("error shown %q, want the server's message", msg)
		}
		failing.Store(false)
		wait[bool](t, b, "the page after the server is back", `!document.querySelector('.error-box') && (document.querySelector('main h1') || {}).textContent === 'Incidents' && window.__sameDocument === true`, 15*time.Second)
		// The browser logs the 503s it got; nothing else may appear.
		b.noProblemsBut(t, "recovery", "status of 503")
	})
}
