package detect

import (
	"strings"
	"time"
)

// State is where an incident is in its lifecycle.
type State string

const (
	// Pending: the group crossed the firing level once; it must hold for
	// another evaluation (or show an error-code cluster) to fire.
	Pending State = "pending"
	// Firing: an outage people are reporting now.
	Firing State = "firing"
	// Resolved: reports stayed below the exit level for the quiet period.
	Resolved State = "resolved"
)

// ValidState reports whether s names a state.
func ValidState(s string) bool {
	switch State(s) {
	case Pending, Firing, Resolved:
		return true
	}
	return false
}

// Severity grades how large an incident is.
type Severity string

const (
	Minor    Severity = "minor"
	Major    Severity = "major"
	Critical Severity = "critical"
)

// Rank orders severities: minor 1, major 2, critical 3, unknown 0.
func (s Severity) Rank() int {
	switch s {
	case Minor:
		return 1
	case Major:
		return 2
	case Critical:
		return 3
	}
	return 0
}

// ParseSeverity accepts minor, major or critical in any case.
func ParseSeverity(s string) (Severity, bool) {
	v := Severity(strings.ToLower(strings.TrimSpace(s)))
	return v, v.Rank() > 0
}

// Confidence says how sure the detector is that the spike is an outage.
type Confidence string

const (
	Low    Confidence = "low"
	Medium Confidence = "medium"
	High   Confidence = "high"
)

// Incident is one outage of a service group, as people reported it.
type Incident struct {
	ID string `json:"id"`
	// Kind is KindReports (people report an outage) or KindVolumeDrop
	// (the whole stream's volume collapsed: Bluesky itself).
	Kind string `json:"kind"`
	// Service is the group: the parent service (Microsoft 365) when the
	// catalog knows one, else the service itself.
	Service string `json:"service"`
	// Services are the services whose reports crossed the firing level,
	// in the order they did.
	Services   []string   `json:"services"`
	State      State      `json:"state"`
	Severity   Severity   `json:"severity"`
	Confidence Confidence `json:"confidence"`
	Title      string     `json:"title"`
	// StartedAt is the estimated onset: the start of the first window that
	// crossed the firing level (event time, like every time here).
	StartedAt  time.Time `json:"started_at"`
	PendingAt  time.Time `json:"pending_at"`
	FiringAt   time.Time `json:"firing_at,omitzero"`
	ResolvedAt time.Time `json:"resolved_at,omitzero"`
	UpdatedAt  time.Time `json:"updated_at"`
	// Seq counts the notifications of this incident (firing 1, then each
	// update and the resolution), so receivers can order them.
	Seq int `json:"seq"`
	// PeakAuthors is the most distinct voices in one window.
	PeakAuthors int `json:"peak_authors"`
	// Expected is the baseline's expected voices per window at onset.
	Expected float64 `json:"expected"`
	// Score is the peak anomaly score (-log10 of the tail probability).
	Score float64 `json:"score"`
	// ExpectedVolume and ObservedVolume are, for a volume drop, the posts
	// per minute expected and the mean seen since the drop began.
	ExpectedVolume float64       `json:"expected_volume,omitempty"`
	ObservedVolume float64       `json:"observed_volume,omitempty"`
	Reports        int           `json:"reports"`
	TopCodes       []CodeCount   `json:"top_codes"`
	Regions        []RegionCount `json:"regions"`
	// HotRegions are regions whose own reports crossed the firing level
	// (an outage can be regional while the service's total looks normal).
	HotRegions []string `json:"hot_regions,omitempty"`
	Samples    []Sample `json:"samples"`
	Timeline   []Point  `json:"timeline,omitempty"`
}

// CodeCount is an error code people quoted during the incident.
type CodeCount struct {
	Code    string `json:"code"`
	Family  string `json:"family"`
	Reports int    `json:"reports"`
}

// RegionCount is a place reports named.
type RegionCount struct {
	Name    string `json:"name"`
	Reports int    `json:"reports"`
}

// Sample is one report kept as an example.
type Sample struct {
	URI      string    `json:"uri"`
	Author   string    `json:"author"`
	Text     string    `json:"text"`
	Time     time.Time `json:"time"`
	Services []string  `json:"services"`
}

// Point is one entry of an incident's timeline: a minute's evaluation
// while the incident was open, or a transition.
type Point struct {
	Time time.Time `json:"t"`
	// Kind is "minute" for a plain evaluation, else the transition:
	// pending, firing, updated, resolved.
	Kind     string  `json:"kind"`
	Authors  int     `json:"authors"`
	Expected float64 `json:"expected"`
	Score    float64 `json:"score"`
	// Posts is, on a volume drop's timeline, the minute's posts of the
	// whole stream.
	Posts int `json:"posts,omitempty"`
	// Reports is how many reports the incident had counted by then.
	Reports  int      `json:"reports,omitempty"`
	Services []string `json:"services,omitempty"`
	Note     string   `json:"note,omitempty"`
}

// summary is the incident without its timeline, for events.
func (in *Incident) summary() Incident {
	s := *in
	s.Timeline = nil
	s.Services = append([]string(nil), in.Services...)
	s.TopCodes = append([]CodeCount(nil), in.TopCodes...)
	s.Regions = append([]RegionCount(nil), in.Regions...)
	s.HotRegions = append([]string(nil), in.HotRegions...)
	s.Samples = append([]Sample(nil), in.Samples[:min(len(in.Samples), 3)]...)
	return s
}

// Event types in the event log.
const (
	EventFiring   = "incident.firing"
	EventUpdated  = "incident.updated"
	EventResolved = "incident.resolved"
)

// Event is one incident change, in the order the detector made them.
type Event struct {
	Seq  uint64 `json:"seq"`
	Type string `json:"type"`
	// Time is the event time of the change.
	Time     time.Time `json:"time"`
	Incident Incident  `json:"incident"`
	// Silenced is true when a silence covered the incident at Time:
	// the change is recorded but not notified.
	Silenced bool `json:"silenced,omitempty"`
}

// Silence mutes notifications for a service between two times.
type Silence struct {
	ID        string    `json:"id"`
	Service   string    `json:"service"`
	StartsAt  time.Time `json:"starts_at"`
	EndsAt    time.Time `json:"ends_at"`
	Comment   string    `json:"comment,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// covers reports whether the silence mutes inc at t: a silence on the
// group mutes all of it, one on a service mutes an incident only when
// every affected service is silenced.
func covers(silences []Silence, inc *Incident, t time.Time) bool {
	active := func(s Silence) bool { return !t.Before(s.StartsAt) && t.Before(s.EndsAt) }
	muted := map[string]bool{}
	for _, s := range silences {
		if !active(s) {
			continue
		}
		if strings.EqualFold(s.Service, inc.Service) {
			return true
		}
		muted[strings.ToLower(s.Service)] = true
	}
	if len(muted) == 0 || len(inc.Services) == 0 {
		return false
	}
	for _, svc := range inc.Services {
		if !muted[strings.ToLower(svc)] {
			return false
		}
	}
	return true
}

// stateAt is the state the incident had at event time t: "" before it
// began, then pending, firing and resolved as they happened.
func (in *Incident) stateAt(t time.Time) State {
	switch {
	case in.PendingAt.IsZero() || t.Before(in.PendingAt):
		return ""
	case !in.ResolvedAt.IsZero() && !t.Before(in.ResolvedAt):
		return Resolved
	case !in.FiringAt.IsZero() && !t.Before(in.FiringAt):
		return Firing
	}
	return Pending
}
