package health

import (
	"errors"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }
func newClock() *clock                   { return &clock{t: time.Date(2026, 1, 22, 19, 0, 0, 0, time.UTC)} }
func want(t *testing.T, s *Source, st State) SourceStatus {
	t.Helper()
	got := s.Status()
	if got.State != st {
		t.Fatalf("state = %s, want %s (%+v)", got.State, st, got)
	}
	return got
}

func TestLiveSourceStates(t *testing.T) {
	c := newClock()
	s := NewSource(SourceOptions{Name: "jetstream", StallAfter: 5 * time.Minute, Now: c.now})
	want(t, s, Connecting)

	// No network at all: connecting, then reconnecting, then stalled
	// StallAfter after the start, with the error and the time away.
	s.SessionEnded(errors.New("dial 127.0.0.1:1: connection refused"))
	want(t, s, Reconnecting)
	c.advance(5 * time.Minute)
	st := want(t, s, Stalled)
	if st.LastError == "" || st.AwaySeconds != 300 || st.Reconnects != 1 || st.Gaps != 1 {
		t.Fatalf("stalled status %+v", st)
	}
	if !st.Since.Equal(c.t) {
		t.Fatalf("stalled since %s, want %s", st.Since, c.t)
	}

	// The source comes back: live, with the rate of the last minute.
	s.SessionStarted()
	for range 30 {
		s.Posts(times(10, c.t.Add(-time.Second)))
		c.advance(time.Second)
	}
	st = want(t, s, Live)
	if st.EventsPerSecond != 5 || st.AwaySeconds != 0 || st.LastEventAt == nil {
		t.Fatalf("live status %+v", st)
	}

	// A session ends: reconnecting; connected again but no post: connecting.
	s.SessionEnded(errors.New("read: EOF"))
	want(t, s, Reconnecting)
	s.SessionStarted()
	want(t, s, Connecting)
	s.Posts(times(1, c.t))
	want(t, s, Live)

	// Connected and silent: stalled after StallAfter, since the moment it
	// began, one gap per stall however often the status is read.
	last := c.t
	c.advance(4 * time.Minute)
	want(t, s, Live)
	c.advance(2 * time.Minute)
	st = want(t, s, Stalled)
	if !st.Since.Equal(last.Add(5*time.Minute)) || st.Gaps != 2 || st.AwaySeconds != 360 {
		t.Fatalf("second stall %+v", st)
	}
	c.advance(time.Minute)
	if st = want(t, s, Stalled); st.Gaps != 2 {
		t.Fatalf("gaps counted twice for one stall: %d", st.Gaps)
	}
	if st.EventsPerSecond != 0 {
		t.Fatalf("rate of a stalled source %v", st.EventsPerSecond)
	}
}

func TestReplayStates(t *testing.T) {
	c := newClock()
	s := NewSource(SourceOptions{Name: "replay:/x", Replay: true, StallAfter: 5 * time.Minute, Now: c.now})
	want(t, s, Replaying)
	ev := time.Date(2026, 1, 22, 12, 0, 0, 0, time.UTC)
	// An hour of the capture with no post is a gap in the stream, even
	// though the replay reads it in a moment; the wall clock never stalls
	// a replay.
	s.Posts([]time.Time{ev, ev.Add(time.Minute), ev.Add(time.Hour)})
	c.advance(time.Hour)
	st := want(t, s, Replaying)
	if st.Gaps != 1 || st.AwaySeconds != 0 {
		t.Fatalf("replay status %+v", st)
	}
	s.Finished()
	if st = want(t, s, Done); !st.NewestEventTime.Equal(ev.Add(time.Hour)) {
		t.Fatalf("newest event %s", st.NewestEventTime)
	}
}

func TestNilSource(t *testing.T) {
	var s *Source
	s.SessionStarted()
	s.SessionEnded(errors.New("x"))
	s.Posts(times(1, time.Now()))
	s.Finished()
	if st := s.Status(); st.State != "" {
		t.Fatalf("nil source status %+v", st)
	}
}

func TestWatermark(t *testing.T) {
	var w Watermark
	if !w.Time().IsZero() {
		t.Fatal("new watermark not zero")
	}
	t1 := time.Date(2026, 1, 22, 19, 0, 0, 0, time.UTC)
	w.Advance(t1)
	w.Advance(t1.Add(-time.Hour))
	if !w.Time().Equal(t1) {
		t.Fatalf("watermark %s, want %s", w.Time(), t1)
	}
}

func times(n int, t time.Time) []time.Time {
	out := make([]time.Time, n)
	for i := range out {
		out[i] = t
	}
	return out
}

// TestStallNobodyLookedAt: a stall that began and ended between two looks
// is still a stall, with the post before it as its identity.
func TestStallNobodyLookedAt(t *testing.T) {
	c := newClock()
	s := NewSource(SourceOptions{Name: "jetstream", StallAfter: time.Minute, Now: c.now})
	s.SessionStarted()
	s.Posts(times(1, c.t))
	before := c.t
	c.advance(3 * time.Minute)
	s.Posts(times(1, c.t))
	st := want(t, s, Live)
	if st.LastStall.N != 1 || !st.LastStall.LastPost.Equal(before) || !st.LastStall.Since.Equal(before.Add(time.Minute)) || st.Gaps != 1 {
		t.Fatalf("stall between looks: %+v", st)
	}
}
