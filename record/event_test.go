package record_test

import (
	"testing"
	"time"

	"github.com/downsignal/downsignal/record"
)

func TestResetDrops(t *testing.T) {
	uri := func(rkey string) string { return record.PostURI("did:plc:alice", rkey) }
	whole := record.Event{Kind: record.KindReset, Keep: []string{"3kb", "3kd"}}
	cut := record.Event{Kind: record.KindReset, Keep: []string{"3kd", "3kc"}, KeepFrom: "3kc"}
	for _, tc := range []struct {
		ev   *record.Event
		rkey string
		want bool
	}{
		{&whole, "3ka", true}, {&whole, "3kb", false}, {&whole, "3kc", true}, {&whole, "3kd", false},
		{&cut, "3ka", false}, {&cut, "3kb", false}, {&cut, "3kc", false}, {&cut, "3kd", false}, {&cut, "3ke", true},
	} {
		if got := tc.ev.ResetDrops()(uri(tc.rkey)); got != tc.want {
			t.Errorf("keep %v from %q: drops %s = %v, want %v", tc.ev.Keep, tc.ev.KeepFrom, tc.rkey, got, tc.want)
		}
	}
}

func TestValidateRefusesTimesOutOfRange(t *testing.T) {
	now := time.Now()
	post := func(at time.Time) *record.Event {
		return &record.Event{V: record.EventVersion, Kind: record.KindPost, DID: "did:plc:x", URI: record.PostURI("did:plc:x", "3a"), Time: at, Source: "replay"}
	}
	for _, tc := range []struct {
		name string
		at   time.Time
		ok   bool
	}{
		{"an hour ago", now.Add(-time.Hour), true},
		{"five minutes ahead (clock drift)", now.Add(5 * time.Minute), true},
		{"an hour ahead", now.Add(time.Hour), false},
		{"year 5138", time.UnixMicro(99999999999999999), false},
		{"before 1970", time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC), false},
	} {
		err := post(tc.at).Validate()
		if (err == nil) != tc.ok {
			t.Errorf("%s: Validate() = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}

func TestPlausibleCreatedAt(t *testing.T) {
	at := time.Date(2026, 1, 22, 19, 31, 12, 0, time.UTC)
	for _, tc := range []struct {
		created, event time.Time
		want           bool
	}{
		{at.Add(-2 * time.Second), at, true},
		{at.Add(-5 * 365 * 24 * time.Hour), at, true},
		{at.Add(9 * time.Minute), at, true},
		{at.Add(11 * time.Minute), at, false},
		{time.UnixMicro(99999999999999999), at, false},
		{time.Date(1601, 1, 1, 0, 0, 0, 0, time.UTC), at, false},
		{at.Add(time.Hour), time.Time{}, true}, // no event time: Validate judges it as the event time
	} {
		if got := record.PlausibleCreatedAt(tc.created, tc.event); got != tc.want {
			t.Errorf("PlausibleCreatedAt(%v, %v) = %v, want %v", tc.created, tc.event, got, tc.want)
		}
	}
}
