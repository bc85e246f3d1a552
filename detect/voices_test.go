package detect

import (
	"testing"
	"time"
)

func TestCountVoices(t *testing.T) {
	long := "Discord is down AGAIN and nobody at that company cares. Boycott Discord today, delete the app"
	edited := "discord is down again and nobody at that company cares!! Boycott discord today, delete the app https://example.com"
	other := "My whole team lost access to our Discord server this morning and support has not answered anyone yet"
	e := func(author uint64, text string) *entry { return &entry{Author: author, Bands: bandKeys(text)} }
	tests := []struct {
		name    string
		entries []*entry
		want    int
	}{
		{"none", nil, 0},
		{"distinct short texts", []*entry{e(1, "discord down?"), e(2, "discord down?"), e(3, "is discord down")}, 3},
		{"one author twice", []*entry{e(1, long), e(1, other)}, 1},
		{"copy and edited copy", []*entry{e(1, long), e(2, edited), e(3, long)}, 1},
		{"copies plus an independent report", []*entry{e(1, long), e(2, long), e(3, other), e(4, "discord down")}, 3},
		{"chain through a shared author", []*entry{e(1, long), e(2, long), e(2, other), e(3, other)}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := countVoices(tt.entries); got != tt.want {
				t.Errorf("countVoices = %d, want %d", got, tt.want)
			}
		})
	}
	if bandKeys("Outlook down for anyone else?") != nil {
		t.Error("short text has band keys")
	}
}

func FuzzBandKeys(f *testing.F) {
	f.Add("Outlook down for anyone else? 451 4.3.2 temporary server issue")
	f.Add("\xff\xfe broken utf8 and https://links @mentions #tags")
	f.Fuzz(func(t *testing.T, s string) {
		k := bandKeys(s)
		if k != nil && len(k) != bands {
			t.Fatalf("%d keys", len(k))
		}
		for _, x := range k {
			if x == 0 {
				t.Fatal("zero key")
			}
		}
	})
}

func TestIncidentStateAt(t *testing.T) {
	t0 := time.Date(2026, 1, 22, 19, 31, 0, 0, time.UTC)
	in := &Incident{PendingAt: t0, FiringAt: t0.Add(2 * time.Minute), ResolvedAt: t0.Add(80 * time.Minute)}
	for _, tc := range []struct {
		at   time.Duration
		want State
	}{{-time.Second, ""}, {0, Pending}, {time.Minute, Pending}, {2 * time.Minute, Firing}, {79 * time.Minute, Firing}, {80 * time.Minute, Resolved}} {
		if got := in.stateAt(t0.Add(tc.at)); got != tc.want {
			t.Errorf("at onset%+v: %q, want %q", tc.at, got, tc.want)
		}
	}
	// Pending that never fired, still open.
	open := &Incident{PendingAt: t0}
	if got := open.stateAt(t0.Add(time.Hour)); got != Pending {
		t.Errorf("open pending incident: %q", got)
	}
}
