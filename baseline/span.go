package baseline

// Span is a closed range of unix minutes [From, To] that a baseline
// leaves out: the minutes a service spent in an incident.
type Span struct {
	From int64 `json:"from"`
	To   int64 `json:"to"`
}

// Without is the series with the minutes of spans unknown, so neither the
// seasonal median nor the EWMA reads them. Spans may come in any order.
func Without(series Counts, spans []Span) Counts {
	if len(spans) == 0 {
		return series
	}
	return func(m int64) (float64, bool) {
		for _, s := range spans {
			if m >= s.From && m <= s.To {
				return 0, false
			}
		}
		return series(m)
	}
}
