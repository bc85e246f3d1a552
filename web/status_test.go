package web_test

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/downsignal/downsignal/app"
	"github.com/downsignal/downsignal/health"
	"github.com/downsignal/downsignal/ingest/ingesttest"
	"github.com/downsignal/downsignal/internal/apptest"
)

// poster keeps a fake Jetstream posting everyday chatter every 200 ms, as a
// live stream does; with a short stall-after, a quiet second would
// otherwise read as a stalled source.
type poster struct {
	stop chan struct{}
	done sync.WaitGroup
}

func startPosting(js *ingesttest.Jetstream, from int) *poster {
	p := &poster{stop: make(chan struct{})}
	p.done.Add(1)
	go func() {
		defer p.done.Done()
		for i := from; ; i++ {
			select {
			case <-p.stop:
				return
			case <-time.After(200 * time.Millisecond):
			}
			js.Post(fmt.Sprintf("did:plc:crowd%05d", i%500), fmt.Sprintf("3stl%07d", i), chatterTexts[i%len(chatterTexts)])
		}
	}()
	return p
}

func (p *poster) halt() {
	close(p.stop)
	p.done.Wait()
}

// sourceState polls /v1/status until the source is in state s.
func sourceState(t *testing.T, p *apptest.Process, s health.State, limit time.Duration) health.Status {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		var st health.Status
		p.GetJSON(t, "/v1/status", &st)
		if st.Source.State == s {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("source not %s within %v: %+v", s, limit, st.Source)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The whole program in-process, reading a Jetstream that dies: the banner
// says on every page since when no post came and why (the dial error), the
// overview gives no all-clear while it lasts, and once the source is back
// and posts flow the banner goes. The test logs how long after the source
// died the banner showed (stall-after 2 s, the page refreshing every 5 s).
func TestStaleSourceBanner(t *testing.T) {
	exe := chromium(t)
	js, err := ingesttest.NewJetstream(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(js.Close)
	const stallAfter = 2 * time.Second
	p := apptest.Start(t, app.Options{JetstreamURL: js.URL(), StallAfter: stallAfter})
	posting := startPosting(js, 0)
	sourceState(t, p, health.Live, 60*time.Second)

	b := newBrowser(t, exe, p.URL(), artifacts(t))
	b.open(t, "#/")
	eval[chromedp.Void](t, b, `localStorage.setItem('downsignal.refresh', '5'); localStorage.removeItem('downsignal.zone')`)
	if err := chromedp.Do(b.ctx, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	wait[bool](t, b, "the all-clear of a live source", `document.getElementById('moment').hidden && (document.querySelector('main') || {innerText: ''}).innerText.includes('No service is above its normal level')`, 30*time.Second)

	posting.halt()
	js.Down()
	died := time.Now()
	wait[bool](t, b, "the stale banner", `!!document.querySelector('#moment .stale')`, 30*time.Second)
	t.Logf("banner shown %s after the source died (stall-after %s, refresh every 5 s)", time.Since(died).Round(10*time.Millisecond), stallAfter)
	checkNoAllClear(t, b, "the overview as the banner shows")
	banner := wait[string](t, b, "the dial error on the banner", `(() => { const s = (document.querySelector('#moment .stale') || {}).textContent || ''; return s.includes('refused') ? s : ''; })()`, 30*time.Second)
	t.Logf("dial error on the banner %s after the source died", time.Since(died).Round(10*time.Millisecond))
	st := sourceState(t, p, health.Stalled, 30*time.Second)
	if st.Source.LastEventAt == nil || !strings.Contains(st.Source.LastError, "refused") {
		t.Fatalf("stalled source reported as %+v", st.Source)
	}
	want := fmt.Sprintf("No posts since %s UTC, results are incomplete: ", st.Source.LastEventAt.UTC().Format("15:04"))
	if !strings.HasPrefix(banner, want) || !regexp.MustCompile(`: dial tcp 127\.0\.0\.1:\d+: connect: connection refused`).MatchString(banner) {
		t.Errorf("banner says %q, want %q and the dial error", banner, want+"dial tcp ...: connection refused")
	}
	wait[bool](t, b, "the banner to say stalled", `((document.querySelector('#moment .stale') || {}).textContent || '').includes('stalled')`, 20*time.Second)
	checkNoAllClear(t, b, "the overview of a stalled source")
	b.shot(t, "stale-source")
	// The banner is on every page.
	for _, pg := range []struct{ hash, ready string }{
		{"#/incidents", `(document.querySelector('main h1') || {}).textContent === 'Incidents'`},
		{"#/search?q=coffee", `!!document.getElementById('q')`},
		{"#/service/Outlook", `!!document.querySelector('svg#trend-chart')`},
	} {
		b.open(t, pg.hash)
		wait[bool](t, b, "the banner on "+pg.hash, pg.ready+` && ((document.querySelector('#moment .stale') || {}).textContent || '').includes('results are incomplete')`, 20*time.Second)
	}

	// The source comes back and posts flow: the banner goes at the next
	// refresh, and a quiet overview may say so again.
	if err := js.Up(); err != nil {
		t.Fatal(err)
	}
	posting = startPosting(js, 100_000)
	defer posting.halt()
	sourceState(t, p, health.Live, 60*time.Second)
	b.open(t, "#/")
	wait[bool](t, b, "the banner gone", `!document.querySelector('#moment .stale') && document.getElementById('moment').hidden`, 20*time.Second)
	wait[bool](t, b, "the all-clear again", `(document.querySelector('main') || {innerText: ''}).innerText.includes('No service is above its normal level')`, 20*time.Second)
	if s := eval[string](t, b, `document.getElementById('live').dataset.state`); s != "ok" {
		t.Errorf("header status %q with the source live again, want ok", s)
	}
	b.noProblems(t, "stale banner")
}

// checkNoAllClear fails the test if the overview reads quiet as all clear.
func checkNoAllClear(t *testing.T, b *browser, where string) {
	t.Helper()
	b.open(t, "#/")
	wait[bool](t, b, where, `!!document.querySelector('.stat.above') && !!document.querySelector('#moment .stale')`, 20*time.Second)
	text := eval[string](t, b, `document.querySelector('main').innerText`)
	if strings.Contains(text, "No service is above its normal level") || strings.Contains(text, "No open incidents.") {
		t.Errorf("%s gives an all-clear while the source is down:\n%s", where, text)
	}
	if !eval[bool](t, b, `document.querySelector('.stat.above').classList.contains('unknown')`) {
		t.Errorf("%s: the count of services above normal is marked all clear", where)
	}
	if s := eval[string](t, b, `document.getElementById('live').dataset.state`); s != "error" {
		t.Errorf("%s: header status %q, want error", where, s)
	}
}
