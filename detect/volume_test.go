package detect_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/downsignal/downsignal/detect"
	"github.com/downsignal/downsignal/detect/detecttest"
)

// busyDay is 08:00-20:00 of a day with 40 posts a minute, less the posts
// in [cutFrom, cutTo) and with only keep of every 10 posts in [thinFrom,
// thinTo).
func busyDay(cutFrom, cutTo time.Time, thinFrom, thinTo time.Time, keep int) []detecttest.Post {
	var out []detecttest.Post
	for i, p := range detecttest.Day(detecttest.DayOptions{Date: day, Seed: 7, From: 8, To: 20, ChatterPerMinute: 40}) {
		if !p.Time.Before(cutFrom) && p.Time.Before(cutTo) {
			continue
		}
		if !p.Time.Before(thinFrom) && p.Time.Before(thinTo) && i%10 >= keep {
			continue
		}
		out = append(out, p)
	}
	return out
}

func volumeIncidents(t *testing.T, posts []detecttest.Post, o detect.Options) (*detect.Engine, []detect.Incident) {
	t.Helper()
	o.Path = filepath.Join(t.TempDir(), "alerts.db")
	e, err := detect.Open(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	f := newFeeder(t, 4)
	f.apply(e, f.changes(signals(posts)))
	var out []detect.Incident
	for _, in := range e.Incidents(detect.Filter{Service: detect.VolumeService}) {
		if in.Kind == detect.KindVolumeDrop {
			out = append(out, in)
		}
	}
	return e, out
}

// TestGapInStreamIsBlueskyVolumeDrop: twenty minutes without a post in a
// busy stream open one volume_drop incident for Bluesky five minutes in,
// resolved three minutes after posts return, with the expected and seen
// volume; the level afterwards is the one before.
func TestGapInStreamIsBlueskyVolumeDrop(t *testing.T) {
	gapFrom := day.Add(14 * time.Hour)
	gapTo := gapFrom.Add(20 * time.Minute)
	e, ins := volumeIncidents(t, busyDay(gapFrom, gapTo, time.Time{}, time.Time{}, 10), detect.Options{})
	if len(ins) != 1 {
		t.Fatalf("%d volume drops, want 1: %+v", len(ins), ins)
	}
	in, _ := e.Incident(ins[0].ID)
	t.Logf("volume drop %s: started %s, firing %s, resolved %s, expected %.1f/min, observed %.1f/min",
		in.ID, in.StartedAt.Format("15:04"), in.FiringAt.Format("15:04"), in.ResolvedAt.Format("15:04"), in.ExpectedVolume, in.ObservedVolume)
	if !in.StartedAt.Equal(gapFrom) || !in.FiringAt.Equal(gapFrom.Add(5*time.Minute)) {
		t.Errorf("started %s firing %s, want %s and 5 minutes later", in.StartedAt, in.FiringAt, gapFrom)
	}
	if in.State != detect.Resolved || in.ResolvedAt.Before(gapTo) || in.ResolvedAt.After(gapTo.Add(5*time.Minute)) {
		t.Errorf("state %s resolved %s, want resolved within 5 minutes after %s", in.State, in.ResolvedAt, gapTo)
	}
	if in.ExpectedVolume < 20 || in.ObservedVolume != 0 || in.Service != "Bluesky" {
		t.Errorf("expected %.1f observed %.1f service %s", in.ExpectedVolume, in.ObservedVolume, in.Service)
	}
	evs, err := e.EventsAfter(0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, ev := range evs {
		if ev.Incident.ID == in.ID {
			types = append(types, ev.Type)
		}
	}
	if len(types) != 2 || types[0] != detect.EventFiring || types[1] != detect.EventResolved {
		t.Errorf("events %v, want firing then resolved", types)
	}
}

// TestHalvedVolumeIsNoDrop: a stream at half its level for an hour is a
// quiet spell, not an outage.
func TestHalvedVolumeIsNoDrop(t *testing.T) {
	from := day.Add(14 * time.Hour)
	_, ins := volumeIncidents(t, busyDay(time.Time{}, time.Time{}, from, from.Add(time.Hour), 5), detect.Options{})
	if len(ins) != 0 {
		t.Fatalf("half volume opened %+v", ins)
	}
}

// TestDropWhileSourceNotLiveIsOurs: when our own source is not live, a
// collapse of the volume is not reported as Bluesky's outage.
func TestDropWhileSourceNotLiveIsOurs(t *testing.T) {
	gapFrom := day.Add(14 * time.Hour)
	_, ins := volumeIncidents(t, busyDay(gapFrom, gapFrom.Add(20*time.Minute), time.Time{}, time.Time{}, 10),
		detect.Options{SourceLive: func() bool { return false }})
	if len(ins) != 0 {
		t.Fatalf("a drop of our own source opened %+v", ins)
	}
}

// TestThinnedStreamReportsObservedVolume: a stream down to a tenth of its
// level for twenty minutes is a drop whose observed volume is about a
// tenth of the expected one.
func TestThinnedStreamReportsObservedVolume(t *testing.T) {
	from := day.Add(14 * time.Hour)
	_, ins := volumeIncidents(t, busyDay(time.Time{}, time.Time{}, from, from.Add(20*time.Minute), 1), detect.Options{})
	if len(ins) != 1 {
		t.Fatalf("%d volume drops, want 1: %+v", len(ins), ins)
	}
	in := ins[0]
	if r := in.ObservedVolume / in.ExpectedVolume; in.State != detect.Resolved || r < 0.05 || r > 0.2 {
		t.Fatalf("observed %.1f of expected %.1f posts a minute (state %s), want about a tenth", in.ObservedVolume, in.ExpectedVolume, in.State)
	}
}
