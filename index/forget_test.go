package index

import (
	"fmt"
	"testing"
	"time"

	"github.com/downsignal/downsignal/baseline"
	"github.com/downsignal/downsignal/record"
)

// outlookDay indexes hours of Outlook complaints from day0: a report
// every 5 minutes, and 10 a minute in the outage hours [from, to).
func outlookDay(t *testing.T, hours int, from, to time.Duration) *Index {
	t.Helper()
	x := openTest(t, t.TempDir())
	t.Cleanup(func() { x.Close() })
	outlook := func() *record.Result {
		return &record.Result{Outage: true, Score: 0.7, Intent: "outage",
			Services: []record.ServiceHit{{ID: "outlook", Name: "Outlook", Parent: "Microsoft 365"}}}
	}
	var sigs []record.Signal
	for m := range hours * 60 {
		at := day0.Add(time.Duration(m) * time.Minute)
		n := 0
		if m%5 == 0 {
			n = 1
		}
		if d := time.Duration(m) * time.Minute; d >= from && d < to {
			n = 10
		}
		for i := range n {
			sigs = append(sigs, post(fmt.Sprintf("did:plc:u%d-%d", m, i), rk(len(sigs)), at.Add(time.Duration(i)*time.Second), "outlook down?", outlook()))
		}
	}
	for i := 0; i < len(sigs); i += 500 {
		mustApply(t, x, feed(int64(i), sigs[i:min(i+500, len(sigs))]...))
	}
	return x
}

// expectedAt is the expected outage posts of Outlook's 15-minute step at
// at, or -1 while learning.
func expectedAt(t *testing.T, x *Index, at time.Time, spans []baseline.Span) float64 {
	t.Helper()
	pts, err := x.Trend(TrendRequest{Service: "Outlook", Since: at, Until: at.Add(15 * time.Minute), Step: 15 * time.Minute, Exclude: spans})
	if err != nil || len(pts) != 1 {
		t.Fatalf("trend at %v: %+v, %v", at, pts, err)
	}
	if pts[0].Expected == nil {
		if !pts[0].Learning {
			t.Fatalf("point %+v: no expected level but not learning", pts[0])
		}
		return -1
	}
	return *pts[0].Expected
}

// A two-hour outage in a day: trimming alone keeps it out of the trend's
// level, so an hour after it the expected posts are what they were
// before. A four-hour one fills most of what the EWMA reads and is
// learned, unless the detector's span for it is left out: the reason the
// API passes those spans.
func TestTrendLevelForgetsOutages(t *testing.T) {
	for _, c := range []struct {
		name       string
		outage     time.Duration
		spans      bool
		wantForget bool
	}{
		{"2h outage, trimmed", 2 * time.Hour, false, true},
		{"4h outage, trimmed only", 4 * time.Hour, false, false},
		{"4h outage, its span left out", 4 * time.Hour, true, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			from := 4 * time.Hour
			to := from + c.outage
			x := outlookDay(t, 11, from, to)
			var spans []baseline.Span
			if c.spans {
				spans = []baseline.Span{{From: day0.Add(from).Unix() / 60, To: day0.Add(to).Unix()/60 - 1}}
			}
			before := expectedAt(t, x, day0.Add(from), spans)
			after := expectedAt(t, x, day0.Add(to+time.Hour), spans)
			if before < 2 || before > 4 {
				t.Fatalf("expected before the outage %.2f, want about 3 (a post every 5 minutes)", before)
			}
			if forgot := after <= 2*before; forgot != c.wantForget {
				t.Errorf("expected an hour after the outage %.2f, before it %.2f: within 2x %v, want %v", after, before, forgot, c.wantForget)
			}
			t.Logf("expected per 15 minutes: before %.2f, an hour after %.2f", before, after)
		})
	}
}

// A series with less than an hour of history has no level: points say
// learning, with no expected posts, no anomaly, and no ratio in a window.
func TestTrendLearning(t *testing.T) {
	x := outlookDay(t, 3, 30*time.Minute, 40*time.Minute)
	pts, err := x.Trend(TrendRequest{Service: "Outlook", Since: day0, Until: day0.Add(3 * time.Hour), Step: 15 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pts {
		learning := p.T.Sub(day0) < time.Hour
		if p.Learning != learning || (p.Expected == nil) != learning || (learning && p.Anomaly != 0) {
			t.Errorf("point at +%v: learning %v expected %v anomaly %v, want learning %v", p.T.Sub(day0), p.Learning, p.Expected, p.Anomaly, learning)
		}
	}
	lv := x.ServiceLevels(day0.Add(40*time.Minute), nil)["Outlook"]
	if !lv.Learning || lv.Expected != nil || lv.Ratio != nil || lv.State != "normal" || lv.Posts < 100 {
		t.Errorf("Outlook 40 minutes in, after 10 minutes of 10 posts a minute: %+v, want learning, no level, normal", lv)
	}
	lv = x.ServiceLevels(day0.Add(3*time.Hour), nil)["Outlook"]
	if lv.Learning || lv.Expected == nil || lv.Ratio == nil {
		t.Errorf("Outlook after 3 hours: %+v, want a level and a ratio", lv)
	}
}
