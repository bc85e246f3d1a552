package baseline

import "math"

// PoissonTail returns P(X >= k) for X ~ Poisson(lambda): how surprising k
// events are when lambda are expected.
func PoissonTail(k int, lambda float64) float64 {
	if k <= 0 {
		return 1
	}
	if lambda <= 0 {
		return 0
	}
	// P(X >= k) = 1 - P(X <= k-1), summed in log space for stability.
	// For k far above lambda the complement loses precision, so sum the
	// upper tail directly from k while terms still matter.
	if float64(k) > lambda {
		logTerm := float64(k)*math.Log(lambda) - lambda - lgamma(float64(k)+1)
		term := math.Exp(logTerm)
		sum := term
		for i := k + 1; i < k+1000; i++ {
			term *= lambda / float64(i)
			sum += term
			if term < sum*1e-15 {
				break
			}
		}
		return math.Min(sum, 1)
	}
	var cdf float64
	term := math.Exp(-lambda)
	for i := 0; i < k; i++ {
		cdf += term
		term *= lambda / float64(i+1)
	}
	return math.Max(1-cdf, 0)
}

func lgamma(x float64) float64 {
	v, _ := math.Lgamma(x)
	return v
}

// RobustZ is how many robust standard deviations x lies above expected.
func RobustZ(x float64, e Estimate) float64 {
	if e.Spread <= 0 {
		return 0
	}
	return (x - e.Expected) / e.Spread
}

// PoissonLimit is the expected count above which Score uses the robust z
// instead of the Poisson tail.
const PoissonLimit = 20.0

// Score is the anomaly score of observing x when e was expected, on one
// scale whatever the count: -log10 of the upper-tail probability. Below
// PoissonLimit expected it is the Poisson tail; above, the normal tail of
// the robust z (which allows for over-dispersion the Poisson ignores).
// 0 means normal or below; 4 means a one-in-ten-thousand surprise.
func Score(x float64, e Estimate) float64 {
	if x <= e.Expected {
		return 0
	}
	var p float64
	if e.Expected < PoissonLimit {
		p = PoissonTail(int(math.Round(x)), e.Expected)
	} else {
		p = 0.5 * math.Erfc(RobustZ(x, e)/math.Sqrt2)
	}
	if p <= 0 {
		return 300 // below float64 precision: as surprising as it gets
	}
	return math.Max(-math.Log10(p), 0)
}
