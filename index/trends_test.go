package index

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/downsignal/downsignal/record"
)

func TestHLLCounts(t *testing.T) {
	for _, n := range []int{0, 1, 7, 100, 1000, 20000} {
		var s hll
		for i := range n {
			s.add(xxhash.Sum64String(fmt.Sprintf("did:plc:%d", i)))
			s.add(xxhash.Sum64String(fmt.Sprintf("did:plc:%d", i))) // twice: counted once
		}
		got := s.count()
		tol := max(0.03*float64(n), 0.5)
		if math.Abs(float64(got-n)) > tol {
			t.Errorf("%d distinct: estimate %d", n, got)
		}
		// A round trip through the store's encoding keeps the estimate.
		d, rest, err := readHLL(s.appendBinary(nil))
		if err != nil || len(rest) != 0 || d.count() != got {
			t.Errorf("%d distinct: decoded %d, %v", n, d.count(), err)
		}
	}
	// Merging two halves with an overlap counts the union.
	var a, b hll
	for i := range 600 {
		a.add(xxhash.Sum64String(fmt.Sprint("x", i)))
		b.add(xxhash.Sum64String(fmt.Sprint("x", i+300)))
	}
	var regs [hllM]uint8
	a.mergeInto(&regs)
	b.mergeInto(&regs)
	if got := hllCount(&regs); math.Abs(float64(got-900)) > 30 {
		t.Errorf("union of 600 and 600 sharing 300: %d, want ~900", got)
	}
}

// Three quiet hours of one Teams outage post a minute, then a spike: the
// spike's minutes are far above the expected level and ranked first.
func TestTrendBaselineAndTop(t *testing.T) {
	x := openTest(t, t.TempDir())
	defer x.Close()
	teams := func() *record.Result {
		return &record.Result{Outage: true, Score: 0.6, Intent: "outage",
			Services:   []record.ServiceHit{{ID: "teams", Name: "Teams", Parent: "Microsoft 365"}},
			ErrorCodes: []record.ErrorCode{{Code: "HTTP 503", Family: "http", Meaning: "service unavailable"}}}
	}
	var sigs []record.Signal
	start := day0
	n := 0
	for m := range 180 {
		sigs = append(sigs, post(fmt.Sprintf("did:plc:q%d", m%20), rk(n), start.Add(time.Duration(m)*time.Minute), "teams down?", teams()))
		n++
	}
	spike := start.Add(180 * time.Minute)
	for m := range 5 {
		for a := range 30 {
			sigs = append(sigs, post(fmt.Sprintf("did:plc:s%d", a), rk(n), spike.Add(time.Duration(m)*time.Minute), "teams down for everyone", teams()))
			n++
		}
	}
	for i := 0; i < len(sigs); i += 100 {
		mustApply(t, x, feed(int64(i), sigs[i:min(i+100, len(sigs))]...))
	}
	pts, err := x.Trend(TrendRequest{Service: "Teams", Since: spike.Add(-10 * time.Minute), Until: spike.Add(5 * time.Minute), Step: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if len(pts) != 15 {
		t.Fatalf("%d points, want 15", len(pts))
	}
	quiet, hot := pts[5], pts[12]
	if quiet.Posts != 1 || quiet.Authors != 1 || quiet.Anomaly > 1 || quiet.Expected == nil || math.Abs(*quiet.Expected-1) > 0.3 {
		t.Errorf("quiet minute: %+v, want 1 post, expected ~1, no anomaly", quiet)
	}
	if hot.Posts != 30 || hot.Authors != 30 || hot.Anomaly < 10 {
		t.Errorf("spike minute: %+v, want 30 posts by 30 authors, anomaly >= 10", hot)
	}
	// 5-minute steps merge authors across minutes: the same 30 people.
	pts5, _ := x.Trend(TrendRequest{Service: "Teams", Since: spike, Until: spike.Add(5 * time.Minute), Step: 5 * time.Minute})
	if len(pts5) != 1 || pts5[0].Posts != 150 || pts5[0].Authors != 30 {
		t.Errorf("5m step over the spike: %+v, want 150 posts, 30 authors", pts5)
	}
	// Hourly steps read the hourly roll-ups: the same sums and authors.
	hourly, _ := x.Trend(TrendRequest{Service: "Teams", Since: start, Until: start.Add(4 * time.Hour), Step: time.Hour})
	sum := 0
	for _, p := range hourly {
		sum += p.Posts
	}
	if len(hourly) != 4 || sum != 330 || hourly[3].Authors != 30 || hourly[0].Authors != 20 {
		t.Errorf("hourly: %+v, want 330 posts in 4 points, 20 authors an hour, then the 30 of the spike", hourly)
	}
	at := spike.Add(5 * time.Minute)
	top, err := x.TopServices(TopRequest{Window: 15 * time.Minute, At: at})
	if err != nil {
		t.Fatal(err)
	}
	if len(top) < 2 || top[0].Anomaly < 10 || top[0].Posts != 160 {
		t.Fatalf("top services: %+v", top)
	}
	codes, _ := x.TopCodes(TopRequest{Window: time.Hour, At: at})
	if len(codes) != 1 || codes[0].Code != "HTTP 503" || codes[0].Meaning != "service unavailable" || len(codes[0].Services) != 2 {
		t.Fatalf("top codes: %+v", codes)
	}
	lv := x.ServiceLevels(at, nil)
	if lv["Teams"].State != "elevated" {
		t.Errorf("Teams level: %+v, want elevated", lv["Teams"])
	}
	if lv := x.ServiceLevels(spike.Add(-time.Hour), nil); lv["Teams"].State != "normal" {
		t.Errorf("Teams an hour before: %+v, want normal", lv["Teams"])
	}
	// The minute under way counts: 30 seconds into the spike's first minute
	// its 30 posts already show, at a whole minute only the minutes before.
	if lv := x.ServiceLevels(spike.Add(30*time.Second), nil); lv["Teams"].Posts != 14+30 || lv["Teams"].State != "elevated" {
		t.Errorf("Teams 30 s into the spike: %+v, want 14 quiet posts and the spike minute's 30, elevated", lv["Teams"])
	}
	if lv := x.ServiceLevels(spike, nil); lv["Teams"].Posts != 15 {
		t.Errorf("Teams as the spike begins: %+v, want the 15 quiet posts before it", lv["Teams"])
	}
	// By code and by code with service share the counters.
	byCode, _ := x.Trend(TrendRequest{Code: "HTTP 503", Service: "Microsoft 365", Since: spike, Until: at, Step: 5 * time.Minute})
	if len(byCode) != 1 || byCode[0].Posts != 150 {
		t.Errorf("Microsoft 365 x HTTP 503: %+v", byCode)
	}
}

// TestDistinctAuthorsNeverExceedPosts: the sketch's estimate of distinct
// authors can overshoot; a point never says more people than posts.
func TestDistinctAuthorsNeverExceedPosts(t *testing.T) {
	x := openTest(t, t.TempDir())
	defer x.Close()
	res := func() *record.Result {
		return &record.Result{Outage: true, Score: 0.9, Intent: "outage",
			Services: []record.ServiceHit{{ID: "outlook", Name: "Outlook", Parent: "Microsoft 365"}}}
	}
	var sigs []record.Signal
	for i := range 4000 {
		sigs = append(sigs, post(fmt.Sprintf("did:plc:a%d", i), rk(i), day0.Add(time.Duration(i%60)*time.Second), "outlook down", res()))
	}
	for i := 0; i < len(sigs); i += 500 {
		mustApply(t, x, feed(int64(i), sigs[i:min(i+500, len(sigs))]...))
	}
	for _, step := range []time.Duration{time.Minute, 5 * time.Minute} {
		pts, err := x.Trend(TrendRequest{Service: "Outlook", Since: day0, Until: day0.Add(step), Step: step})
		if err != nil {
			t.Fatal(err)
		}
		if len(pts) != 1 || pts[0].Posts != 4000 || pts[0].Authors > pts[0].Posts || pts[0].Authors < 3800 {
			t.Errorf("step %s: %+v, want 4000 posts by at most 4000 (about 4000) authors", step, pts)
		}
	}
}
