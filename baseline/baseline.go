package baseline

import (
	"math"
	"slices"
	"sync"
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
	// TrimZ and TrimBlock: the EWMA leaves out each block of TrimBlock
	// minutes whose sum is above the median block plus TrimZ robust
	// spreads (see trim), so the minutes of a surge that no incident
	// covers (its onset, its tail, a series no detector watches) do not
	// raise the level. Defaults 4 and 15.
	TrimZ     float64
	TrimBlock int
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
	if o.TrimBlock <= 0 {
		o.TrimBlock = 15
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
	// scratch holds the EWMA's buffers between estimates: a trend asks
	// for thousands, each reading hundreds of minutes.
	scratch sync.Pool
}

// NewBaseline returns a baseline with the given options.
func NewBaseline(o Options) *Baseline { return &Baseline{o: o.withDefaults()} }

// Expected estimates the count of minute from the series' past only
// (minutes before it), so a spike does not raise its own baseline. It is
// the one rule every normal level in downsignal follows (the detector's,
// the trends' expected and anomaly, the dashboard's band): minutes the
// series does not know are left out (Without hides incident spans that
// way), and the EWMA leaves out the minutes far above the level of what it
// reads (trim). The seasonal median needs no trimming: it is already
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
// weights; minutes the series does not know, and the blocks of minutes far
// above the level (trim), are skipped.
func (b *Baseline) ewma(series Counts, minute int64) Estimate {
	o := b.o
	sc, _ := b.scratch.Get().(*scratch)
	if sc == nil {
		sc = &scratch{}
	}
	defer b.scratch.Put(sc)
	known := sc.known[:0]
	for ago := int64(1); ago <= int64(o.EWMASpan); ago++ {
		if c, ok := series(minute - ago); ok {
			known = append(known, seen{ago, c})
		}
	}
	sc.known = known
	if len(known) == 0 {
		e := finish(0, 0, EWMA, o.Floor)
		e.Learning = true
		return e
	}
	sc.trim(int64(o.TrimBlock), o.TrimZ)
	decay := math.Pow(0.5, 1/float64(o.HalfLife))
	var sum, sumSq, weight float64
	w, at := 1.0, int64(0) // w = decay^at, walked forward with the minutes
	for i, k := range known {
		if !sc.keep[sc.block[i]] {
			continue
		}
		if k.ago-at == 1 {
			w *= decay
		} else {
			w *= math.Pow(decay, float64(k.ago-at))
		}
		at = k.ago
		sum += w * k.c
		sumSq += w * k.c * k.c
		weight += w
	}
	if weight == 0 { // cannot happen: at least half the blocks are at most the median
		weight = 1
	}
	mean := sum / weight
	variance := max(sumSq/weight-mean*mean, 0)
	e := finish(mean, math.Sqrt(variance), EWMA, o.Floor)
	// known is newest first: its last entry is the oldest minute reached.
	e.Learning = known[len(known)-1].ago < int64(o.MinHistory)
	return e
}

// seen is a known minute, ago minutes before the evaluated one.
type seen struct {
	ago int64
	c   float64
}

// scratch is the EWMA's working memory: the known minutes, newest first,
// the block of each, and per block its sum, how many minutes it has and
// whether it feeds the EWMA.
type scratch struct {
	known        []seen
	block        []int
	sums, scaled []float64
	n            []int
	keep         []bool
	tmp          []float64
}

// trim cuts the known minutes into blocks of size minutes counted back
// from the evaluated minute and marks the blocks that may feed the EWMA:
// those whose sum is at most the median block sum plus z robust spreads,
// the spread at least the Poisson noise of the median (and of one post,
// so a quiet series whose median is 0 keeps its occasional posts). A
// block with fewer known minutes than the fullest is judged against that
// share of the median.
//
// Minutes are judged in blocks because an outage is many minutes above
// the level, each of which alone may look like noise (two posts a minute
// on a series that sees one an hour). A surge that fills less than half
// of the blocks read moves neither the median nor the MAD, so its blocks
// are left out; a lasting change of level becomes the median and is
// learned, as it should be. Capping such minutes at the limit instead
// (winsorizing) was tried: a two-hour surge at 25 times a level of 2
// still read 3.4 times the level an hour later.
func (sc *scratch) trim(size int64, z float64) {
	sc.block, sc.sums, sc.n = sc.block[:0], sc.sums[:0], sc.n[:0]
	last := int64(-1)
	for _, k := range sc.known {
		if id := (k.ago - 1) / size; id != last {
			last = id
			sc.sums, sc.n = append(sc.sums, 0), append(sc.n, 0)
		}
		i := len(sc.sums) - 1
		sc.sums[i] += k.c
		sc.n[i]++
		sc.block = append(sc.block, i)
	}
	full := slices.Max(sc.n)
	sc.scaled = sc.scaled[:0]
	for i, s := range sc.sums {
		sc.scaled = append(sc.scaled, s*float64(full)/float64(sc.n[i]))
	}
	sc.tmp = append(sc.tmp[:0], sc.scaled...)
	med := medianInPlace(sc.tmp)
	for i, s := range sc.scaled {
		sc.tmp[i] = math.Abs(s - med)
	}
	mad := 1.4826 * medianInPlace(sc.tmp)
	sc.keep = sc.keep[:0]
	for i, s := range sc.sums {
		f := float64(sc.n[i]) / float64(full)
		limit := med*f + z*max(mad*math.Sqrt(f), math.Sqrt(max(med*f, 1)))
		sc.keep = append(sc.keep, s <= limit)
	}
}

func finish(expected, spread float64, m Method, floor float64) Estimate {
	expected = max(expected, floor)
	spread = max(spread, math.Sqrt(expected))
	return Estimate{Expected: expected, Spread: spread, Method: m}
}

func median(v []float64) float64 { return medianInPlace(slices.Clone(v)) }

// medianInPlace is the median of s, which it sorts.
func medianInPlace(s []float64) float64 {
	if len(s) == 0 {
		return 0
	}
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
