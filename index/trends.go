package index

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/downsignal/downsignal/baseline"
)

// Point is one step of a trend.
type Point struct {
	T        time.Time `json:"t"`
	Posts    int       `json:"posts"`
	Authors  int       `json:"authors"`
	Mentions int       `json:"mentions"`
	// Expected is the baseline's expected outage posts in this step,
	// from the series' past only (seasonal median, or EWMA while the
	// series is young), leaving out the minutes of the service's
	// incidents and those far above its level (baseline.Expected). Nil
	// (null) while the baseline is Learning.
	Expected *float64 `json:"expected"`
	// Learning is true while the series has too little history (less
	// than an hour, or one step when steps are longer) for a level: then
	// Expected is null and Anomaly 0.
	Learning bool `json:"learning"`
	// Anomaly is -log10 of the chance of at least Posts when Expected
	// were normal: 0 is normal, 4 a one-in-ten-thousand surprise.
	Anomaly float64 `json:"anomaly"`
}

// SpansFunc returns the minutes left out of a service's baseline: the
// detector's incident spans (detect.Engine.BaselineSpans). Nil leaves out
// nothing but what the baseline trims.
type SpansFunc func(service string) []baseline.Span

// Of is the spans of service: none for no function or no service.
func (f SpansFunc) Of(service string) []baseline.Span {
	if f == nil || service == "" {
		return nil
	}
	return f(service)
}

// level is an estimate as the API shows it: the expected count (nil while
// learning) and the anomaly score of observed against it (0 while
// learning: no score against a guess).
func level(e baseline.Estimate, observed float64) (expected *float64, anomaly float64) {
	if e.Learning {
		return nil, 0
	}
	v := round2(e.Expected)
	return &v, round2(baseline.Score(observed, e))
}

// TrendRequest asks for one series' counters over a time range. Empty
// Service, Code and Region match any: the zero request is every post.
type TrendRequest struct {
	Service, Code, Region string
	Since, Until          time.Time
	Step                  time.Duration
	// Exclude are the minutes the baseline leaves out: the incident spans
	// of Service's group.
	Exclude []baseline.Span
}

// MaxTrendPoints bounds one trend answer.
const MaxTrendPoints = 10_000

// Trend returns the series' counters in steps of r.Step with the expected
// level and anomaly score of each step, from the counters kept with the
// index (never from Bleve facets).
func (x *Index) Trend(r TrendRequest) ([]Point, error) {
	if r.Step < time.Minute || r.Step%time.Minute != 0 || (24*time.Hour)%r.Step != 0 {
		return nil, fmt.Errorf("%w: step must be a whole number of minutes that divides a day", ErrBadRequest)
	}
	if !r.Until.After(r.Since) {
		return nil, fmt.Errorf("%w: until must be after since", ErrBadRequest)
	}
	if n := r.Until.Sub(r.Since) / r.Step; n > MaxTrendPoints {
		return nil, fmt.Errorf("%w: %d points requested, at most %d", ErrBadRequest, n, MaxTrendPoints)
	}
	st := x.state
	st.mu.RLock()
	defer st.mu.RUnlock()
	return st.trend(seriesKey{r.Service, r.Code, r.Region}, r.Since, r.Until, r.Step, r.Exclude), nil
}

// baselineFor returns the baseline for a series read at step resolution:
// the detector's rule (baseline.Expected), its half-life at least two
// steps so an EWMA averages several of them, and learning until it has an
// hour of history or one step, whichever is longer.
func baselineFor(stepMin int64) *baseline.Baseline {
	half := max(60, 2*int(stepMin))
	return baseline.NewBaseline(baseline.Options{HalfLife: half, EWMASpan: min(6*half, 3*24*60),
		MinHistory: max(60, int(stepMin))})
}

// trend sums minutes [since, until) into points of step. Distinct authors
// are merged across the step's minutes, not summed. Steps of whole hours
// read the hourly roll-ups. The baseline leaves out the minutes of spans.
// Called with mu held.
func (s *state) trend(key seriesKey, since, until time.Time, step time.Duration, spans []baseline.Span) []Point {
	stepMin := int64(step / time.Minute)
	first := floorDiv(since.Unix()/60, stepMin) * stepMin
	last := until.Unix() / 60 // exclusive
	if until.Unix()%60 != 0 {
		last++
	}
	unit, buckets := int64(1), s.series[key]
	if stepMin%60 == 0 {
		unit, buckets = 60, s.hours[key]
	}
	counts := baseline.Without(s.stepCounts(buckets, stepMin, unit), spans)
	base := baselineFor(stepMin)
	points := make([]Point, 0, (last-first)/stepMin+1)
	var regs [hllM]uint8
	for start := first; start < last; start += stepMin {
		p := Point{T: time.Unix(start*60, 0).UTC()}
		var one *bucket
		merged := 0
		for m := start; m < start+stepMin && m < last; m += unit {
			b := buckets[floorDiv(m, unit)]
			if b == nil {
				continue
			}
			p.Posts += int(b.posts)
			p.Mentions += int(b.mentions)
			if b.authors.empty() {
				continue
			}
			if merged == 0 {
				one = b
			} else {
				if merged == 1 {
					regs = [hllM]uint8{}
					one.authors.mergeInto(&regs)
				}
				b.authors.mergeInto(&regs)
			}
			merged++
		}
		switch merged {
		case 0:
		case 1:
			p.Authors = one.authors.count()
		default:
			p.Authors = hllCount(&regs)
		}
		// A sketch's estimate can overshoot; an author wrote at least one post.
		p.Authors = min(p.Authors, p.Posts)
		e := base.Expected(counts, start)
		p.Learning = e.Learning
		p.Expected, p.Anomaly = level(e, float64(p.Posts))
		points = append(points, p)
	}
	return points
}

// stepCounts reads outage posts per step-aligned block of minutes from
// buckets of unit minutes, for the baseline. A block is known from the
// first minute the store holds data for up to the newest event applied.
func (s *state) stepCounts(buckets map[int64]*bucket, stepMin, unit int64) baseline.Counts {
	first, last := s.firstMinute(), s.watermark/60
	cache := make(map[int64]float64)
	return func(m int64) (float64, bool) {
		if m%stepMin != 0 || m < first || m > last {
			return 0, false
		}
		if stepMin == unit {
			if b := buckets[floorDiv(m, unit)]; b != nil {
				return float64(b.posts), true
			}
			return 0, true
		}
		if v, ok := cache[m]; ok {
			return v, true
		}
		var n float64
		for i := m; i < m+stepMin; i += unit {
			if b := buckets[floorDiv(i, unit)]; b != nil {
				n += float64(b.posts)
			}
		}
		cache[m] = n
		return n, true
	}
}

// firstMinute is the oldest minute the counters hold. Called with mu held.
func (s *state) firstMinute() int64 { return s.first }

func round2(v float64) float64 { return math.Round(v*100) / 100 }

// Rising is a series measured over a recent window against its baseline.
type Rising struct {
	Service  string `json:"service,omitempty"`
	Code     string `json:"code,omitempty"`
	Family   string `json:"family,omitempty"`
	Meaning  string `json:"meaning,omitempty"`
	Posts    int    `json:"posts"`
	Authors  int    `json:"authors"`
	Mentions int    `json:"mentions"`
	// Expected posts in the window; nil (null) while Learning.
	Expected *float64 `json:"expected"`
	// Ratio is posts over expected posts; nil (null) while Learning.
	Ratio *float64 `json:"ratio"`
	// Learning is true while the series has less than an hour of history
	// before the window: no level, no ratio, and Anomaly 0.
	Learning bool    `json:"learning"`
	Anomaly  float64 `json:"anomaly"`
	// Services quote the code in the window, most posts first (codes only).
	Services []string `json:"services,omitempty"`
}

// TopRequest asks which series rise most in the window before At.
type TopRequest struct {
	Window time.Duration
	At     time.Time
	Limit  int
	// Exclude gives each service's incident spans to its baseline.
	Exclude SpansFunc
}

// TopServices ranks services by how far above their baseline they are in
// the window: by anomaly score, then by ratio to the expected level.
func (x *Index) TopServices(r TopRequest) ([]Rising, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	st := x.state
	st.mu.RLock()
	defer st.mu.RUnlock()
	var out []Rising
	for k, minutes := range st.series {
		if k.Service == "" || k.Code != "" || k.Region != "" {
			continue
		}
		rs := st.window(minutes, r, r.Exclude.Of(k.Service))
		if rs.Posts == 0 {
			continue
		}
		rs.Service = k.Service
		out = append(out, rs)
	}
	return rank(out, r.Limit), nil
}

// TopCodes ranks error codes like TopServices, with their meaning and the
// services they were quoted with.
func (x *Index) TopCodes(r TopRequest) ([]Rising, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	st := x.state
	st.mu.RLock()
	defer st.mu.RUnlock()
	var out []Rising
	for k, minutes := range st.series {
		if k.Code == "" || k.Service != "" || k.Region != "" {
			continue
		}
		rs := st.window(minutes, r, nil) // a code has no incidents of its own
		if rs.Mentions == 0 {
			continue
		}
		rs.Code = k.Code
		ci := st.codes[k.Code]
		rs.Family, rs.Meaning = ci.Family, ci.Meaning
		out = append(out, rs)
	}
	out = rank(out, r.Limit)
	for i := range out {
		out[i].Services = st.servicesOf(out[i].Code, r)
	}
	return out, nil
}

// servicesOf lists the services a code was quoted with in the window.
func (s *state) servicesOf(code string, r TopRequest) []string {
	type n struct {
		name  string
		count int
	}
	var found []n
	lo, hi := r.At.Add(-r.Window).Unix()/60, r.At.Unix()/60
	for k, minutes := range s.series {
		if k.Code != code || k.Service == "" || k.Region != "" {
			continue
		}
		c := 0
		for m := lo; m < hi; m++ {
			if b := minutes[m]; b != nil {
				c += int(b.mentions)
			}
		}
		if c > 0 {
			found = append(found, n{k.Service, c})
		}
	}
	slices.SortFunc(found, func(a, b n) int { return cmp.Or(b.count-a.count, cmp.Compare(a.name, b.name)) })
	out := make([]string, 0, len(found))
	for _, f := range found[:min(len(found), 10)] {
		out = append(out, f.name)
	}
	return out
}

// MaxTopWindow bounds the window of a top query.
const MaxTopWindow = 24 * time.Hour

func (r *TopRequest) check() error {
	if r.Window < time.Minute || r.Window > MaxTopWindow || r.Window%time.Minute != 0 {
		return fmt.Errorf("%w: window must be whole minutes from 1m to 24h", ErrBadRequest)
	}
	if r.Limit <= 0 {
		r.Limit = 20
	}
	return nil
}

// window measures one series over [At-Window, At) against the baseline
// of the window's first minute, read from the minutes before it but those
// of spans.
func (s *state) window(minutes map[int64]*bucket, r TopRequest, spans []baseline.Span) Rising {
	n := int64(r.Window / time.Minute)
	// The window ends with the minute under way at r.At, so a post counts
	// the moment it is indexed, not once its minute is over; at a whole
	// minute it is the n minutes before.
	hi := floorDiv(r.At.Add(-time.Nanosecond).Unix(), 60) + 1
	lo := hi - n
	var rs Rising
	var regs [hllM]uint8
	for m := lo; m < hi; m++ {
		b := minutes[m]
		if b == nil {
			continue
		}
		rs.Posts += int(b.posts)
		rs.Mentions += int(b.mentions)
		b.authors.mergeInto(&regs)
	}
	if rs.Posts > 0 {
		rs.Authors = min(hllCount(&regs), rs.Posts)
	}
	w := baselineFor(1).Expected(baseline.Without(s.stepCounts(minutes, 1, 1), spans), lo).Times(float64(n))
	rs.Learning = w.Learning
	rs.Expected, rs.Anomaly = level(w, float64(rs.Posts))
	if rs.Expected != nil {
		ratio := round2(float64(rs.Posts) / w.Expected)
		rs.Ratio = &ratio
	}
	return rs
}

func rank(rs []Rising, limit int) []Rising {
	slices.SortFunc(rs, func(a, b Rising) int {
		return cmp.Or(cmp.Compare(b.Anomaly, a.Anomaly), cmp.Compare(deref(b.Ratio), deref(a.Ratio)), cmp.Compare(b.Posts, a.Posts),
			cmp.Compare(a.Service+a.Code, b.Service+b.Code))
	})
	if rs == nil {
		return []Rising{}
	}
	return rs[:min(len(rs), limit)]
}

// deref is *p, or 0 for nil: a learning series ranks by posts alone.
func deref(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p
}

// ElevatedAnomaly is the anomaly score over the last 15 minutes from which
// a service is reported elevated.
const ElevatedAnomaly = 4.0

// ServiceLevel is a service's current level against its baseline.
type ServiceLevel struct {
	Rising
	// State is normal or elevated.
	State string `json:"state"`
}

// ServiceLevels measures every service with counters over the 15 minutes
// before at, each against its baseline without the minutes of exclude. A
// service still learning its level is normal: there is no level to be
// above.
func (x *Index) ServiceLevels(at time.Time, exclude SpansFunc) map[string]ServiceLevel {
	r := TopRequest{Window: 15 * time.Minute, At: at}
	st := x.state
	st.mu.RLock()
	defer st.mu.RUnlock()
	out := make(map[string]ServiceLevel)
	for k, minutes := range st.series {
		if k.Service == "" || k.Code != "" || k.Region != "" {
			continue
		}
		rs := st.window(minutes, r, exclude.Of(k.Service))
		rs.Service = k.Service
		lvl := ServiceLevel{Rising: rs, State: "normal"}
		if rs.Anomaly >= ElevatedAnomaly {
			lvl.State = "elevated"
		}
		out[k.Service] = lvl
	}
	return out
}
