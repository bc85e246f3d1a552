package api_test

import (
	"slices"
	"sync"
	"testing"

	"github.com/downsignal/downsignal/baseline"
	"github.com/downsignal/downsignal/index"
)

// spansFunc is a detector that says every minute before the fixture's now
// belongs to an incident of the services it names, and records who asked.
type spansFunc struct {
	mu       sync.Mutex
	services []string
	asked    map[string]bool
}

func (s *spansFunc) BaselineSpans(service string) []baseline.Span {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.asked[service] = true
	if !slices.Contains(s.services, service) {
		return nil
	}
	return []baseline.Span{{From: 0, To: now.Unix()/60 - 1}}
}

// The API hands the detector's incident spans to the trends, the top
// services and /v1/services: with all of Outlook's past inside an
// incident its baseline has nothing to learn from (learning, no expected
// level), while Gmail's is untouched.
func TestLevelsLeaveOutTheDetectorsSpans(t *testing.T) {
	spans := &spansFunc{services: []string{"Outlook"}, asked: map[string]bool{}}
	f := newFixture(t, options{spans: spans})
	incident(f)

	var tr struct{ Points []index.Point }
	f.get("/v1/trends?service=outlook&step=5m&since=2026-01-22T19:40:00Z&until=2026-01-22T19:45:00Z", "/v1/trends", &tr)
	if len(tr.Points) != 1 || !tr.Points[0].Learning || tr.Points[0].Expected != nil {
		t.Errorf("Outlook's trend with its whole past in an incident: %+v, want learning with no expected level", tr.Points)
	}
	var top struct{ Services []index.Rising }
	f.get("/v1/trends/top?window=15m", "/v1/trends/top", &top)
	for _, r := range top.Services {
		if r.Service == "Outlook" && (!r.Learning || r.Expected != nil || r.Ratio != nil) {
			t.Errorf("top services: Outlook %+v, want learning, no expected level, no ratio", r)
		}
		if r.Service == "Microsoft 365" && (r.Learning || r.Expected == nil) {
			t.Errorf("top services: Microsoft 365 %+v, want a level (no incident spans of its own)", r)
		}
	}
	var svcs struct {
		Services []struct {
			Name     string
			Expected *float64
			Learning bool
		}
	}
	f.get("/v1/services", "/v1/services", &svcs)
	for _, s := range svcs.Services {
		if s.Name == "Outlook" && (!s.Learning || s.Expected != nil) {
			t.Errorf("/v1/services: Outlook %+v, want learning", s)
		}
		if s.Name == "Microsoft 365" && (s.Learning || s.Expected == nil) {
			t.Errorf("/v1/services: Microsoft 365 %+v, want a level", s)
		}
	}
	if !spans.asked["Outlook"] || !spans.asked["Microsoft 365"] {
		t.Errorf("the detector was asked for %v, want Outlook's and Microsoft 365's spans", spans.asked)
	}
}
