package baseline

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkExpectedEWMA estimates one minute of a day-old series of
// Poisson-like counts (one EWMA over six hours of minutes), as the
// detector does for each scope with reports and a 1-minute trend does for
// each point.
func BenchmarkExpectedEWMA(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	counts := make([]float64, 1440)
	for i := range counts {
		counts[i] = float64(rng.IntN(5))
	}
	series := func(m int64) (float64, bool) {
		if m < 0 || m >= int64(len(counts)) {
			return 0, false
		}
		return counts[m], true
	}
	base := NewBaseline(Options{})
	b.ReportAllocs()
	for b.Loop() {
		base.Expected(series, 1440)
	}
}
