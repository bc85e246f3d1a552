package detect_test

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/downsignal/downsignal/detect"
	"github.com/downsignal/downsignal/detect/detecttest"
)

// The incidents of a day do not depend on how its records were spread
// over partitions or cut into batches: event time and the watermark decide.
func TestSameDayAnyPartitioningSameIncidents(t *testing.T) {
	sigs := signals(detecttest.Day(detecttest.DayOptions{Date: day, Seed: 11, From: 14, To: 23, Surge: true}))
	type result struct {
		Incidents []detect.Incident
		Events    []string
	}
	runWith := func(parts, batch int) result {
		e := open(t, filepath.Join(t.TempDir(), "alerts.db"))
		defer e.Close()
		f := newFeeder(t, parts)
		f.batch = batch
		f.apply(e, f.changes(sigs))
		var r result
		for _, in := range e.Incidents(detect.Filter{}) {
			full, _ := e.Incident(in.ID)
			r.Incidents = append(r.Incidents, full)
		}
		evs, _ := e.EventsAfter(0, 1000)
		for _, ev := range evs {
			r.Events = append(r.Events, ev.Type+"@"+ev.Time.Format(time.TimeOnly))
		}
		return r
	}
	ref := runWith(1, 1000)
	if len(ref.Incidents) != 1 {
		t.Fatalf("reference: %d incidents, want 1", len(ref.Incidents))
	}
	for _, c := range []struct{ parts, batch int }{{6, 1000}, {6, 37}, {3, 1}} {
		got := runWith(c.parts, c.batch)
		if !reflect.DeepEqual(got.Events, ref.Events) {
			t.Errorf("%d partitions, batches of %d: events %v, want %v", c.parts, c.batch, got.Events, ref.Events)
		}
		if len(got.Incidents) != 1 || !reflect.DeepEqual(got.Incidents[0], ref.Incidents[0]) {
			a, _ := json.MarshalIndent(got.Incidents, "", " ")
			b, _ := json.MarshalIndent(ref.Incidents, "", " ")
			t.Errorf("%d partitions, batches of %d: incident differs:\n%s", c.parts, c.batch, lineDiff(string(a), string(b)))
		}
	}
}

// Lead time and false incidents over several generated days: the figures
// the README quotes. Quiet days must raise nothing; outage days must fire
// within five minutes of the onset, once.
func TestLeadTimeAndFalseIncidentsOverSeeds(t *testing.T) {
	seeds := []uint64{101, 102, 103, 104}
	if testing.Short() {
		seeds = seeds[:2]
	}
	var falseIncidents int
	var worst time.Duration
	var leads []time.Duration
	for _, seed := range seeds {
		_, quiet := run(t, detecttest.DayOptions{Date: day, Seed: seed, Brigade: true})
		falseIncidents += len(quiet)
		e, _ := run(t, detecttest.DayOptions{Date: day, Seed: seed, Surge: true, Brigade: true})
		incs := e.Incidents(detect.Filter{})
		if len(incs) != 1 {
			t.Errorf("seed %d: outage day has %d incidents, want 1", seed, len(incs))
			continue
		}
		lead := incs[0].FiringAt.Sub(detecttest.SurgeOnset(day))
		worst = max(worst, lead)
		leads = append(leads, lead)
		if lead > 5*time.Minute {
			t.Errorf("seed %d: lead time %v, want within 5 minutes", seed, lead)
		}
	}
	if falseIncidents != 0 {
		t.Errorf("%d events on %d quiet days (with a brigade), want none", falseIncidents, len(seeds))
	}
	t.Logf("%d quiet days: %d false events; %d outage days: lead times %v (worst %v)", len(seeds), falseIncidents, len(seeds), leads, worst)
}

// lineDiff shows the lines that differ between two texts of equal shape.
func lineDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	var out []string
	for i := 0; i < max(len(g), len(w)) && len(out) < 20; i++ {
		var a, b string
		if i < len(g) {
			a = g[i]
		}
		if i < len(w) {
			b = w[i]
		}
		if a != b {
			out = append(out, "got "+a+" | want "+b)
		}
	}
	return strings.Join(out, "\n")
}
