package app_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/downsignal/downsignal/app"
	"github.com/downsignal/downsignal/detect/detecttest"
	"github.com/downsignal/downsignal/internal/apptest"
)

// trendPoint is one point of GET /v1/trends as a client reads it.
type trendPoint struct {
	T        time.Time `json:"t"`
	Posts    int       `json:"posts"`
	Expected *float64  `json:"expected"`
	Learning bool      `json:"learning"`
	Anomaly  float64   `json:"anomaly"`
}

// A day on which Microsoft 365 fails twice, three hours apart, through the
// whole run pipeline: two incidents, each firing within five minutes of
// its onset, and the normal level the API shows for Outlook an hour after
// the first resolved is within 2x of what it was before it (the baseline
// forgot the outage). Early in the day, with under an hour of history,
// the level is "learning", not a ratio against a guess.
func TestReplayedDayWithTwoOutages(t *testing.T) {
	first := replayDay.Add(16*time.Hour + 30*time.Minute)
	second := first.Add(3 * time.Hour)
	replay := replayOf(t, detecttest.DayOptions{Date: replayDay, Seed: 13, SurgesAt: []time.Time{first, second}})
	p := apptest.Start(t, app.Options{DataDir: t.TempDir(), Source: "replay:" + replay})
	p.WaitReplayed(t)

	var list incidentList
	if code := p.Get(t, "/v1/incidents", &list); code != http.StatusOK || len(list.Incidents) != 2 {
		t.Fatalf("GET /v1/incidents: %d, %d incidents %+v, want two", code, len(list.Incidents), list.Incidents)
	}
	a, b := list.Incidents[1], list.Incidents[0] // newest first
	for i, c := range []struct {
		firing, resolved, onset time.Time
		state                   string
	}{{a.FiringAt, a.ResolvedAt, first, a.State}, {b.FiringAt, b.ResolvedAt, second, b.State}} {
		if lead := c.firing.Sub(c.onset); lead <= 0 || lead > 5*time.Minute {
			t.Errorf("outage %d fired at %v, %v after its onset %v; want within 5 minutes", i+1, c.firing, lead, c.onset)
		}
		if c.state != "resolved" || c.resolved.IsZero() {
			t.Errorf("outage %d: %s, resolved at %v; want resolved", i+1, c.state, c.resolved)
		}
	}

	// Outlook's outage posts per 15 minutes and their expected level.
	var tr struct{ Points []trendPoint }
	q := url.Values{"service": {"Outlook"}, "step": {"15m"}, "since": {replayDay.Format(time.RFC3339)},
		"until": {replayDay.Add(24 * time.Hour).Format(time.RFC3339)}}
	p.GetJSON(t, "/v1/trends?"+q.Encode(), &tr)
	at := func(tm time.Time) trendPoint {
		t.Helper()
		for _, pt := range tr.Points {
			if pt.T.Equal(tm.Truncate(15 * time.Minute)) {
				return pt
			}
		}
		t.Fatalf("no trend point at %v", tm)
		return trendPoint{}
	}
	before, after := at(first), at(a.ResolvedAt.Add(time.Hour))
	if before.Expected == nil || after.Expected == nil {
		t.Fatalf("no level before the outage (%+v) or an hour after it (%+v)", before, after)
	}
	if *after.Expected > 2**before.Expected {
		t.Errorf("Outlook's expected posts per 15 minutes an hour after the first outage %.2f, before it %.2f: want within 2x",
			*after.Expected, *before.Expected)
	}
	if early := at(replayDay.Add(30 * time.Minute)); !early.Learning || early.Expected != nil {
		t.Errorf("30 minutes into the day: %+v, want learning with no expected level", early)
	}
	peak := trendPoint{}
	for _, pt := range tr.Points {
		if pt.T.After(first) && pt.T.Before(second) && pt.Posts > peak.Posts {
			peak = pt
		}
	}
	if peak.Expected == nil || *peak.Expected > 2**before.Expected || peak.Anomaly < 4 {
		t.Errorf("the first outage's peak %+v: want its expected level near %.2f and anomalous", peak, *before.Expected)
	}

	// /v1/services as of an hour after the first outage: Outlook normal
	// against its old level; at 00:30 still learning.
	var svcs struct {
		Services []struct {
			Name     string   `json:"name"`
			State    string   `json:"state"`
			Expected *float64 `json:"expected"`
			Learning bool     `json:"learning"`
		} `json:"services"`
	}
	outlook := func(at time.Time) (state string, expected *float64, learning bool) {
		t.Helper()
		p.GetJSON(t, "/v1/services?at="+url.QueryEscape(at.Format(time.RFC3339)), &svcs)
		for _, s := range svcs.Services {
			if s.Name == "Outlook" {
				return s.State, s.Expected, s.Learning
			}
		}
		t.Fatal("no Outlook in /v1/services")
		return
	}
	if st, exp, learning := outlook(a.ResolvedAt.Add(time.Hour)); st != "normal" || exp == nil || learning || *exp > 2*max(*before.Expected, 0.75) {
		t.Errorf("Outlook an hour after the first outage: %s, expected %v, learning %v; want normal near its old level", st, exp, learning)
	}
	if _, exp, learning := outlook(replayDay.Add(30 * time.Minute)); exp != nil || !learning {
		t.Errorf("Outlook at 00:30: expected %v, learning %v; want learning, no level", exp, learning)
	}
	t.Logf("first outage: onset %s, firing %s, resolved %s; second: onset %s, firing %s, resolved %s",
		first.Format(time.TimeOnly), a.FiringAt.Format(time.TimeOnly), a.ResolvedAt.Format(time.TimeOnly),
		second.Format(time.TimeOnly), b.FiringAt.Format(time.TimeOnly), b.ResolvedAt.Format(time.TimeOnly))
	t.Logf("Outlook expected posts per 15 minutes: %.2f at %s before the first outage, %.2f at its peak (%d posts at %s), %.2f an hour after it resolved (%s)",
		*before.Expected, before.T.Format(time.TimeOnly), *peak.Expected, peak.Posts, peak.T.Format(time.TimeOnly),
		*after.Expected, after.T.Format(time.TimeOnly))
}
