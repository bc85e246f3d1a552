package detect

import (
	"slices"
	"strings"
	"time"
)

// entry is one outage post counted in one service's minute.
type entry struct {
	Post    uint64   `json:"p"` // hash of the at-URI
	Author  uint64   `json:"a"` // hash of the DID
	Bands   []uint64 `json:"b,omitempty"`
	Codes   []string `json:"c,omitempty"` // "family|code"
	Regions []string `json:"r,omitempty"`
}

// minute is one service's minute: its posts and their voices.
type minute struct {
	entries []*entry
	voices  int
}

func (m *minute) recount() { m.voices = countVoices(m.entries) }

// counted is what the store remembers of a counted post, so a duplicate
// is not counted twice and a delete takes back exactly what it added.
type counted struct {
	Minute int64    `json:"m"`
	Scopes []string `json:"s"`
}

// recentPost keeps a recent report's text for incident samples.
type recentPost struct {
	URI      string    `json:"uri"`
	Author   string    `json:"did"`
	Text     string    `json:"text"`
	Time     time.Time `json:"t"`
	Minute   int64     `json:"m"`
	Services []string  `json:"s"`
	Group    string    `json:"g"`
}

// partState tracks one partition of downsignal.signals for the watermark.
type partState struct {
	// MaxTime is the latest event time (unix seconds) read from it.
	MaxTime  int64 `json:"max"`
	CaughtUp bool  `json:"caught_up"`
	lastWall time.Time
}

// interval is a closed range of minutes.
type interval struct{ From, To int64 }

// group is the detector's state for one service group.
type group struct {
	Open     string     `json:"open,omitempty"` // open incident id
	HotRun   int        `json:"hot_run,omitempty"`
	Quiet    int        `json:"quiet,omitempty"`
	Excluded []interval `json:"excluded,omitempty"` // minutes kept out of the baseline
	Window   int64      `json:"window,omitempty"`   // first minute of the open incident's first window
}

// exclude keeps minutes [from, to] out of the group's baseline: an open
// incident's span from the start of its first window.
func (g *group) exclude(from, to int64) {
	if n := len(g.Excluded); n > 0 && g.Excluded[n-1].To >= from-1 {
		g.Excluded[n-1].From = min(g.Excluded[n-1].From, from)
		g.Excluded[n-1].To = max(g.Excluded[n-1].To, to)
		return
	}
	g.Excluded = append(g.Excluded, interval{from, to})
}

func (g *group) excluded(m int64) bool {
	// Intervals are few and sorted; search from the end (recent first).
	for i := len(g.Excluded) - 1; i >= 0; i-- {
		iv := g.Excluded[i]
		if m > iv.To {
			return false
		}
		if m >= iv.From {
			return true
		}
	}
	return false
}

func (g *group) prune(before int64) bool {
	i := 0
	for i < len(g.Excluded) && g.Excluded[i].To < before {
		i++
	}
	if i == 0 {
		return false
	}
	g.Excluded = slices.Delete(g.Excluded, 0, i)
	return true
}

// meta is the small state saved whole with every batch.
type meta struct {
	Instance  string             `json:"instance"`
	Offsets   map[int]int64      `json:"offsets"`
	Parts     map[int]*partState `json:"parts"`
	Watermark int64              `json:"watermark"`
	// First is the first minute of stream seen (0: none yet).
	First int64 `json:"first"`
	// Evaluated is the last minute evaluated.
	Evaluated int64  `json:"evaluated"`
	NextSeq   uint64 `json:"next_seq"`
	// TotalEWMA is the moving average of all posts per minute, for gaps.
	TotalEWMA float64           `json:"total_ewma"`
	Parents   map[string]string `json:"parents"`
	// Volume is the volume-drop lifecycle (volume.go).
	Volume volumeState `json:"volume"`
}

// state is everything the engine holds in memory.
type state struct {
	meta
	minutes   map[string]map[int64]*minute // service -> minute
	totals    map[int64]uint32             // all posts per minute
	gaps      map[int64]bool
	groups    map[string]*group
	incidents map[string]*Incident
	silences  map[string]Silence
	recent    map[uint64]*recentPost // by post hash
}

func newState() *state {
	return &state{
		meta:      meta{Offsets: map[int]int64{}, Parts: map[int]*partState{}, Parents: map[string]string{}},
		minutes:   map[string]map[int64]*minute{},
		totals:    map[int64]uint32{},
		gaps:      map[int64]bool{},
		groups:    map[string]*group{},
		incidents: map[string]*Incident{},
		silences:  map[string]Silence{},
		recent:    map[uint64]*recentPost{},
	}
}

// regionSep joins a service and a region into a regional scope.
const regionSep = "\x1f"

// maxRegionsPerPost bounds the regional series one post feeds.
const maxRegionsPerPost = 3

// splitScope returns the service and region (empty for a whole-service
// scope) of a scope.
func splitScope(scope string) (svc, region string) {
	svc, region, _ = strings.Cut(scope, regionSep)
	return svc, region
}

// groupOf is the service group a scope belongs to.
func (s *state) groupOf(scope string) string {
	svc, _ := splitScope(scope)
	if p := s.Parents[svc]; p != "" {
		return p
	}
	return svc
}

// dirty records what a batch changed, to write it in one transaction.
type dirty struct {
	minutes   map[string]map[int64]bool
	totals    map[int64]bool
	gaps      map[int64]bool
	groups    map[string]bool
	incidents map[string]bool
	recent    map[uint64]bool
	events    []Event
	pruned    bool // retention ran: write deletions of old minutes
	pruneFrom int64
}

func newDirty() *dirty {
	return &dirty{
		minutes: map[string]map[int64]bool{}, totals: map[int64]bool{}, gaps: map[int64]bool{},
		groups: map[string]bool{}, incidents: map[string]bool{}, recent: map[uint64]bool{},
	}
}

func (d *dirty) minute(svc string, m int64) {
	if d.minutes[svc] == nil {
		d.minutes[svc] = map[int64]bool{}
	}
	d.minutes[svc][m] = true
}
