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
	// TrimZ leaves out of the EWMA each minute above the median of the
	// minutes it reads plus TrimZ robust spreads (see trimLimit), so the
	// minutes of a surge that no incident covers (its onset, its tail, a
	// series no detector watches) do not raise the level. Default 4.
	TrimZ float64
	// MinHistory is how many minutes of a series the EWMA must reach
	// back over before its level is trusted: before that the Estimate is
	// Learning. Default 60, one half-life: the detector's warm-up.
	MinHistory int
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
	if o.TrimZ <= 0 {
		o.TrimZ = 4
	}
	if o.MinHistory <= 0 {
		o.MinHistory = 60
	}
	o.EWMASpan = max(o.EWMASpan, o.MinHistory)
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
	// Learning is true while the series has too little history for its
	// level to be more than a guess: the EWMA reached back less than
	// MinHistory minutes (the seasonal baseline never learns: it needs
	// MinWeeks weeks). Expected is then the guess, not to be shown as a
	// level or divided by.
	Learning bool `json:"learning,omitempty"`
}

// Times is the estimate for the sum of n minutes (a window), each
// minute's count independent: n times the level, sqrt(n) times the spread.
func (e Estimate) Times(n float64) Estimate {
	e.Expected *= n
	e.Spread *= math.Sqrt(n)
	return e
}

// Baseline estimates normal levels of a series.
type Baseline struct {
	o Options
}

// NewBaseline returns a baseline with the given options.
func NewBaseline(o Options) *Baseline { return &Baseline{o: o.withDefaults()} }

// Expected estimates the count of minute from the series' past only
// (minutes before it), so a spike does not raise its own baseline. It is
// the one rule every normal level in downsignal follows (the detector's,
// the trends' expected and anomaly, the dashboard's band): minutes the
// series does not know are left out (Without hides incident spans that
// way), and the EWMA leaves out the minutes far above the level of what it
// reads (trimLimit). The seasonal median needs no trimming: it is already
// robust to a surge that fills less than half of its slots.
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
// weights; minutes the series does not know, and those above trimLimit,
// are skipped.
func (b *Baseline) ewma(series Counts, minute int64) Estimate {
	o := b.o
	type seen struct {
		ago int64
		c   float64
	}
	var known []seen
	for ago := int64(1); ago <= int64(o.EWMASpan); ago++ {
		if c, ok := series(minute - ago); ok {
			known = append(known, seen{ago, c})
		}
	}
	if len(known) == 0 {
		e := finish(0, 0, EWMA, o.Floor)
		e.Learning = true
		return e
	}
	vals := make([]float64, len(known))
	for i, k := range known {
		vals[i] = k.c
	}
	limit := trimLimit(vals, o.TrimZ)
	decay := math.Log(0.5) / float64(o.HalfLife)
	var sum, sumSq, weight float64
	for _, k := range known {
		if k.c > limit {
			continue
		}
		w := math.Exp(decay * float64(k.ago))
		c := k.c
		sum += w * c
		sumSq += w * c * c
		weight += w
	}
	if weight == 0 { // cannot happen: at least half the minutes are at most the median
		weight = 1
	}
	mean := sum / weight
	variance := max(sumSq/weight-mean*mean, 0)
	e := finish(mean, math.Sqrt(variance), EWMA, o.Floor)
	// known is newest first: its last entry is the oldest minute reached.
	e.Learning = known[len(known)-1].ago < int64(o.MinHistory)
	return e
}

// trimLimit is the most one minute may count and still feed an EWMA over
// vals: their median plus z robust spreads, the spread at least the
// Poisson noise of the median (and of one post a minute, so a quiet series
// whose median is 0 keeps its occasional posts). A surge that fills less
// than half of the minutes read moves neither the median nor the MAD, so
// its minutes are left out; a lasting change of level becomes the median
// and is learned, as it should be. Capping such minutes at the limit
// (winsorizing) instead was tried: a two-hour surge at 25 times a level of
// 2 still read 3.4 times the level an hour later.
func trimLimit(vals []float64, z float64) float64 {
	med := median(vals)
	spread := max(1.4826*medianAbsDev(vals, med), math.Sqrt(max(med, 1)))
	return med + z*spread
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
