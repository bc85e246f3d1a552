package baseline

import (
	"math"
	"testing"
)

func TestPoissonTail(t *testing.T) {
	tests := []struct {
		k      int
		lambda float64
		want   float64
	}{
		{0, 3, 1},
		{1, 1, 1 - math.Exp(-1)},
		{3, 1, 1 - math.Exp(-1)*(1+1+0.5)},
		{2, 0.5, 1 - math.Exp(-0.5)*(1+0.5)},
		{10, 10, 0.54207028552814779}, // from the Poisson CDF, 1 - P(X<=9)
	}
	for _, tt := range tests {
		if got := PoissonTail(tt.k, tt.lambda); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("PoissonTail(%d, %v) = %v, want %v", tt.k, tt.lambda, got, tt.want)
		}
	}
	// Far in the tail the value must stay positive and tiny, not 0 or NaN.
	if p := PoissonTail(60, 0.5); !(p > 0 && p < 1e-60) {
		t.Errorf("PoissonTail(60, 0.5) = %v, want a tiny positive number", p)
	}
}

func TestScoreOrdersSurprise(t *testing.T) {
	quiet := Estimate{Expected: 0.2, Spread: math.Sqrt(0.2)}
	busy := Estimate{Expected: 100, Spread: 15}
	if s := Score(0, quiet); s != 0 {
		t.Errorf("nothing observed: score %v, want 0", s)
	}
	if s1, s5 := Score(1, quiet), Score(5, quiet); !(s5 > s1 && s1 > 0) {
		t.Errorf("quiet series: score(1)=%v score(5)=%v, want increasing and positive", s1, s5)
	}
	if s := Score(110, busy); s > 2 {
		t.Errorf("busy series, 110 vs 100±15: score %v, want unremarkable (<2)", s)
	}
	if s := Score(300, busy); s < 8 {
		t.Errorf("busy series, 300 vs 100±15: score %v, want a strong anomaly (>=8)", s)
	}
}

// series builds a Counts from a map; minutes in [from, to) are known.
func series(m map[int64]float64, from, to int64) Counts {
	return func(minute int64) (float64, bool) {
		if minute < from || minute >= to {
			return 0, false
		}
		return m[minute], true
	}
}

func TestBaselineSeasonal(t *testing.T) {
	// Four weeks where minute-of-week 600 sees 10 posts and others 1.
	now := int64(4*MinutesPerWeek + 600)
	counts := map[int64]float64{}
	for m := int64(0); m < now; m++ {
		counts[m] = 1
		if m%MinutesPerWeek >= 590 && m%MinutesPerWeek <= 610 {
			counts[m] = 10
		}
	}
	b := NewBaseline(Options{Window: 5})
	e := b.Expected(series(counts, 0, now), now)
	if e.Method != Seasonal || e.Expected != 10 {
		t.Errorf("busy slot: got %+v, want seasonal expected 10", e)
	}
	e = b.Expected(series(counts, 0, now), now+300)
	if e.Method != Seasonal || e.Expected != 1 {
		t.Errorf("quiet slot: got %+v, want seasonal expected 1", e)
	}
}

func TestBaselineFallsBackToEWMA(t *testing.T) {
	counts := map[int64]float64{}
	for m := int64(0); m < 600; m++ {
		counts[m] = 4
	}
	e := NewBaseline(Options{}).Expected(series(counts, 0, 600), 600)
	if e.Method != EWMA || math.Abs(e.Expected-4) > 1e-9 {
		t.Errorf("one day of history: got %+v, want EWMA expected 4", e)
	}
	if e.Spread < 2 {
		t.Errorf("spread %v below the Poisson floor sqrt(4)", e.Spread)
	}
	empty := NewBaseline(Options{}).Expected(series(nil, 0, 0), 600)
	if empty.Expected != 0.05 {
		t.Errorf("no history: expected %v, want the floor 0.05", empty.Expected)
	}
}
