package detect

import (
	"math"

	"github.com/downsignal/downsignal/baseline"
)

// BaselineSpans returns the minutes the detector keeps out of service's
// baseline, oldest first: those its group spent in an incident, pending or
// firing, from the start of the incident's first window (an incident still
// open runs on without end). Trends pass them to baseline.Without, so the
// expected level they show follows the detector's rule. The answer is a
// copy; nil when the group never had an incident.
func (e *Engine) BaselineSpans(service string) []baseline.Span {
	e.mu.RLock()
	defer e.mu.RUnlock()
	gs := e.st.groups[e.st.groupOf(service)]
	if gs == nil || len(gs.Excluded) == 0 {
		return nil
	}
	out := make([]baseline.Span, len(gs.Excluded))
	for i, iv := range gs.Excluded {
		out[i] = baseline.Span{From: iv.From, To: iv.To}
	}
	if gs.Open != "" {
		out[len(out)-1].To = math.MaxInt64
	}
	return out
}
