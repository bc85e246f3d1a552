package detect_test

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/downsignal/downsignal/detect"
	"github.com/downsignal/downsignal/detect/detecttest"
)

// An ingest gap in the middle of an outage must not resolve it (and then
// fire it again): reports vanish with the stream, not with the outage.
func TestIngestGapDoesNotResolve(t *testing.T) {
	posts := detecttest.Day(detecttest.DayOptions{Date: day, Seed: 7, From: 17, To: 23, ChatterPerMinute: 40, Surge: true})
	onset := detecttest.SurgeOnset(day)
	gapFrom, gapTo := onset.Add(20*time.Minute), onset.Add(40*time.Minute)
	kept := slices.DeleteFunc(slices.Clone(posts), func(p detecttest.Post) bool {
		return !p.Time.Before(gapFrom) && p.Time.Before(gapTo)
	})
	// The gap itself is the stream's: a Bluesky volume drop, besides.
	for name, tc := range map[string]struct {
		posts []detecttest.Post
		drops int
	}{"no gap": {posts, 0}, "gap": {kept, 1}} {
		e := open(t, filepath.Join(t.TempDir(), "alerts.db"))
		f := newFeeder(t, 3)
		f.apply(e, f.changes(signals(tc.posts)))
		var incs []detect.Incident
		drops := 0
		for _, in := range e.Incidents(detect.Filter{}) {
			if in.Kind == detect.KindVolumeDrop {
				drops++
			} else {
				incs = append(incs, in)
			}
		}
		evs, _ := e.EventsAfter(0, 100)
		var resolved int
		for _, ev := range evs {
			if ev.Type == detect.EventResolved && ev.Incident.Kind != detect.KindVolumeDrop {
				resolved++
			}
		}
		if len(incs) != 1 || resolved != 1 || drops != tc.drops {
			t.Errorf("%s: %d incidents, %d resolutions, %d volume drops; want 1 incident resolved once, %d drops: %+v",
				name, len(incs), resolved, drops, tc.drops, incs)
		}
		e.Close()
	}
	// Without gap detection the same data resolves during the gap: the
	// test can fail.
	e, err := detect.Open(detect.Options{Path: filepath.Join(t.TempDir(), "alerts.db"), GapVolume: 1e9})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	f := newFeeder(t, 3)
	f.apply(e, f.changes(signals(kept)))
	if incs := e.Incidents(detect.Filter{Service: "Microsoft 365"}); len(incs) < 2 {
		t.Errorf("gap detection off: %d incidents, want the outage split in two", len(incs))
	}
}

// When many unrelated services spike in the same minutes, the cause is
// upstream (a bot, a broken source), not five outages.
func TestEverythingSpikingAtOnceIsSuppressed(t *testing.T) {
	posts := detecttest.Day(detecttest.DayOptions{Date: day, Seed: 8, To: 12})
	at := day.Add(11 * time.Hour)
	services := []string{"Discord", "Reddit", "Zoom", "GitHub", "Slack", "YouTube"}
	n := 0
	for _, svc := range services {
		for i := range 12 {
			n++
			posts = append(posts, detecttest.Post{DID: fmt.Sprintf("did:plc:spike%03d", n), RKey: fmt.Sprintf("3spike%03d", n),
				Time: at.Add(time.Duration(i*10) * time.Second), Text: []string{"is " + svc + " down?", svc + " not working for me", svc + " outage?"}[i%3]})
		}
	}
	slices.SortStableFunc(posts, func(a, b detecttest.Post) int { return a.Time.Compare(b.Time) })
	for name, tc := range map[string]struct {
		groups int
		want   int
	}{"suppressed": {5, 0}, "threshold above six": {7, 6}} {
		e, err := detect.Open(detect.Options{Path: filepath.Join(t.TempDir(), "alerts.db"), GlobalGroups: tc.groups})
		if err != nil {
			t.Fatal(err)
		}
		f := newFeeder(t, 3)
		f.apply(e, f.changes(signals(posts)))
		if got := e.Incidents(detect.Filter{}); len(got) != tc.want {
			t.Errorf("%s: %d incidents, want %d", name, len(got), tc.want)
		}
		e.Close()
	}
}

func TestSilenceMutesNotifications(t *testing.T) {
	posts := detecttest.Day(detecttest.DayOptions{Date: day, Seed: 9, From: 16, To: 23, Surge: true})
	e := open(t, filepath.Join(t.TempDir(), "alerts.db"))
	defer e.Close()
	onset := detecttest.SurgeOnset(day)
	if _, err := e.AddSilence(detect.Silence{Service: "outlook", StartsAt: onset, EndsAt: onset.Add(time.Hour)}, time.Now()); err != nil {
		t.Fatal(err)
	}
	s, err := e.AddSilence(detect.Silence{Service: "Microsoft 365", StartsAt: onset.Add(80 * time.Minute), EndsAt: onset.Add(5 * time.Hour)}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.AddSilence(detect.Silence{Service: "Teams", StartsAt: onset, EndsAt: onset.Add(-time.Hour)}, time.Now()); err == nil {
		t.Error("silence ending before it starts: no error")
	}
	f := newFeeder(t, 3)
	f.apply(e, f.changes(signals(posts)))
	evs, _ := e.EventsAfter(0, 100)
	if len(evs) < 2 {
		t.Fatalf("events %+v, want firing and resolved", evs)
	}
	for _, ev := range evs {
		// A silence on Outlook alone does not mute an incident that also
		// hits Teams; the group silence mutes the resolution.
		want := ev.Time.After(onset.Add(80 * time.Minute))
		if ev.Type == detect.EventResolved && !want {
			t.Errorf("resolved at %v, before the group silence: the test needs a later silence", ev.Time)
		}
		if ev.Silenced != want {
			t.Errorf("%s at %v: silenced %v, want %v", ev.Type, ev.Time, ev.Silenced, want)
		}
	}
	if ok, err := e.DeleteSilence(s.ID); !ok || err != nil {
		t.Errorf("delete silence: %v %v", ok, err)
	}
	if got := e.Silences(); len(got) != 1 {
		t.Errorf("silences after delete: %+v, want 1", got)
	}
}
