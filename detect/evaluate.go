package detect

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/downsignal/downsignal/baseline"
)

// scopeEval is one service's window at one evaluation.
type scopeEval struct {
	service  string
	voices   int
	expected float64 // voices per window
	score    float64
	hot      bool // crosses the firing level
	warm     bool // above the exit level
	cluster  bool // an error-code cluster
}

// evaluate runs minute m: ingest-gap and global-spike checks, then every
// service group through its lifecycle.
func (e *Engine) evaluate(d *dirty, m int64) {
	st := e.st
	o := e.o
	at := time.Unix((m+1)*60, 0).UTC() // the evaluation happens at the minute's end
	warm := m-st.First >= int64(o.Warmup)

	expectedVolume := st.TotalEWMA
	gap := e.checkGap(d, m)
	e.checkVolume(d, m, expectedVolume)
	suppressedGap := gap
	for k := m - int64(o.Window) + 1; k < m && !suppressedGap; k++ {
		suppressedGap = st.gaps[k]
	}

	// Evaluate every service with reports in the window or an open incident.
	byGroup := map[string][]scopeEval{}
	for svc, mins := range st.minutes {
		grp := st.groupOf(svc)
		open := st.groups[grp] != nil && st.groups[grp].Open != ""
		has := false
		for k := m - int64(o.Window) + 1; k <= m; k++ {
			if mm := mins[k]; mm != nil && len(mm.entries) > 0 {
				has = true
				break
			}
		}
		if !has && !open {
			continue
		}
		se := e.evalScope(svc, grp, m)
		se.hot = se.hot && warm
		byGroup[grp] = append(byGroup[grp], se)
	}
	hotGroups := 0
	for _, ses := range byGroup {
		if slices.ContainsFunc(ses, func(s scopeEval) bool { return s.hot }) {
			hotGroups++
		}
	}
	everything := hotGroups >= o.GlobalGroups
	if everything {
		e.metrics.suppressed("global_spike")
		e.log.Warn("many services spiked at once: new incidents suppressed", "minute", at, "groups", hotGroups)
	}
	if gap {
		e.metrics.suppressed("ingest_gap")
	}
	suppressed := suppressedGap || everything

	names := make([]string, 0, len(byGroup))
	for g := range byGroup {
		names = append(names, g)
	}
	for g, gs := range st.groups {
		if gs.Open != "" && byGroup[g] == nil {
			names = append(names, g)
		}
	}
	sort.Strings(names) // a fixed order keeps event sequence numbers reproducible
	for _, name := range names {
		slices.SortFunc(byGroup[name], func(a, b scopeEval) int { return strings.Compare(a.service, b.service) })
		e.step(d, name, byGroup[name], m, at, suppressed, suppressedGap)
	}
	if m%60 == 0 {
		e.prune(d, m)
	}
}

// checkGap marks m as an ingest gap when its total volume collapsed
// against an EWMA of the volume (gap minutes left out of it).
func (e *Engine) checkGap(d *dirty, m int64) bool {
	st := e.st
	x := float64(st.totals[m])
	expected := st.TotalEWMA
	gap := m-st.First >= int64(e.o.Warmup) && expected >= e.o.GapVolume && x < e.o.GapRatio*expected
	if gap {
		st.gaps[m] = true
		d.gaps[m] = true
		e.log.Warn("ingest gap: suppressing new incidents", "minute", time.Unix(m*60, 0).UTC(),
			"posts", st.totals[m], "expected", math.Round(expected))
		return true
	}
	if e.isDrop(m, x, expected) {
		return false // a drop minute stays out of the average, not a gap yet
	}
	alpha := 1 - math.Pow(0.5, 1/float64(max(e.o.Baseline.HalfLife, 60)))
	switch {
	case st.TotalEWMA == 0:
		st.TotalEWMA = x
	case m-st.First >= int64(e.o.Warmup):
		// Winsorized: a surge of posts (an outage's own reports, a bot)
		// lifts the stream's level slowly, so its end is no volume drop.
		st.TotalEWMA += alpha * (min(x, surgeCap*st.TotalEWMA) - st.TotalEWMA)
	default:
		st.TotalEWMA += alpha * (x - st.TotalEWMA)
	}
	return false
}

// surgeCap bounds the minute a warm stream's moving average takes in, as
// a multiple of the average.
const surgeCap = 1.5

// evalScope scores one service's window ending at minute m.
func (e *Engine) evalScope(svc, grp string, m int64) scopeEval {
	st := e.st
	o := e.o
	from := m - int64(o.Window) + 1
	mins := st.minutes[svc]
	var window []*entry
	for k := from; k <= m; k++ {
		if mm := mins[k]; mm != nil {
			window = append(window, mm.entries...)
		}
	}
	se := scopeEval{service: svc, voices: countVoices(window)}
	gs := st.groups[grp]
	if se.voices < o.ExitAuthors || (se.voices < o.MinAuthors && (gs == nil || gs.Open == "")) {
		// Below every level that could matter: no need for the baseline.
		return se
	}
	series := func(k int64) (float64, bool) {
		if k < st.First || k >= from || st.gaps[k] || (gs != nil && gs.excluded(k)) {
			return 0, false
		}
		if mm := mins[k]; mm != nil {
			return float64(mm.voices), true
		}
		return 0, true
	}
	win := e.baseline.Expected(series, from).Times(float64(o.Window))
	se.expected = win.Expected
	se.score = baseline.Score(float64(se.voices), win)
	se.hot = se.voices >= o.MinAuthors && float64(se.voices) >= o.Ratio*win.Expected && se.score >= o.FireScore
	se.warm = se.voices >= o.ExitAuthors && float64(se.voices) >= o.ExitRatio*win.Expected
	byCode := map[string][]*entry{}
	for _, en := range window {
		for _, c := range en.Codes {
			byCode[c] = append(byCode[c], en)
		}
	}
	for _, es := range byCode {
		if len(es) >= o.CodeAuthors && countVoices(es) >= o.CodeAuthors {
			se.cluster = true
			break
		}
	}
	return se
}

// groupEval is one group at one evaluation, its scopes folded together:
// what every lifecycle transition reads.
type groupEval struct {
	name       string
	gs         *group
	m          int64
	at         time.Time
	suppressed bool // no incident opens or is confirmed
	gap        bool // an ingest gap in the window: silence is no recovery
	hot        bool // some scope crosses the firing level
	warm       bool // some scope is above the exit level
	cluster    bool // a hot scope has an error-code cluster
	peak       scopeEval
	// The services and regions of the hot scopes, in scope order.
	hotServices, hotRegions []string
}

// foldScopes gathers a group's scopes (sorted by service) into one
// evaluation; the peak is the scope with the most voices, the higher
// score breaking ties.
func foldScopes(name string, gs *group, ses []scopeEval, m int64, at time.Time, suppressed, gap bool) groupEval {
	g := groupEval{name: name, gs: gs, m: m, at: at, suppressed: suppressed, gap: gap}
	for _, s := range ses {
		if s.hot {
			g.hot = true
			svc, region := splitScope(s.service)
			g.hotServices = appendUnique(g.hotServices, svc)
			if region != "" {
				g.hotRegions = appendUnique(g.hotRegions, region)
			}
		}
		g.warm = g.warm || s.warm
		g.cluster = g.cluster || (s.cluster && s.hot)
		if s.voices > g.peak.voices || (s.voices == g.peak.voices && s.score > g.peak.score) {
			g.peak = s
		}
	}
	return g
}

// point is the evaluation's timeline point of the given kind.
func (g *groupEval) point(kind string) Point {
	return Point{Time: g.at, Kind: kind, Authors: g.peak.voices, Expected: g.peak.expected, Score: g.peak.score}
}

// step moves one group through its lifecycle at minute m: with no open
// incident it may open one (stepClosed), a pending one is confirmed or
// dropped (stepPending), a firing one is updated or resolved (stepFiring).
func (e *Engine) step(d *dirty, name string, ses []scopeEval, m int64, at time.Time, suppressed, gap bool) {
	st := e.st
	gs := st.groups[name]
	if gs == nil {
		gs = &group{}
		st.groups[name] = gs
		d.groups[name] = true
	}
	g := foldScopes(name, gs, ses, m, at, suppressed, gap)
	var in *Incident
	if gs.Open != "" {
		in = st.incidents[gs.Open]
	}
	points := 0
	if in != nil {
		points = len(in.Timeline)
	}
	defer func() {
		// Each point this minute added records the reports counted by then,
		// for the incident as of a past moment (asof.go).
		if in != nil {
			for i := points; i < len(in.Timeline); i++ {
				in.Timeline[i].Reports = in.Reports
			}
		}
	}()
	switch {
	case in == nil:
		if in = e.stepClosed(d, &g); in == nil {
			return // nothing opened: the group is left as it was
		}
	case in.State == Pending:
		e.stepPending(d, in, &g)
	case in.State == Firing:
		e.stepFiring(d, in, &g)
	}
	if gs.Open != "" {
		// The incident's minutes, from its first window on, feed no
		// baseline (the group's, and the trends' through BaselineSpans).
		gs.exclude(gs.Window, m)
	}
	d.groups[name] = true
	if in != nil && st.incidents[in.ID] != nil {
		d.incidents[in.ID] = true
	}
}

// stepClosed opens a pending incident when the group turns hot outside a
// suppression, and fires it at once on an error-code cluster or when no
// confirmation is asked for. It returns nil when nothing opens.
func (e *Engine) stepClosed(d *dirty, g *groupEval) *Incident {
	if !g.hot || g.suppressed {
		return nil
	}
	in := e.openIncident(d, g.name, g.gs, g.m, g.at, g.peak)
	g.gs.HotRun = 1
	g.gs.Quiet = 0
	e.grow(in, g.hotServices, g.hotRegions, g.peak, g.cluster, g.at)
	if g.cluster || e.o.Confirm <= 1 {
		e.fire(d, in, g.at)
	}
	return in
}

// stepPending fires a pending incident after Confirm hot minutes in a row
// (at once on a cluster), holds it while new incidents are suppressed, and
// drops it on the first minute that is not hot.
func (e *Engine) stepPending(d *dirty, in *Incident, g *groupEval) {
	gs := g.gs
	e.absorb(in, g.name, g.m, g.m)
	switch {
	case g.hot && !g.suppressed:
		gs.HotRun++
		e.grow(in, g.hotServices, g.hotRegions, g.peak, g.cluster, g.at)
		in.Timeline = append(in.Timeline, g.point("minute"))
		if gs.HotRun >= e.o.Confirm || g.cluster {
			e.fire(d, in, g.at)
		}
	case g.hot: // held while suppressed
	default:
		// Not confirmed: a blip, not an incident.
		delete(e.st.incidents, in.ID)
		d.incidents[in.ID] = true
		gs.Open, gs.HotRun = "", 0
		e.metrics.event("incident.expired")
	}
}

// stepFiring folds the minute into a firing incident, resolves it after
// QuietMinutes below the exit level, and otherwise announces what grew.
func (e *Engine) stepFiring(d *dirty, in *Incident, g *groupEval) {
	gs := g.gs
	before := shapeOf(in)
	e.absorb(in, g.name, g.m, g.m)
	if g.hot {
		e.grow(in, g.hotServices, g.hotRegions, g.peak, g.cluster, g.at)
	}
	in.Timeline = appendPoint(in.Timeline, g.point("minute"))
	switch {
	case g.warm || g.hot:
		gs.Quiet = 0
	case g.gap:
		// Reports vanish with the stream: not a sign of recovery.
	default:
		gs.Quiet++
	}
	if gs.Quiet >= e.o.QuietMinutes {
		e.resolve(d, in, g)
		return
	}
	if notes := before.growth(in); len(notes) > 0 {
		p := g.point("updated")
		p.Services, p.Note = in.Services, strings.Join(notes, "; ")
		in.Timeline = append(in.Timeline, p)
		e.emit(d, EventUpdated, in, g.at)
	}
}

// resolve closes a firing incident whose group has been quiet long enough.
func (e *Engine) resolve(d *dirty, in *Incident, g *groupEval) {
	gs := g.gs
	in.State = Resolved
	in.ResolvedAt = g.at
	p := g.point("resolved")
	p.Note = fmt.Sprintf("below the exit level for %d minutes", gs.Quiet)
	in.Timeline = append(in.Timeline, p)
	e.emit(d, EventResolved, in, g.at)
	gs.Open, gs.HotRun, gs.Quiet = "", 0, 0
}

// shape is what an "updated" event is announced for: a firing incident's
// severity, confidence and reach before a minute is folded in.
type shape struct {
	sev      Severity
	conf     Confidence
	services int // len(Services)
	regions  int // significantRegions
	hot      int // len(HotRegions)
}

func shapeOf(in *Incident) shape {
	return shape{in.Severity, in.Confidence, len(in.Services), significantRegions(in), len(in.HotRegions)}
}

// growth describes how the incident grew since it had shape b (worse
// severity, more services or regions, higher confidence); nil if it did not.
func (b shape) growth(in *Incident) []string {
	var notes []string
	if in.Severity.Rank() > b.sev.Rank() {
		notes = append(notes, "severity "+string(b.sev)+" -> "+string(in.Severity))
	}
	if len(in.Services) > b.services {
		notes = append(notes, "spread to "+strings.Join(in.Services[b.services:], ", "))
	}
	if len(in.HotRegions) > b.hot {
		notes = append(notes, "spiking in "+strings.Join(in.HotRegions[b.hot:], ", "))
	} else if r := significantRegions(in); r > b.regions {
		notes = append(notes, "reported in "+in.Regions[r-1].Name)
	}
	if in.Confidence != b.conf && confRank(in.Confidence) > confRank(b.conf) {
		notes = append(notes, "confidence "+string(in.Confidence))
	}
	return notes
}

func confRank(c Confidence) int {
	switch c {
	case High:
		return 3
	case Medium:
		return 2
	case Low:
		return 1
	}
	return 0
}

// significantRegions counts the leading regions with at least 3 reports.
func significantRegions(in *Incident) int {
	n := 0
	for _, r := range in.Regions {
		if r.Reports >= 3 {
			n++
		}
	}
	return n
}

func appendPoint(tl []Point, p Point) []Point {
	const maxPoints = 2000
	if len(tl) >= maxPoints {
		return tl
	}
	return append(tl, p)
}

// openIncident creates a pending incident for group name at minute m and
// gathers the reports already counted from its first window on.
func (e *Engine) openIncident(d *dirty, name string, gs *group, m int64, at time.Time, peak scopeEval) *Incident {
	st := e.st
	from := m - int64(e.o.Window) + 1
	id := slug(name) + "-" + time.Unix(m*60, 0).UTC().Format("20060102T1504")
	in := &Incident{
		ID: id, Kind: KindReports, Service: name, State: Pending, Severity: Minor, Confidence: Low,
		StartedAt: time.Unix(from*60, 0).UTC(), PendingAt: at, UpdatedAt: at,
		Expected: round2(peak.expected), TopCodes: []CodeCount{}, Regions: []RegionCount{}, Samples: []Sample{},
	}
	in.Timeline = append(in.Timeline, Point{Time: at, Kind: "pending", Authors: peak.voices, Expected: peak.expected, Score: peak.score})
	st.incidents[id] = in
	gs.Open, gs.Window = id, from
	e.absorb(in, name, from, m)
	d.incidents[id] = true
	e.metrics.event("incident.pending")
	return in
}

const maxSamples = 10

// absorb adds the reports of the group's services in minutes [from, to]
// to the incident, each post once. It runs as minutes are evaluated, so
// what an incident counts depends on event time only, not on batching.
func (e *Engine) absorb(in *Incident, name string, from, to int64) {
	st := e.st
	var svcs []string
	for svc := range st.minutes {
		if st.groupOf(svc) == name {
			svcs = append(svcs, svc)
		}
	}
	sort.Strings(svcs)
	seen := map[uint64]bool{}
	var posts []*recentPost
	for k := from; k <= to; k++ {
		for _, svc := range svcs {
			mm := st.minutes[svc][k]
			if mm == nil {
				continue
			}
			for _, en := range mm.entries {
				if seen[en.Post] {
					continue
				}
				seen[en.Post] = true
				addReport(in, en, nil)
				if rp := st.recent[en.Post]; rp != nil {
					posts = append(posts, rp)
				}
			}
		}
	}
	sort.Slice(posts, func(i, j int) bool {
		if !posts[i].Time.Equal(posts[j].Time) {
			return posts[i].Time.Before(posts[j].Time)
		}
		return posts[i].URI < posts[j].URI
	})
	for _, rp := range posts {
		addSample(in, rp)
	}
}

// addReport adds one report's codes and regions (and, given its text, a
// sample) to an open incident.
func addReport(in *Incident, en *entry, rp *recentPost) {
	in.Reports++
	for _, c := range en.Codes {
		fam, code, _ := strings.Cut(c, "|")
		i := slices.IndexFunc(in.TopCodes, func(x CodeCount) bool { return x.Code == code })
		if i < 0 {
			if len(in.TopCodes) >= 20 {
				continue
			}
			in.TopCodes = append(in.TopCodes, CodeCount{Code: code, Family: fam})
			i = len(in.TopCodes) - 1
		}
		in.TopCodes[i].Reports++
	}
	for _, r := range en.Regions {
		i := slices.IndexFunc(in.Regions, func(x RegionCount) bool { return x.Name == r })
		if i < 0 {
			if len(in.Regions) >= 20 {
				continue
			}
			in.Regions = append(in.Regions, RegionCount{Name: r})
			i = len(in.Regions) - 1
		}
		in.Regions[i].Reports++
	}
	sort.SliceStable(in.TopCodes, func(i, j int) bool { return in.TopCodes[i].Reports > in.TopCodes[j].Reports })
	sort.SliceStable(in.Regions, func(i, j int) bool { return in.Regions[i].Reports > in.Regions[j].Reports })
	if rp != nil {
		addSample(in, rp)
	}
}

// addSample keeps the first reports of distinct authors as samples.
func addSample(in *Incident, rp *recentPost) {
	if len(in.Samples) >= maxSamples {
		return
	}
	for _, s := range in.Samples {
		if s.Author == rp.Author || s.URI == rp.URI {
			return
		}
	}
	in.Samples = append(in.Samples, Sample{URI: rp.URI, Author: rp.Author, Text: rp.Text, Time: rp.Time, Services: rp.Services})
}

// grow folds one evaluation into the incident's peak, services, severity
// and confidence.
func (e *Engine) grow(in *Incident, hotServices, hotRegions []string, peak scopeEval, cluster bool, at time.Time) {
	o := e.o
	for _, s := range hotServices {
		in.Services = appendUnique(in.Services, s)
	}
	for _, r := range hotRegions {
		in.HotRegions = appendUnique(in.HotRegions, r)
	}
	if peak.voices > in.PeakAuthors {
		in.PeakAuthors = peak.voices
	}
	in.Score = max(in.Score, round2(peak.score))
	sev := Minor
	switch {
	case in.PeakAuthors >= o.CriticalAuthors:
		sev = Critical
	case in.PeakAuthors >= o.MajorAuthors || (cluster && in.PeakAuthors >= 2*o.MinAuthors):
		sev = Major
	}
	if sev.Rank() > in.Severity.Rank() {
		in.Severity = sev
	}
	conf := Low
	children := 0
	for _, s := range in.Services {
		if s != in.Service {
			children++
		}
	}
	switch {
	case cluster || children >= 2:
		conf = High
	case in.Score >= 8:
		conf = Medium
	}
	if confRank(conf) > confRank(in.Confidence) {
		in.Confidence = conf
	}
	in.Title = title(in)
}

func title(in *Incident) string {
	t := serviceTitle(in)
	if len(in.HotRegions) > 0 {
		t += " in " + strings.Join(in.HotRegions, ", ")
	}
	return t
}

func serviceTitle(in *Incident) string {
	var kids []string
	for _, s := range in.Services {
		if s != in.Service {
			kids = append(kids, s)
		}
	}
	switch {
	case len(kids) == 0:
		return in.Service + " outage reported"
	case len(kids) == 1 && !slices.Contains(in.Services, in.Service):
		return kids[0] + " outage reported (" + in.Service + ")"
	default:
		return in.Service + " outage reported: " + strings.Join(kids, ", ")
	}
}

// fire turns a pending incident into a firing one.
func (e *Engine) fire(d *dirty, in *Incident, at time.Time) {
	in.State = Firing
	in.FiringAt = at
	in.Timeline = append(in.Timeline, Point{Time: at, Kind: "firing", Authors: in.PeakAuthors, Expected: in.Expected, Score: in.Score, Services: in.Services})
	e.emit(d, EventFiring, in, at)
}

// emit appends an incident change to the event log.
func (e *Engine) emit(d *dirty, typ string, in *Incident, at time.Time) {
	st := e.st
	in.Seq++
	in.UpdatedAt = at
	st.NextSeq++
	silences := make([]Silence, 0, len(st.silences))
	for _, s := range st.silences {
		silences = append(silences, s)
	}
	d.events = append(d.events, Event{
		Seq: st.NextSeq, Type: typ, Time: at, Incident: in.summary(), Silenced: covers(silences, in, at),
	})
	d.incidents[in.ID] = true
}

// prune drops what is older than the retention.
func (e *Engine) prune(d *dirty, m int64) {
	st := e.st
	before := m - int64(e.o.RetentionDays)*1440
	for svc, mins := range st.minutes {
		for k := range mins {
			if k < before {
				delete(mins, k)
				d.pruned = true
			}
		}
		if len(mins) == 0 {
			delete(st.minutes, svc)
		}
	}
	d.pruneFrom = before
	for k := range st.totals {
		if k < before {
			delete(st.totals, k)
			d.totals[k] = true
		}
	}
	for k := range st.gaps {
		if k < before {
			delete(st.gaps, k)
			d.gaps[k] = true
		}
	}
	for name, gs := range st.groups {
		if gs.prune(before) {
			d.groups[name] = true
		}
	}
	for id, in := range st.incidents {
		if in.State == Resolved && in.ResolvedAt.Unix()/60 < before {
			delete(st.incidents, id)
			d.incidents[id] = true
		}
	}
	for h, rp := range st.recent {
		if rp.Minute < m-120 {
			delete(st.recent, h)
			d.recent[h] = true
		}
	}
}

func round2(x float64) float64 { return math.Round(x*100) / 100 }

// slug makes an id-safe lower-case name: "Microsoft 365" -> "microsoft-365".
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	out := strings.TrimSuffix(b.String(), "-")
	if out == "" {
		out = "service"
	}
	return out
}
