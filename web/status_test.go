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

// A source that brings no posts is said on every page, and the overview
// gives no all-clear while it lasts. The server here answers GET /v1/status
// in its documented shape (a source reconnecting since its last post at
// 21:03 UTC), then as live again; everything else is empty.
func TestStaleSourceBanner(t *testing.T) {
	exe := chromium(t)
	d, err := web.New()
	if err != nil {
		t.Fatal(err)
	}
	var live atomic.Bool
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", d)
	mux.Handle("GET /assets/", d)
	mux.HandleFunc("GET /v1/openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"openapi":"3.1.0","paths":{"/v1/status":{"get":{}}}}`)
	})
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		now := time.Now().UTC()
		last := time.Date(now.Year(), now.Month(), now.Day(), 21, 3, 0, 0, time.UTC)
		if last.After(now) {
			last = last.Add(-24 * time.Hour)
		}
		state, lastErr, away := "reconnecting", "dial tcp 127.0.0.1:9: connect: connection refused", now.Sub(last).Seconds()
		if live.Load() {
			last, state, lastErr, away = now, "live", "", 0
		}
		fmt.Fprintf(w, `{"now":%q,"stream_time":%q,"source":{"name":"jetstream","state":%q,"since":%q,"last_error":%q,
			"last_error_at":null,"last_event_at":%q,"last_event_time":%q,"events_per_second":0,"reconnects":3,"gaps":0,
			"stall_after_seconds":300,"away_seconds":%g},"stages":[]}`,
			now.Format(time.RFC3339), last.Format(time.RFC3339), state, last.Format(time.RFC3339), lastErr,
			last.Format(time.RFC3339), last.Format(time.RFC3339), away)
	})
	mux.HandleFunc("/v1/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"services":[],"incidents":[],"codes":[],"hits":[],"silences":[],"total":0}`)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	b := newBrowser(t, exe, srv.URL, artifacts(t))
	b.open(t, "#/")
	eval[chromedp.Void](t, b, `localStorage.setItem('downsignal.refresh', '5'); localStorage.removeItem('downsignal.zone')`)
	if err := chromedp.Do(b.ctx, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	banner := wait[string](t, b, "the stale banner", `(document.querySelector('#moment .stale') || {}).textContent || ''`, 20*time.Second)
	if !strings.Contains(banner, "No posts since 21:03 UTC, results are incomplete: dial tcp 127.0.0.1:9: connect: connection refused") {
		t.Errorf("banner says %q", banner)
	}
	wait[bool](t, b, "the overview", `!!document.querySelector('.stat.above')`, 20*time.Second)
	text := eval[string](t, b, `document.querySelector('main').innerText`)
	if strings.Contains(text, "No service is above its normal level") {
		t.Errorf("the overview gives an all-clear while the source is down:\n%s", text)
	}
	if !eval[bool](t, b, `document.querySelector('.stat.above').classList.contains('unknown')`) {
		t.Error("the count of services above normal is marked all clear")
	}
	if s := eval[string](t, b, `document.getElementById('live').dataset.state`); s != "error" {
		t.Errorf("header status %q, want error", s)
	}
	b.shot(t, "stale-source")
	// The banner is on every page.
	b.open(t, "#/incidents")
	wait[bool](t, b, "the banner on the incident list", `!!document.querySelector('#moment .stale') && (document.querySelector('main h1') || {}).textContent === 'Incidents'`, 20*time.Second)
	// Posts flow again: the banner goes at the next refresh.
	live.Store(true)
	b.open(t, "#/")
	wait[bool](t, b, "the banner gone", `!document.querySelector('#moment .stale') && document.getElementById('moment').hidden`, 20*time.Second)
	if !strings.Contains(eval[string](t, b, `document.querySelector('main').innerText`), "No service is above its normal level") {
		t.Error("with a live source and no service above normal, the overview does not say so")
	}
	b.noProblems(t, "stale banner")
}
