package detect

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/downsignal/downsignal/internal/boltkv"
)

// Filter selects incidents.
type Filter struct {
	State   State  // empty: any
	Service string // group or affected service, case-insensitive; empty: any
	// Since and Until select incidents open at some time in [Since, Until).
	Since, Until time.Time
	// At, when set, lists the incidents that existed at that event time,
	// each as it was then (state, peak, reports, services); State selects
	// on that state.
	At    time.Time
	Limit int // default 50
}

// Incidents lists incidents, newest first, without their timelines. With
// f.At, a failure to read the event log is logged and the incidents come
// from their timelines alone.
func (e *Engine) Incidents(f Filter) []Incident {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	var list []*Incident
	if f.At.IsZero() {
		e.mu.RLock()
		defer e.mu.RUnlock()
		for _, in := range e.st.incidents {
			list = append(list, in)
		}
	} else {
		list = e.incidentsAt(f)
	}
	var out []Incident
	for _, in := range list {
		if f.State != "" && in.State != f.State {
			continue
		}
		if f.Service != "" && !strings.EqualFold(in.Service, f.Service) &&
			!slices.ContainsFunc(in.Services, func(s string) bool { return strings.EqualFold(s, f.Service) }) {
			continue
		}
		if !f.Until.IsZero() && !in.StartedAt.Before(f.Until) {
			continue
		}
		if !f.Since.IsZero() && !in.ResolvedAt.IsZero() && in.ResolvedAt.Before(f.Since) {
			continue
		}
		s := *in
		s.Timeline = nil
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b Incident) int {
		if c := b.StartedAt.Compare(a.StartedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	if len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out
}

// Incident returns one incident with its timeline.
func (e *Engine) Incident(id string) (Incident, bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	in, ok := e.st.incidents[id]
	if !ok {
		return Incident{}, false
	}
	c := *in
	c.Timeline = slices.Clone(in.Timeline)
	return c, true
}

// EventsAfter returns up to n events with a sequence number above seq.
func (e *Engine) EventsAfter(seq uint64, n int) ([]Event, error) {
	var out []Event
	err := e.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketEvents).Cursor()
		for k, v := c.Seek(u64(seq + 1)); k != nil && len(out) < n; k, v = c.Next() {
			var ev Event
			if err := json.Unmarshal(v, &ev); err != nil {
				return fmt.Errorf("event %x: %w", k, err)
			}
			out = append(out, ev)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("alert: read events: %w", err)
	}
	return out, nil
}

// ErrBadSilence is a silence that cannot be created.
var ErrBadSilence = errors.New("bad silence")

// MaxSilence is the longest silence.
const MaxSilence = 90 * 24 * time.Hour

// AddSilence stores a silence. It covers notifications of incident
// changes whose event time falls in [StartsAt, EndsAt).
func (e *Engine) AddSilence(s Silence, now time.Time) (Silence, error) {
	s.Service = strings.TrimSpace(s.Service)
	switch {
	case s.Service == "" || len(s.Service) > 128:
		return Silence{}, fmt.Errorf("%w: service is required (at most 128 bytes)", ErrBadSilence)
	case s.StartsAt.IsZero() || s.EndsAt.IsZero() || !s.EndsAt.After(s.StartsAt):
		return Silence{}, fmt.Errorf("%w: ends_at must be after starts_at", ErrBadSilence)
	case s.EndsAt.Sub(s.StartsAt) > MaxSilence:
		return Silence{}, fmt.Errorf("%w: longer than %s", ErrBadSilence, MaxSilence)
	case len(s.Comment) > 1024:
		return Silence{}, fmt.Errorf("%w: comment longer than 1024 bytes", ErrBadSilence)
	}
	s.ID = "sil_" + strings.ToLower(rand.Text()[:16])
	s.CreatedAt = now.UTC()
	s.StartsAt, s.EndsAt = s.StartsAt.UTC(), s.EndsAt.UTC()
	e.writeMu.Lock()
	defer e.writeMu.Unlock()
	if err := e.db.Update(func(tx *bolt.Tx) error { return boltkv.PutJSON(tx.Bucket(bucketSilences), []byte(s.ID), s) }); err != nil {
		return Silence{}, fmt.Errorf("alert: store silence: %w", err)
	}
	e.mu.Lock()
	e.st.silences[s.ID] = s
	e.mu.Unlock()
	return s, nil
}

// Silences lists the silences, latest end first.
func (e *Engine) Silences() []Silence {
	e.mu.RLock()
	defer e.mu.RUnlock()
	out := make([]Silence, 0, len(e.st.silences))
	for _, s := range e.st.silences {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b Silence) int {
		if c := b.EndsAt.Compare(a.EndsAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// DeleteSilence removes a silence; false if there was none.
func (e *Engine) DeleteSilence(id string) (bool, error) {
	e.writeMu.Lock()
	defer e.writeMu.Unlock()
	e.mu.RLock()
	_, ok := e.st.silences[id]
	e.mu.RUnlock()
	if !ok {
		return false, nil
	}
	if err := e.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketSilences).Delete([]byte(id)) }); err != nil {
		return false, fmt.Errorf("alert: delete silence: %w", err)
	}
	e.mu.Lock()
	delete(e.st.silences, id)
	e.mu.Unlock()
	return true, nil
}

// IncidentStates maps each service in an open incident (its group and the
// services whose reports crossed the firing level) to the incident's state,
// firing over pending. Services in no open incident are absent. With a
// non-zero at, the incidents are those pending or firing at that event
// time, as they were then: a service that joined later is not in them.
func (e *Engine) IncidentStates(_ context.Context, at time.Time) map[string]string {
	out := make(map[string]string)
	set := func(in *Incident) {
		if in.State != Pending && in.State != Firing {
			return
		}
		for _, svc := range append([]string{in.Service}, in.Services...) {
			if cur := out[svc]; cur != string(Firing) {
				out[svc] = string(in.State)
			}
		}
	}
	if !at.IsZero() {
		for _, in := range e.incidentsAt(Filter{At: at}) {
			set(in)
		}
		return out
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	for _, in := range e.st.incidents {
		set(in)
	}
	return out
}
