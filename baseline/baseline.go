package baseline

import (
	"math"
	"slices"
)

// MinutesPerWeek is the season of the baseline.
const MinutesPerWeek = 7 * 24 * 60

// Counts reads a per-minute series: the count at a unix minute, and
// whether the series has data for that minute (false before the series
// existed or beyond what is kept).
type Counts func(minute int64) (count float64, known bool)

// Options tunes the baseline. Zero values take the defaults.
type Options struct {
	// Weeks of history the seasonal baseline looks back. Default 4.
	Weeks int
	// MinWeeks with data needed before the seasonal baseline is trusted
	// over the EWMA. Default 2.
	MinWeeks int
	// Window is the half-width, in minutes, of the slot around the same
	// minute of the week in each past week. Default 15.
	Window int
	// HalfLife of the EWMA, in minutes. Default 60.
	HalfLife int
	// EWMASpan is how many minutes before the evaluated minute the EWMA
	// reads. Default 6 half-lives.
	EWMASpan int
	// Floor is the smallest expected count per minute, so a quiet series
	// does not turn one post into an infinite anomaly. Default 0.05.
	Floor float64
}

func (o Options) withDefaults() Options {
	if o.Weeks <= 0 {
		o.Weeks = 4
	}
	if o.MinWeeks <= 0 {
		o.MinWeeks = 2
	}
	if o.Window <= 0 {
		o.Window = 15
	}
	if o.HalfLife <= 0 {
		o.HalfLife = 60
	}
	if o.EWMASpan <= 0 {
		o.EWMASpan = 6 * o.HalfLife
	}
	if o.Floor <= 0 {
		o.Floor = 0.05
	}
	return o
}

// Method says how an Estimate was made.
type Method string

const (
	Seasonal Method = "seasonal"
	EWMA     Method = "ewma"
)

// Estimate is the expected count of one minute.
type Estimate struct {
	// Expected count per minute.
	Expected float64 `json:"expected"`
	// Spread is a robust standard deviation (1.4826 x MAD) of the count
	// per minute, never below sqrt(Expected): counts are at least as
	// noisy as a Poisson process.
	Spread float64 `json:"spread"`
	Method Method  `json:"method"`
}

// Baseline estimates normal levels of a series.
type Baseline struct {
	o Options
}

// NewBaseline returns a baseline with the given options.
func NewBaseline(o Options) *Baseline { return &Baseline{o: o.withDefaults()} }

// Expected estimates the count of minute from the series' past only
// (minutes before it), so a spike does not raise its own baseline.
func (b *Baseline) Expected(series Counts, minute int64) Estimate {
	o := b.o
	var vals []float64
	weeks := 0
	for w := 1; w <= o.Weeks; w++ {
		center := minute - int64(w)*MinutesPerWeek
		had := false
		for m := center - int64(o.Window); m <= center+int64(o.Window); m++ {
			if c, ok := series(m); ok {
				vals = append(vals, c)
				had = true
			}
		}
		if had {
			weeks++
		}
	}
	if weeks >= o.MinWeeks {
		med := median(vals)
		mad := medianAbsDev(vals, med)
		return finish(med, 1.4826*mad, Seasonal, o.Floor)
	}
	return b.ewma(series, minute)
}

// ewma averages the minutes before minute with exponentially decaying
// weights; minutes the series does not know are skipped.
func (b *Baseline) ewma(series Counts, minute int64) Estimate {
	o := b.o
	decay := math.Pow(0.5, 1/float64(o.HalfLife))
	var sum, sumSq, weight float64
	w := 1.0
	for m := minute - 1; m >= minute-int64(o.EWMASpan); m-- {
		w *= decay
		c, ok := series(m)
		if !ok {
			continue
		}
		sum += w * c
		sumSq += w * c * c
		weight += w
	}
	if weight == 0 {
		return finish(0, 0, EWMA, o.Floor)
	}
	mean := sum / weight
	variance := max(sumSq/weight-mean*mean, 0)
	return finish(mean, math.Sqrt(variance), EWMA, o.Floor)
}

func finish(expected, spread float64, m Method, floor float64) Estimate {
	expected = max(expected, floor)
	spread = max(spread, math.Sqrt(expected))
	return Estimate{Expected: expected, Spread: spread, Method: m}
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func medianAbsDev(v []float64, med float64) float64 {
	d := make([]float64, len(v))
	for i, x := range v {
		d[i] = math.Abs(x - med)
	}
	return median(d)
}
