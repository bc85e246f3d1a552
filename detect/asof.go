package detect

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// As of a past moment (a post-mortem, a replay): an incident is what the
// detector knew then. Its state and times come from its transitions, its
// peak and reports from the timeline's minutes up to that moment, its
// services, severity, codes and regions from the last change announced
// by then (the event log keeps each one's summary). An incident that was
// not open yet at that moment did not exist.

// asOf returns in as it was at t, given snap, the summary of its last
// announced change at or before t (nil while it was only pending). It
// returns false if the incident did not exist yet at t.
func (in *Incident) asOf(t time.Time, snap *Incident) (Incident, bool) {
	state := in.stateAt(t)
	if state == "" {
		return Incident{}, false
	}
	c := *in
	c.State = state
	if c.FiringAt.After(t) {
		c.FiringAt = time.Time{}
	}
	if c.ResolvedAt.After(t) {
		c.ResolvedAt = time.Time{}
	}
	n, _ := slices.BinarySearchFunc(in.Timeline, t, func(p Point, t time.Time) int {
		if p.Time.After(t) {
			return 1
		}
		return -1
	})
	c.Timeline = slices.Clone(in.Timeline[:n])
	c.UpdatedAt, c.PeakAuthors, c.Reports = in.PendingAt, 0, 0
	for _, p := range c.Timeline {
		c.UpdatedAt = p.Time
		c.PeakAuthors = max(c.PeakAuthors, p.Authors)
		c.Reports = max(c.Reports, p.Reports)
	}
	c.Samples = slices.DeleteFunc(slices.Clone(in.Samples), func(s Sample) bool { return s.Time.After(t) })
	if snap == nil {
		// Only pending: the first service crossed the level, nothing was
		// announced yet.
		c.Services = in.Services[:min(1, len(in.Services))]
		c.Severity, c.Confidence, c.Seq = Minor, Low, 0
		c.TopCodes, c.Regions, c.HotRegions = []CodeCount{}, []RegionCount{}, nil
		return c, true
	}
	c.Services, c.Severity, c.Confidence, c.Title = snap.Services, snap.Severity, snap.Confidence, snap.Title
	c.Score, c.Seq, c.TopCodes, c.Regions, c.HotRegions = snap.Score, snap.Seq, snap.TopCodes, snap.Regions, snap.HotRegions
	c.ObservedVolume = snap.ObservedVolume
	if c.Reports == 0 {
		// A timeline from before points counted reports.
		c.Reports = snap.Reports
	}
	return c, true
}

// snapshotsAt reads the event log for the summary of each incident's last
// change announced at or before t; only ids in want.
func (e *Engine) snapshotsAt(t time.Time, want map[string]bool) (map[string]*Incident, error) {
	out := map[string]*Incident{}
	err := e.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketEvents).ForEach(func(k, v []byte) error {
			var ev Event
			if err := json.Unmarshal(v, &ev); err != nil {
				return fmt.Errorf("event %x: %w", k, err)
			}
			if ev.Time.After(t) || !want[ev.Incident.ID] {
				return nil
			}
			if cur := out[ev.Incident.ID]; cur == nil || ev.Incident.Seq >= cur.Seq {
				in := ev.Incident
				out[in.ID] = &in
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("alert: read events: %w", err)
	}
	return out, nil
}

// IncidentAt returns one incident, with its timeline, as it was at event
// time at; false if there is no such incident or it did not exist yet.
func (e *Engine) IncidentAt(id string, at time.Time) (Incident, bool, error) {
	in, ok := e.Incident(id)
	if !ok {
		return Incident{}, false, nil
	}
	snaps, err := e.snapshotsAt(at, map[string]bool{id: true})
	if err != nil {
		return Incident{}, false, err
	}
	c, ok := in.asOf(at, snaps[id])
	return c, ok, nil
}

// incidentsAt is Incidents for Filter.At: every incident that existed at
// f.At, as it was then.
func (e *Engine) incidentsAt(f Filter) []*Incident {
	e.mu.RLock()
	var all []*Incident
	want := map[string]bool{}
	for _, in := range e.st.incidents {
		if in.stateAt(f.At) != "" {
			c := *in
			c.Timeline = slices.Clone(in.Timeline)
			all = append(all, &c)
			want[in.ID] = true
		}
	}
	e.mu.RUnlock()
	snaps, err := e.snapshotsAt(f.At, want)
	if err != nil {
		e.log.Error("incidents as of a past time: without their announced changes", "at", f.At, "err", err)
	}
	out := make([]*Incident, 0, len(all))
	for _, in := range all {
		if c, ok := in.asOf(f.At, snaps[in.ID]); ok {
			out = append(out, &c)
		}
	}
	return out
}
