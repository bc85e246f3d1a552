package record_test

import (
	"testing"

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
