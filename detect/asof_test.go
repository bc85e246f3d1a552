package detect_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/downsignal/downsignal/detect"
	"github.com/downsignal/downsignal/detect/detecttest"
)

// TestIncidentAsOf: in a post-mortem, the Microsoft 365 incident as of a
// moment shows what was known then: its state, peak, reports and services
// grow through the outage and end as the incident did; before it began it
// does not exist.
func TestIncidentAsOf(t *testing.T) {
	e, _ := run(t, detecttest.DayOptions{Date: day, Seed: 4, Surge: true})
	incs := e.Incidents(detect.Filter{})
	if len(incs) != 1 {
		t.Fatalf("incidents %+v, want one", incs)
	}
	final, _ := e.Incident(incs[0].ID)

	if _, ok, err := e.IncidentAt(final.ID, final.PendingAt.Add(-time.Minute)); ok || err != nil {
		t.Fatalf("the incident existed before it began (err %v)", err)
	}
	if got := e.Incidents(detect.Filter{At: final.PendingAt.Add(-time.Minute)}); len(got) != 0 {
		t.Fatalf("list before the incident: %+v", got)
	}

	prev := detect.Incident{}
	for at := final.PendingAt; !at.After(final.ResolvedAt.Add(time.Hour)); at = at.Add(5 * time.Minute) {
		in, ok, err := e.IncidentAt(final.ID, at)
		if !ok || err != nil {
			t.Fatalf("as of %s: missing (err %v)", at, err)
		}
		list := e.Incidents(detect.Filter{At: at})
		if len(list) != 1 || list[0].State != in.State || list[0].PeakAuthors != in.PeakAuthors || list[0].Reports != in.Reports {
			t.Fatalf("as of %s the list says %+v, the incident %s/%d/%d", at, list, in.State, in.PeakAuthors, in.Reports)
		}
		wantState := detect.Pending
		switch {
		case !at.Before(final.ResolvedAt):
			wantState = detect.Resolved
		case !at.Before(final.FiringAt):
			wantState = detect.Firing
		}
		if in.State != wantState {
			t.Fatalf("as of %s: state %s, want %s", at, in.State, wantState)
		}
		// The services' incident states as of then name only the
		// services the incident had by then.
		states := e.IncidentStates(context.Background(), at)
		for _, s := range final.Services {
			want := ""
			if slices.Contains(in.Services, s) && in.State != detect.Resolved {
				want = string(in.State)
			}
			if states[s] != want {
				t.Fatalf("as of %s service %s is %q, want %q (services then %v)", at, s, states[s], want, in.Services)
			}
		}
		if in.PeakAuthors < prev.PeakAuthors || in.Reports < prev.Reports || len(in.Services) < len(prev.Services) {
			t.Fatalf("as of %s the incident shrank: %d/%d/%v after %d/%d/%v", at,
				in.PeakAuthors, in.Reports, in.Services, prev.PeakAuthors, prev.Reports, prev.Services)
		}
		for _, p := range in.Timeline {
			if p.Time.After(at) {
				t.Fatalf("as of %s the timeline holds %s", at, p.Time)
			}
		}
		for _, s := range in.Samples {
			if s.Time.After(at) {
				t.Fatalf("as of %s a sample from %s", at, s.Time)
			}
		}
		if in.State != detect.Resolved && !in.ResolvedAt.IsZero() {
			t.Fatalf("as of %s (open) it shows the end: resolved %s", at, in.ResolvedAt)
		}
		if in.State == detect.Pending && !in.FiringAt.IsZero() {
			t.Fatalf("as of %s (pending) it fired at %s", at, in.FiringAt)
		}
		prev = in
	}
	if prev.PeakAuthors != final.PeakAuthors || prev.Reports != final.Reports || !slices.Equal(prev.Services, final.Services) {
		t.Fatalf("after the end: %d/%d/%v, want %d/%d/%v", prev.PeakAuthors, prev.Reports, prev.Services,
			final.PeakAuthors, final.Reports, final.Services)
	}
	early, _, _ := e.IncidentAt(final.ID, final.FiringAt)
	if early.PeakAuthors >= final.PeakAuthors || early.Reports >= final.Reports {
		t.Errorf("as of firing it shows the end: %d people, %d reports, %v", early.PeakAuthors, early.Reports, early.Services)
	}
	t.Logf("as of firing %s: %s, %d people, %d reports, services %v; final: %d people, %d reports, services %v",
		final.FiringAt.Format("15:04"), early.State, early.PeakAuthors, early.Reports, early.Services,
		final.PeakAuthors, final.Reports, final.Services)
}
