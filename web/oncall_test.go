package web_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/downsignal/downsignal/app"
	"github.com/downsignal/downsignal/health"
	"github.com/downsignal/downsignal/internal/apptest"
)

// streamEnd is where the recorded outage of the on-call tests ends: on
// 22 January 2026, long before the test runs, as in a post-mortem.
var streamEnd = time.Date(2026, 1, 22, 19, 40, 0, 0, time.UTC)

// The dashboard as an on-call engineer uses it, against a replay of an
// outage recorded on 22 January played at 600 times real time: on a phone
// and on a wall screen (nothing scrolls sideways, the header folds into a
// menu, tables become lists, chart labels never overlap), in a post-mortem
// (every link keeps the moment, a bar leads back to live, data that lies
// elsewhere is offered), during the replay (now is the stream's time, so
// the incident fires for its real duration) and across time zones (every
// time says its zone; 24-hour clocks).
func TestDashboardOnCall(t *testing.T) {
	exe := chromium(t)
	dir := artifacts(t)
	replay := incidentReplay(t, streamEnd, 7*time.Minute)
	p := apptest.Start(t, app.Options{Source: "replay:" + replay, ReplaySpeed: 600, AdminToken: adminToken})

	b := newBrowser(t, exe, p.URL(), dir)
	b.open(t, "#/")
	eval[chromedp.Void](t, b, `localStorage.setItem('downsignal.refresh', '5'); localStorage.setItem('downsignal.theme', 'light'); localStorage.removeItem('downsignal.zone')`)
	if err := chromedp.Do(b.ctx, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}

	var incidentID string
	t.Run("replay plays out in stream time", func(t *testing.T) {
		// The live overview follows the stream, not the wall clock: the
		// incident fires there, for minutes, not for 317 days.
		card := wait[string](t, b, "the incident firing in stream time", `(() => {
			const c = document.querySelector('a.incident-card.firing');
			return c ? c.dataset.incident + '\n' + c.innerText : '';
		})()`, 90*time.Second)
		incidentID, _, _ = strings.Cut(card, "\n")
		m := regexp.MustCompile(`Firing for (\d+) min`).FindStringSubmatch(card)
		if m == nil {
			t.Fatalf("the incident card reads %q, want \"Firing for N min\"", card)
		}
		if !regexp.MustCompile(`Started \d\d:\d\d UTC`).MatchString(card) || !regexp.MustCompile(`firing since \d\d:\d\d UTC`).MatchString(card) {
			t.Errorf("the incident card reads %q, want its clock times (started, firing since) in UTC", card)
		}
		label := eval[string](t, b, `(document.getElementById('moment') || {}).innerText || ''`)
		if !strings.Contains(label, "Stream time") || !strings.Contains(label, "2026-01-22") {
			t.Errorf("the moment bar says %q, want the stream time on 22 January", label)
		}
		people := eval[int](t, b, `Number((document.querySelector('.service-card[data-service="Outlook"] .nums b') || {}).textContent || 0)`)
		if people == 0 {
			t.Error("the Outlook card counts 0 people in stream time")
		}
		b.shot(t, "replay-stream-time")
		b.noProblems(t, "replay")
	})
	p.WaitReplayed(t)
	if incidentID == "" {
		var list struct {
			Incidents []struct {
				ID string `json:"id"`
			} `json:"incidents"`
		}
		p.GetJSON(t, "/v1/incidents?since="+url.QueryEscape(streamEnd.Add(-time.Hour).Format(time.RFC3339))+"&until="+url.QueryEscape(streamEnd.Format(time.RFC3339)), &list)
		if len(list.Incidents) == 0 {
			t.Fatal("no incident fired")
		}
		incidentID = list.Incidents[0].ID
	}
	var inc struct {
		Title     string    `json:"title"`
		StartedAt time.Time `json:"started_at"`
		FiringAt  time.Time `json:"firing_at"`
	}
	p.GetJSON(t, "/v1/incidents/"+url.PathEscape(incidentID), &inc)
	moment := inc.FiringAt.Add(3 * time.Minute).Format(time.RFC3339)

	t.Run("incident card and counts", func(t *testing.T) {
		b.open(t, "#/?at="+url.QueryEscape(moment))
		wait[bool](t, b, "the overview as of the outage", `!!document.querySelector('a.incident-card.firing') && !!document.querySelector('.service-card[data-service="Outlook"]')`, 20*time.Second)
		card := eval[string](t, b, `document.querySelector('a.incident-card.firing').innerText`)
		want := fmt.Sprintf("Firing for %d min", int(time.Minute*3/time.Minute))
		if !strings.Contains(card, want) {
			t.Errorf("as of 3 min after firing the card reads %q, want %q", card, want)
		}
		title := eval[string](t, b, `document.querySelector('a.incident-card .title').textContent`)
		if len(title) > 40 || len(title) >= len(inc.Title) {
			t.Errorf("card title %q (%d chars), want a short title for %q", title, len(title), inc.Title)
		}
		// The detector's title is not repeated on the service cards.
		if n := eval[int](t, b, fmt.Sprintf(`[...document.querySelectorAll('.service-card')].filter(c => c.textContent.includes(%q)).length`, inc.Title)); n != 0 {
			t.Errorf("the incident's full title is on %d service cards, want none", n)
		}
		// Outlook and Teams are above normal; their group (Microsoft 365)
		// and vendor (Microsoft) are not counted again.
		counted := eval[[]string](t, b, `[...document.querySelectorAll('#above-normal .service-card')].map(c => c.dataset.service).sort()`)
		n := eval[string](t, b, `document.querySelector('.stat.above .n').textContent`)
		if strings.Join(counted, ",") != "Microsoft Teams,Outlook" || n != "2" {
			t.Errorf("above normal: %v counted as %s, want Microsoft Teams and Outlook, 2", counted, n)
		}
		// Each card says which window its figures count.
		nums := eval[string](t, b, `document.querySelector('.service-card[data-service="Outlook"] .nums').innerText`)
		if !strings.Contains(nums, "15 min") {
			t.Errorf("card figures %q do not say their window", nums)
		}
		b.noProblems(t, "incident card")
	})

	t.Run("as of is what the detector knew then", func(t *testing.T) {
		asOfIncidentViews(t, b, p, incidentID, inc.FiringAt.Add(2*time.Minute))
	})

	t.Run("as of carries the moment", func(t *testing.T) {
		b.open(t, "#/?at="+url.QueryEscape(moment))
		wait[bool](t, b, "the overview as of", `!!document.querySelector('.service-card[data-service="Outlook"]') && !!document.querySelector('#moment a.back-live')`, 20*time.Second)
		b.shot(t, "postmortem-overview")
		readmeShot(t, "postmortem", b.viewport(t, "postmortem"))
		bad := eval[[]string](t, b, `[...document.querySelectorAll('main a[href^="#/"]:not(.back-live)')].map(a => a.getAttribute('href')).filter(h => !h.includes('at='))`)
		if len(bad) > 0 {
			t.Errorf("links without the moment: %v", bad)
		}
		back := eval[string](t, b, `document.querySelector('#moment a.back-live').getAttribute('href')`)
		if strings.Contains(back, "at=") {
			t.Errorf("back to live links to %q", back)
		}
		// The service card opens the range that ends at the moment.
		href := eval[string](t, b, `document.querySelector('.service-card[data-service="Outlook"] h3 a').getAttribute('href')`)
		b.open(t, href)
		wait[bool](t, b, "the service page as of", `!!document.querySelector('svg#trend-chart polyline[data-series="posts"]')`, 20*time.Second)
		peak := eval[int](t, b, `Math.max(...document.querySelector('svg#trend-chart polyline[data-series="posts"]').getAttribute('points').trim().split(/\s+/).map(p => Number(p.split(',')[1])).map(y => -y))`)
		_ = peak
		posts := eval[string](t, b, `document.querySelector('.chart-note').textContent`)
		if strings.HasPrefix(posts, "0 ") {
			t.Errorf("the service page as of the outage shows %q", posts)
		}
		badge := eval[string](t, b, `document.querySelector('#svc-state .badge').dataset.state`)
		if badge != "firing" {
			t.Errorf("service badge as of the outage is %q, want firing", badge)
		}
		bad = eval[[]string](t, b, `[...document.querySelectorAll('main a[href^="#/"]:not(.back-live)')].map(a => a.getAttribute('href')).filter(h => !h.includes('at='))`)
		if len(bad) > 0 {
			t.Errorf("service page links without the moment: %v", bad)
		}
		b.shot(t, "postmortem-service")
		// The incident page opens on the window around it.
		b.open(t, "#/incidents/"+url.PathEscape(incidentID)+"?at="+url.QueryEscape(moment))
		wait[bool](t, b, "the incident page", `!!document.querySelector('svg#incident-chart')`, 20*time.Second)
		bad = eval[[]string](t, b, `[...document.querySelectorAll('main a[href^="#/"]:not(.back-live)')].map(a => a.getAttribute('href')).filter(h => !h.includes('at='))`)
		if len(bad) > 0 {
			t.Errorf("incident page links without the moment: %v", bad)
		}
		b.shot(t, "postmortem-incident")
		// A moment with no data offers the range that has it.
		b.open(t, "#/?at="+url.QueryEscape(streamEnd.Add(40*24*time.Hour).Format(time.RFC3339)))
		offer := wait[string](t, b, "the offer of the data's range", `(() => { const a = document.querySelector('a.data-offer'); return a ? a.parentElement.textContent + '|' + a.getAttribute('href') : ''; })()`, 20*time.Second)
		if !strings.Contains(offer, "2026-01-22") || !strings.Contains(offer, "at=2026-01-22") {
			t.Errorf("offer %q, want the data on 2026-01-22", offer)
		}
		b.noProblems(t, "as of")
	})

	t.Run("every time says its zone", func(t *testing.T) {
		check := func(t *testing.T, page, zone string) {
			t.Helper()
			out := eval[[]string](t, b, `(() => {
				// Text outside the charts, whose ticks are bare clocks
				// under one zone caption (checked below).
				const parts = [];
				const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
				for (let n = walk.nextNode(); n; n = walk.nextNode()) {
					const el = n.parentElement;
					if (el.closest('svg, script, style, dialog:not([open]), [hidden]')) continue;
					parts.push(n.textContent);
				}
				const text = parts.join('\n');
				const bad = [];
				for (const m of text.matchAll(/\d{1,2}:\d\d(:\d\d)?(\s*[AP]M)?(\s+\S+)?/g)) {
					if (m[2] || !m[3] || !m[3].trim().startsWith(`+"`"+zone+"`"+`)) bad.push(m[0]);
				}
				for (const el of document.querySelectorAll('main time')) if (!el.textContent.includes(`+"`"+zone+"`"+`)) bad.push('<time> ' + el.textContent);
				for (const svg of document.querySelectorAll('main svg[id]')) if (!(svg.querySelector('.x-zone') || {}).textContent) bad.push('chart ' + svg.id + ' without its zone');
				return bad.slice(0, 12);
			})()`)
			for _, s := range out {
				t.Errorf("%s: time %q without %s or in 12-hour form", page, s, zone)
			}
		}
		for _, pg := range []struct{ hash, ready string }{
			{"#/incidents/" + url.PathEscape(incidentID) + "?at=" + url.QueryEscape(moment), `!!document.querySelector('svg#incident-chart .x-zone')`},
			{"#/service/Outlook?at=" + url.QueryEscape(moment), `!!document.querySelector('svg#trend-chart .x-zone')`},
			{"#/?at=" + url.QueryEscape(moment), `!!document.querySelector('.incident-card')`},
			{"#/incidents", `!!document.querySelector('#incident-table')`},
		} {
			b.open(t, pg.hash)
			wait[bool](t, b, pg.hash, pg.ready, 20*time.Second)
			check(t, pg.hash, "UTC")
		}
		// In New York, local time says so.
		if err := chromedp.Do(b.ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "America/New_York"})
			return err
		})); err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Do(b.ctx, chromedp.Reload()); err != nil {
			t.Fatal(err)
		}
		wait[bool](t, b, "the incident list again", `!!document.querySelector('#incident-table')`, 20*time.Second)
		check(t, "incidents in New York, default", "UTC")
		eval[chromedp.Void](t, b, `document.getElementById('zone').click()`)
		wait[bool](t, b, "local times", `(document.querySelector('#incident-table time') || {textContent: ''}).textContent.includes('EST')`, 10*time.Second)
		check(t, "incidents in New York, local", "EST")
		b.shot(t, "incidents-local-time")
		eval[chromedp.Void](t, b, `document.getElementById('zone').click()`)
		wait[bool](t, b, "UTC again", `(document.querySelector('#incident-table time') || {textContent: ''}).textContent.includes('UTC')`, 10*time.Second)
		b.noProblems(t, "zones")
	})

	t.Run("charts say what they count", func(t *testing.T) {
		b.open(t, "#/service/Outlook?at="+url.QueryEscape(moment)+"&range=24h")
		label := wait[string](t, b, "the y axis label", `(document.querySelector('svg#trend-chart .y-label') || {}).textContent || ''`, 20*time.Second)
		if label != "outage posts per 15 min" {
			t.Errorf("24 h chart's y axis says %q", label)
		}
		b.noProblems(t, "chart labels")
	})

	t.Run("silence from the incident page", func(t *testing.T) {
		b.open(t, "#/incidents/"+url.PathEscape(incidentID))
		wait[bool](t, b, "the token form", `!!document.getElementById('admin-token')`, 20*time.Second)
		if err := chromedp.Do(b.ctx, chromedp.SendKeys(chromedp.ID("admin-token"), adminToken+"\n")); err != nil {
			t.Fatal(err)
		}
		wait[bool](t, b, "the silence form", `!!document.querySelector('form.silence-form')`, 20*time.Second)
		if strings.Contains(eval[string](t, b, `location.href`), adminToken) {
			t.Error("the admin token is in the URL")
		}
		// A bad duration is refused with the API's rule, before sending.
		eval[chromedp.Void](t, b, `(() => { const f = document.querySelector('form.silence-form'); f.querySelector('[name=duration]').value = '-2h'; f.querySelector('button[type=submit]').click(); })()`)
		msg := wait[string](t, b, "the refusal", `(document.querySelector('form.silence-form .form-error') || {}).textContent || ''`, 10*time.Second)
		if !strings.Contains(msg, "positive duration") {
			t.Errorf("a negative duration is refused with %q", msg)
		}
		eval[chromedp.Void](t, b, `(() => { const f = document.querySelector('form.silence-form'); f.querySelector('[name=duration]').value = '2h'; f.querySelector('[name=comment]').value = 'vendor engaged'; f.querySelector('button[type=submit]').click(); })()`)
		wait[bool](t, b, "the silence made", `(document.querySelector('form.silence-form .form-done') || {}).textContent.includes('Silenced')`, 10*time.Second)
		var list struct {
			Silences []struct {
				Service, Comment string
			} `json:"silences"`
		}
		p.GetJSON(t, "/v1/silences", &list)
		if len(list.Silences) != 1 || list.Silences[0].Service != "Microsoft 365" || list.Silences[0].Comment != "vendor engaged" {
			t.Errorf("silences after the form: %+v, want one on Microsoft 365", list.Silences)
		}
		b.shot(t, "incident-silence")
		// The admin lifts it from the incident list.
		b.open(t, "#/incidents")
		wait[bool](t, b, "the lift button", `!!document.querySelector('#silence-table button.lift')`, 20*time.Second)
		eval[chromedp.Void](t, b, `document.querySelector('#silence-table button.lift').click()`)
		wait[bool](t, b, "the silence lifted", `!document.querySelector('#silence-table tr[data-silence]')`, 10*time.Second)
		p.GetJSON(t, "/v1/silences", &list)
		if len(list.Silences) != 0 {
			t.Errorf("silences after lifting: %+v, want none", list.Silences)
		}
		b.noProblems(t, "silence")
	})

	t.Run("no width scrolls sideways", func(t *testing.T) {
		pages := []struct{ name, hash, ready string }{
			{"overview", "#/?at=" + url.QueryEscape(moment), `!!document.querySelector('.service-card')`},
			{"service", "#/service/Outlook?at=" + url.QueryEscape(moment), `!!document.querySelector('svg#trend-chart polyline')`},
			{"incidents", "#/incidents", `!!document.querySelector('#incident-table')`},
			{"incident", "#/incidents/" + url.PathEscape(incidentID) + "?at=" + url.QueryEscape(moment), `!!document.querySelector('svg#incident-chart polyline')`},
			{"search", "#/search?q=outlook", `!!document.querySelector('#results .post')`},
		}
		for _, w := range []int64{360, 390, 768, 1400} {
			if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(w, 844)); err != nil {
				t.Fatal(err)
			}
			for _, pg := range pages {
				b.open(t, pg.hash)
				wait[bool](t, b, pg.name, pg.ready+` && document.documentElement.clientWidth === `+fmt.Sprint(w), 20*time.Second)
				eval[chromedp.Void](t, b, `new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))`)
				wide := eval[[]string](t, b, overflowCheck)
				for _, s := range wide {
					t.Errorf("%s at %d px: %s", pg.name, w, s)
				}
				for _, s := range eval[[]string](t, b, overlapCheck) {
					t.Errorf("%s at %d px: %s", pg.name, w, s)
				}
				if w == 390 {
					b.shot(t, "phone-"+pg.name)
					if pg.name == "overview" {
						readmeShot(t, "phone-overview", b.viewport(t, "phone-overview-viewport"))
					}
				}
			}
			if w <= 390 {
				// The header folds into a menu that opens in place.
				vis := eval[bool](t, b, `getComputedStyle(document.querySelector('.top nav')).display !== 'none' && document.querySelector('.top nav').getBoundingClientRect().width > 0`)
				if vis {
					t.Errorf("at %d px the navigation shows without opening the menu", w)
				}
				eval[chromedp.Void](t, b, `document.getElementById('menu').click()`)
				inside := eval[bool](t, b, `[...document.querySelectorAll('.top nav a, #refresh, #zone, #theme, #help')].every(e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.left >= 0 && r.right <= document.documentElement.clientWidth; })`)
				if !inside {
					t.Errorf("at %d px the open menu puts controls off-screen", w)
				}
				if w == 390 {
					b.viewport(t, "phone-menu")
				}
				eval[chromedp.Void](t, b, `document.getElementById('menu').click()`)
				// Tables read as lists.
				b.open(t, "#/incidents")
				wait[bool](t, b, "incidents", `!!document.querySelector('#incident-table')`, 20*time.Second)
				if d := eval[string](t, b, `getComputedStyle(document.querySelector('#incident-table tbody td')).display`); d != "block" {
					t.Errorf("at %d px the incident table's cells are %q, want block (a list)", w, d)
				}
			}
		}
		if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(1440, 900)); err != nil {
			t.Fatal(err)
		}
		b.noProblems(t, "widths")
	})
}

// readmeShot writes docs/name.png, one of the README's screenshots, with
// -update-screenshot.
func readmeShot(t *testing.T, name string, png []byte) {
	t.Helper()
	if !*updateScreenshot || png == nil {
		return
	}
	if err := os.WriteFile(filepath.Join("..", "docs", name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("updated docs/%s.png", name)
}

// overflowCheck lists what sticks out of the window sideways: the page's
// own scroll width, then the elements whose right edge passes it.
const overflowCheck = `(() => {
	const W = document.documentElement.clientWidth;
	const out = [];
	if (document.documentElement.scrollWidth > W) out.push('page scrolls ' + (document.documentElement.scrollWidth - W) + ' px sideways');
	for (const el of document.querySelectorAll('body *')) {
		if (el.closest('.visually-hidden, dialog:not([open]), [hidden], .chart-tip')) continue;
		const r = el.getBoundingClientRect();
		if (r.width > 0 && r.right > W + 1) out.push('<' + el.tagName.toLowerCase() + ' class="' + (el.getAttribute('class') || '') + '"> ends at ' + Math.round(r.right) + ' px');
		if (out.length > 8) break;
	}
	return out;
})()`

// overlapCheck lists pairs of chart labels that overlap.
const overlapCheck = `(() => {
	const out = [];
	for (const svg of document.querySelectorAll('main svg[id]')) {
		const boxes = [...svg.querySelectorAll('text')].filter(t => t.textContent.trim()).map(t => ({ t: t.textContent, r: t.getBoundingClientRect() })).filter(b => b.r.width > 0);
		for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
			const a = boxes[i].r, b = boxes[j].r;
			if (a.left < b.right - 0.5 && b.left < a.right - 0.5 && a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5) out.push(svg.id + ': "' + boxes[i].t + '" overlaps "' + boxes[j].t + '"');
		}
	}
	return out.slice(0, 8);
})()`

// incidentThen is the part of an incident the as-of views show.
type incidentThen struct {
	State       string    `json:"state"`
	Service     string    `json:"service"`
	Services    []string  `json:"services"`
	PeakAuthors int       `json:"peak_authors"`
	Reports     int       `json:"reports"`
	PendingAt   time.Time `json:"pending_at"`
	FiringAt    time.Time `json:"firing_at"`
	Timeline    []struct {
		T time.Time `json:"t"`
	} `json:"timeline"`
}

// asOfIncidentViews checks the overview, the incident list and the incident
// page as of at against GET /v1/incidents/{id}?at=: the peak and reports
// of then, smaller than the final ones, the services named by then and no
// later one, the timeline cut at the moment; before the incident began,
// the incident page says so.
func asOfIncidentViews(t *testing.T, b *browser, p *apptest.Process, id string, at time.Time) {
	t.Helper()
	moment := url.QueryEscape(at.Format(time.RFC3339))
	caughtUp(t, p)
	var final, then incidentThen
	p.GetJSON(t, "/v1/incidents/"+url.PathEscape(id), &final)
	p.GetJSON(t, "/v1/incidents/"+url.PathEscape(id)+"?at="+moment, &then)
	t.Logf("as of %s: %s, peak %d, %d reports, services %v; final: %s, peak %d, %d reports, services %v",
		at.Format(time.TimeOnly), then.State, then.PeakAuthors, then.Reports, then.Services, final.State, final.PeakAuthors, final.Reports, final.Services)
	if then.PeakAuthors >= final.PeakAuthors || then.Reports >= final.Reports || then.State != "firing" {
		t.Fatalf("the replay does not give what this test needs: as of %s %+v, final %+v", at, then, final)
	}
	var later []string
	for _, s := range final.Services {
		if !slices.Contains(then.Services, s) && s != final.Service {
			later = append(later, s)
		}
	}
	if len(later) == 0 {
		t.Fatalf("no service joined the incident after %s: %v then, %v in the end", at, then.Services, final.Services)
	}

	b.open(t, "#/?at="+moment)
	card := wait[string](t, b, "the incident card as of", fmt.Sprintf(`(document.querySelector('a.incident-card[data-incident=%q]') || {}).innerText || ''`, id), 20*time.Second)
	want := fmt.Sprintf("Peak %d people in one window · %d reports in all", then.PeakAuthors, then.Reports)
	if !strings.Contains(card, want) {
		t.Errorf("as of %s the card reads %q, want %q (final: peak %d, %d reports)", at.Format(time.TimeOnly), card, want, final.PeakAuthors, final.Reports)
	}
	for _, s := range later {
		if strings.Contains(card, s) {
			t.Errorf("the card as of %s names %s, which joined later: %q", at.Format(time.TimeOnly), s, card)
		}
	}

	b.open(t, "#/incidents?at="+moment)
	row := wait[string](t, b, "the incident list as of", fmt.Sprintf(`(document.querySelector('#incident-table tr[data-incident=%q]') || {}).innerText || ''`, id), 20*time.Second)
	if row = strings.ToLower(row); !strings.Contains(row, "firing") || !strings.Contains(row, fmt.Sprint(then.PeakAuthors)) || strings.Contains(row, "resolved") {
		t.Errorf("the list as of %s shows %q, want firing with peak %d", at.Format(time.TimeOnly), row, then.PeakAuthors)
	}
	if f := eval[string](t, b, fmt.Sprintf(`(document.querySelector('#incident-table tr[data-incident=%q] .firing-for') || {}).textContent || ''`, id)); f != fmt.Sprintf("Firing for %d min", int(at.Sub(then.FiringAt).Minutes())) {
		t.Errorf("the list as of %s says %q, want firing for %s", at.Format(time.TimeOnly), f, at.Sub(then.FiringAt))
	}

	b.open(t, "#/incidents/"+url.PathEscape(id)+"?at="+moment)
	facts := wait[string](t, b, "the incident page as of", `document.querySelector('svg#incident-chart') ? document.querySelector('dl.facts').innerText : ''`, 20*time.Second)
	for _, w := range []string{fmt.Sprintf("Peak people / window\n%d", then.PeakAuthors), fmt.Sprintf("Reports\n%d", then.Reports)} {
		if !strings.Contains(facts, w) {
			t.Errorf("the incident page as of %s reads %q, want %q", at.Format(time.TimeOnly), facts, w)
		}
	}
	if st := eval[string](t, b, `document.querySelector('.page-head .badge').dataset.state`); st != then.State {
		t.Errorf("the incident page as of %s says %s, want %s", at.Format(time.TimeOnly), st, then.State)
	}
	last := then.Timeline[len(then.Timeline)-1].T
	if last.After(at) || len(then.Timeline) >= len(final.Timeline) {
		t.Errorf("the timeline as of %s ends at %s with %d of %d points", at, last, len(then.Timeline), len(final.Timeline))
	}

	// Before it began, the incident did not exist.
	before := url.QueryEscape(then.PendingAt.Add(-time.Minute).Format(time.RFC3339))
	b.open(t, "#/incidents/"+url.PathEscape(id)+"?at="+before)
	msg := wait[string](t, b, "the incident not begun", `(document.querySelector('.not-begun') || {}).textContent || ''`, 20*time.Second)
	if !strings.Contains(msg, "had not begun") || eval[string](t, b, `document.querySelector('main h1').textContent`) != "Not begun yet" {
		t.Errorf("the incident page before the incident reads %q", msg)
	}
	b.open(t, "#/?at="+before)
	wait[bool](t, b, "the overview before the incident", `!!document.querySelector('.stat.above')`, 20*time.Second)
	if n := eval[int](t, b, `document.querySelectorAll('a.incident-card').length`); n != 0 {
		t.Errorf("the overview a minute before the incident began shows %d incident cards", n)
	}
	b.noProblemsBut(t, "as of the detector", "404")
}

// caughtUp waits until every stage has handled the whole replay: no lag,
// each watermark at the stream's time.
func caughtUp(t *testing.T, p *apptest.Process) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var st health.Status
		p.GetJSON(t, "/v1/status", &st)
		done := st.StreamTime != nil && len(st.Stages) > 0
		for _, s := range st.Stages {
			done = done && s.Lag == 0 && s.Watermark != nil && s.Watermark.Equal(*st.StreamTime)
		}
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the stages did not catch up with the replay within 60 s: %+v", st)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
