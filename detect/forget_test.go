package detect_test

import (
	"testing"
	"time"

	"github.com/downsignal/downsignal/detect"
	"github.com/downsignal/downsignal/detect/detecttest"
)

// Two Microsoft 365 outages three hours apart: the first does not become
// the normal level, so the second fires as fast as the first, against
// about the same expected level, and the minutes of both are the spans
// the detector keeps out of Outlook's baseline.
func TestSecondOutageSameDayFires(t *testing.T) {
	first := day.Add(16*time.Hour + 30*time.Minute)
	second := first.Add(3 * time.Hour)
	e, _ := run(t, detecttest.DayOptions{Date: day, Seed: 7, SurgesAt: []time.Time{first, second}})
	incs := e.Incidents(detect.Filter{Limit: 100})
	if len(incs) != 2 {
		t.Fatalf("%d incidents %+v, want two", len(incs), incs)
	}
	a, b := incs[1], incs[0] // newest first
	for i, c := range []struct {
		in    detect.Incident
		onset time.Time
	}{{a, first}, {b, second}} {
		if lead := c.in.FiringAt.Sub(c.onset); lead <= 0 || lead > 5*time.Minute {
			t.Errorf("outage %d fired at %v, %v after its onset; want within 5 minutes", i+1, c.in.FiringAt, lead)
		}
		if c.in.State != detect.Resolved {
			t.Errorf("outage %d: state %s, want resolved", i+1, c.in.State)
		}
	}
	if b.Expected > 2*max(a.Expected, 0.25) {
		t.Errorf("expected at the second onset %.2f, at the first %.2f: want within 2x", b.Expected, a.Expected)
	}
	spans := e.BaselineSpans("Outlook")
	if len(spans) != 2 {
		t.Fatalf("Outlook's baseline spans %+v, want the two incidents'", spans)
	}
	for i, in := range []detect.Incident{a, b} {
		// The resolving evaluation (of the minute ending at ResolvedAt) is
		// quiet and closes the incident: it is not in the span.
		from, to := in.StartedAt.Unix()/60, in.ResolvedAt.Unix()/60-2
		if spans[i].From != from || spans[i].To != to {
			t.Errorf("span %d %+v, want the incident's minutes %d..%d", i, spans[i], from, to)
		}
	}
	if got := e.BaselineSpans("Discord"); got != nil {
		t.Errorf("Discord never had an incident: spans %+v", got)
	}
	t.Logf("first: firing %s (onset %s), resolved %s, expected %.2f; second: firing %s (onset %s), resolved %s, expected %.2f",
		a.FiringAt.Format(time.TimeOnly), first.Format(time.TimeOnly), a.ResolvedAt.Format(time.TimeOnly), a.Expected,
		b.FiringAt.Format(time.TimeOnly), second.Format(time.TimeOnly), b.ResolvedAt.Format(time.TimeOnly), b.Expected)
}
