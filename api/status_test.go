package api_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/downsignal/downsignal/health"
)

// TestStatusMatchesDocument: /v1/status, for a stalled source and a
// replay, answers what the OpenAPI document says.
func TestStatusMatchesDocument(t *testing.T) {
	clock := now
	stalled := health.NewSource(health.SourceOptions{Name: "jetstream", Now: func() time.Time { return clock }})
	stalled.SessionStarted()
	stalled.Posts([]time.Time{now.Add(-time.Second)})
	stalled.SessionEnded(errors.New("read: EOF"))
	replay := health.NewSource(health.SourceOptions{Name: "replay:/data/capture.jsonl", Replay: true})
	src := stalled
	wm := now.Add(-2 * time.Second)
	f := newFixture(t, options{status: func(context.Context) health.Status {
		st := health.Status{Now: clock, Source: src.Status(), Stages: []health.StageStatus{
			{Name: "index", Topic: "downsignal.signals", Lag: 3, Watermark: &wm},
			{Name: "alert", Topic: "downsignal.signals", Lag: -1},
		}}
		if t := st.Source.LastEventTime; t != nil {
			st.StreamTime = t
		}
		return st
	}})

	clock = now.Add(10 * time.Minute)
	var got health.Status
	if code := f.get("/v1/status", "/v1/status", &got); code != 200 {
		t.Fatalf("status %d", code)
	}
	if got.Source.State != health.Stalled || got.Source.LastError != "read: EOF" || got.Source.AwaySeconds != 600 {
		t.Fatalf("stalled source: %+v", got.Source)
	}
	src = replay
	if code := f.get("/v1/status", "/v1/status", &got); code != 200 || got.Source.State != health.Replaying || got.StreamTime != nil {
		t.Fatalf("replay: %d %+v", code, got)
	}
}
