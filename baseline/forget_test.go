package baseline

import (
	"math"
	"testing"
)

// day builds a series of n known minutes at level 2 with a surge of 50 a
// minute over [surgeFrom, surgeTo).
func surgeSeries(n, surgeFrom, surgeTo int64) Counts {
	return func(m int64) (float64, bool) {
		switch {
		case m < 0 || m >= n:
			return 0, false
		case m >= surgeFrom && m < surgeTo:
			return 50, true
		case m%3 == 0: // 1, 2, 3, 1, 2, 3...: a level of 2 with some noise
			return 1, true
		case m%3 == 1:
			return 2, true
		}
		return 3, true
	}
}

// A two-hour surge that no incident covered (a series no detector
// watches) does not become the normal level: an hour after it the EWMA
// is back near 2, where without trimming it reads far above.
func TestEWMATrimsASurge(t *testing.T) {
	const from, to = 360, 480 // six quiet hours, then two hours of surge
	at := int64(to + 60)
	series := surgeSeries(at, from, to)
	before := NewBaseline(Options{}).Expected(series, from)
	after := NewBaseline(Options{}).Expected(series, at)
	if before.Method != EWMA || math.Abs(before.Expected-2) > 0.2 {
		t.Fatalf("before the surge: %+v, want an EWMA near 2", before)
	}
	if after.Expected > 2*before.Expected {
		t.Errorf("an hour after the surge: expected %.2f, want within 2x of %.2f before it", after.Expected, before.Expected)
	}
	// The same arithmetic without trimming learns the surge: what trimming
	// is for.
	raw := NewBaseline(Options{TrimZ: 1e9}).Expected(series, at)
	if raw.Expected < 10 {
		t.Errorf("without trimming: expected %.2f, want the surge learned (>= 10)", raw.Expected)
	}
	t.Logf("expected before %.2f, an hour after %.2f (%.2f without trimming)", before.Expected, after.Expected, raw.Expected)
}

// Minutes inside a span are left out: with the surge's minutes excluded
// the level an hour after is what it was before, to the noise of the
// minutes read since.
func TestWithoutLeavesSpansOut(t *testing.T) {
	const from, to = 360, 480
	at := int64(to + 60)
	series := Without(surgeSeries(at, from, to), []Span{{From: 100, To: 110}, {From: from, To: to - 1}})
	b := NewBaseline(Options{TrimZ: 1e9}) // exclusion alone, no trimming
	before, after := b.Expected(series, from), b.Expected(series, at)
	if math.Abs(after.Expected-before.Expected) > 0.2 {
		t.Errorf("surge excluded: expected %.2f an hour after, %.2f before, want the same level", after.Expected, before.Expected)
	}
	if _, ok := series(from + 5); ok {
		t.Error("a minute inside a span is known")
	}
	if c, ok := series(from - 1); !ok || c != 3 {
		t.Errorf("minute before the span: %v %v, want 3 known", c, ok)
	}
}

// A quiet series keeps its occasional posts: trimming leaves out a surge,
// not the one or two posts of a series whose median is 0.
func TestTrimKeepsAQuietSeries(t *testing.T) {
	series := func(m int64) (float64, bool) {
		if m < 0 || m >= 600 {
			return 0, false
		}
		if m%10 == 0 {
			return 2, true
		}
		return 0, true
	}
	e := NewBaseline(Options{}).Expected(series, 600)
	if math.Abs(e.Expected-0.2) > 0.03 {
		t.Errorf("2 posts every 10 minutes: expected %.3f a minute, want 0.2", e.Expected)
	}
}

// The level is learning until the EWMA reaches MinHistory minutes back,
// and never on the seasonal baseline.
func TestLearning(t *testing.T) {
	series := func(m int64) (float64, bool) { return 1, m >= 1000 }
	b := NewBaseline(Options{})
	for _, c := range []struct {
		at   int64
		want bool
	}{{1000, true}, {1001, true}, {1059, true}, {1060, false}, {1500, false}} {
		if e := b.Expected(series, c.at); e.Learning != c.want {
			t.Errorf("%d minutes of history: %+v, want learning %v", c.at-1000, e, c.want)
		}
	}
	weeks := func(m int64) (float64, bool) { return 1, m >= 0 }
	if e := b.Expected(weeks, 3*MinutesPerWeek); e.Method != Seasonal || e.Learning {
		t.Errorf("three weeks of history: %+v, want seasonal, not learning", e)
	}
	// A window of 5 minutes: 5 times the level, sqrt(5) times the spread.
	w := Estimate{Expected: 2, Spread: 1.5, Method: EWMA, Learning: true}.Times(5)
	if w.Expected != 10 || math.Abs(w.Spread-1.5*math.Sqrt(5)) > 1e-12 || !w.Learning {
		t.Errorf("Times(5): %+v", w)
	}
}

// The first quarter hour of a small outage on a series that sees almost
// nothing: each minute's two posts could be noise, the block of them is
// not, so it stays out of the level.
func TestTrimJudgesBlocks(t *testing.T) {
	series := func(m int64) (float64, bool) {
		switch {
		case m < 0 || m >= 75:
			return 0, false
		case m >= 60:
			return 2, true
		}
		return 0, true
	}
	if e := NewBaseline(Options{}).Expected(series, 75); e.Expected > 0.05 {
		t.Errorf("after 15 minutes of 2 posts on a silent series: expected %.3f, want the floor 0.05", e.Expected)
	}
	if raw := NewBaseline(Options{TrimZ: 1e9}).Expected(series, 75); raw.Expected < 0.3 {
		t.Errorf("without trimming: expected %.3f, want the outage learned (>= 0.3)", raw.Expected)
	}
}
