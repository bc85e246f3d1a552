package app_test

import (
	"testing"
	"time"

	"github.com/downsignal/downsignal/detect/detecttest"
	"github.com/downsignal/downsignal/internal/apptest"
)

// TestReplayedGapIsBlueskyVolumeDrop: a replayed afternoon of a busy
// stream with twenty minutes missing, through the whole pipeline: one
// volume_drop incident for Bluesky, firing five minutes into the gap and
// resolved once posts return, announced to a webhook receiver.
func TestReplayedGapIsBlueskyVolumeDrop(t *testing.T) {
	gapFrom := replayDay.Add(14 * time.Hour)
	gapTo := gapFrom.Add(20 * time.Minute)
	var lines []string
	for _, p := range detecttest.Day(detecttest.DayOptions{Date: replayDay, Seed: 9, From: 13, To: 15, ChatterPerMinute: 40}) {
		if p.Time.Before(gapFrom) || !p.Time.Before(gapTo) {
			lines = append(lines, detecttest.JetstreamLine(p))
		}
	}
	rc := newHookReceiver(t)
	p := apptest.Start(t, alertOptions(t, apptest.WriteReplay(t, lines...), rc.URL))
	p.WaitReplayed(t)

	var list struct {
		Incidents []struct {
			ID             string    `json:"id"`
			Kind           string    `json:"kind"`
			Service        string    `json:"service"`
			State          string    `json:"state"`
			StartedAt      time.Time `json:"started_at"`
			FiringAt       time.Time `json:"firing_at"`
			ResolvedAt     time.Time `json:"resolved_at"`
			ExpectedVolume float64   `json:"expected_volume"`
			ObservedVolume float64   `json:"observed_volume"`
		} `json:"incidents"`
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		p.GetJSON(t, "/v1/incidents?service=Bluesky", &list)
		if len(list.Incidents) == 1 && list.Incidents[0].State == "resolved" || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(list.Incidents) != 1 {
		t.Fatalf("Bluesky incidents %+v, want one volume drop", list.Incidents)
	}
	in := list.Incidents[0]
	if in.Kind != "volume_drop" || in.Service != "Bluesky" || !in.StartedAt.Equal(gapFrom) ||
		!in.FiringAt.Equal(gapFrom.Add(5*time.Minute)) || in.State != "resolved" || in.ResolvedAt.Before(gapTo) ||
		in.ResolvedAt.After(gapTo.Add(5*time.Minute)) || in.ExpectedVolume < 20 || in.ObservedVolume != 0 {
		t.Fatalf("volume drop %+v, want started %s, firing 5 minutes later, resolved within 5 minutes after %s", in, gapFrom, gapTo)
	}
	t.Logf("gap %s-%s: volume_drop fired %s after the gap began (event time), resolved %s after posts returned; expected %.1f posts/min",
		gapFrom.Format("15:04"), gapTo.Format("15:04"), in.FiringAt.Sub(gapFrom), in.ResolvedAt.Sub(gapTo), in.ExpectedVolume)

	deadline = time.Now().Add(30 * time.Second)
	var types []string
	for time.Now().Before(deadline) {
		types = types[:0]
		for _, ev := range rc.got() {
			if ev.Data.ID == in.ID {
				types = append(types, ev.Type)
			}
		}
		if len(types) >= 2 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(types) != 2 || types[0] != "incident.firing" || types[1] != "incident.resolved" {
		t.Fatalf("webhooks for the volume drop: %v, want firing then resolved", types)
	}
}
