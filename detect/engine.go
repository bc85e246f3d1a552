package detect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/cespare/xxhash/v2"
	bolt "go.etcd.io/bbolt"

	"github.com/downsignal/downsignal/baseline"
	"github.com/downsignal/downsignal/record"
)

// Engine is the detector with its store. Apply is called by one writer
// (the Kafka stage); the query methods may run concurrently with it.
type Engine struct {
	o        Options
	db       *bolt.DB
	log      *slog.Logger
	metrics  *Metrics
	baseline *baseline.Baseline
	started  time.Time

	writeMu sync.Mutex // one batch or admin write at a time
	mu      sync.RWMutex
	st      *state

	endChecked time.Time

	notifyMu sync.Mutex
	notify   chan struct{}
}

// Change is one downsignal.signals record with its place in the topic.
type Change struct {
	Partition     int
	Offset        int64
	HighWaterMark int64
	Signal        record.Signal
}

// Open opens (or creates) the store at o.Path and loads its state.
func Open(o Options) (*Engine, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	db, err := bolt.Open(o.Path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("alert: open %s: %w", o.Path, err)
	}
	st, err := load(db)
	if err != nil {
		db.Close()
		return nil, err
	}
	e := &Engine{
		o: o, db: db, log: o.Logger, metrics: o.Metrics, st: st,
		baseline: baseline.NewBaseline(o.Baseline), started: time.Now(),
		notify: make(chan struct{}),
	}
	e.metrics.setOpen(e.openCount())
	return e, nil
}

// Close closes the store.
func (e *Engine) Close() error {
	e.writeMu.Lock()
	defer e.writeMu.Unlock()
	return e.db.Close()
}

// InstanceID identifies this store on disk; the stage uses it in its
// consumer group so a new store reads the topic from the start.
func (e *Engine) InstanceID() string {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.st.Instance
}

// Position returns the next offset to apply per partition.
func (e *Engine) Position() map[int]int64 {
	e.mu.RLock()
	defer e.mu.RUnlock()
	out := make(map[int]int64, len(e.st.Offsets))
	for p, o := range e.st.Offsets {
		out[p] = o
	}
	return out
}

// Watermark is the event time up to which every partition has been read.
func (e *Engine) Watermark() time.Time {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.st.Watermark == 0 {
		return time.Time{}
	}
	return time.Unix(e.st.Watermark, 0).UTC()
}

// Notify returns a channel closed at the next appended event.
func (e *Engine) Notify() <-chan struct{} {
	e.notifyMu.Lock()
	defer e.notifyMu.Unlock()
	return e.notify
}

func (e *Engine) wake() {
	e.notifyMu.Lock()
	close(e.notify)
	e.notify = make(chan struct{})
	e.notifyMu.Unlock()
}

// maxFuture is how far ahead of the wall clock an event time may be.
const maxFuture = 10 * time.Minute

// Apply counts one batch, advances the watermark, evaluates every minute
// it completed, and makes all of it durable in one transaction with the
// batch's offsets. Records below the stored offsets were applied before a
// restart and are skipped. now is the wall clock, used only to tell idle
// partitions from slow ones.
func (e *Engine) Apply(ctx context.Context, changes []Change, now time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	e.writeMu.Lock()
	defer e.writeMu.Unlock()
	start := time.Now()
	var ends map[int]int64
	if e.o.EndOffsets != nil && (e.endChecked.IsZero() || now.Sub(e.endChecked) > 30*time.Second) {
		var err error
		if ends, err = e.o.EndOffsets(); err != nil {
			e.log.Warn("read end offsets", "err", err)
		} else {
			e.endChecked = now
		}
	}

	e.mu.Lock()
	d := newDirty()
	applied, future := 0, 0
	var events []Event
	err := e.db.Update(func(tx *bolt.Tx) error {
		st := e.st
		for p, end := range ends {
			ps := st.Parts[p]
			if ps == nil {
				ps = &partState{lastWall: e.started}
				st.Parts[p] = ps
			}
			ps.CaughtUp = st.Offsets[p] >= end
		}
		for i := range changes {
			ch := &changes[i]
			ps := st.Parts[ch.Partition]
			if ps == nil {
				ps = &partState{}
				st.Parts[ch.Partition] = ps
			}
			ps.lastWall = now
			ps.CaughtUp = ch.HighWaterMark > 0 && ch.Offset+1 >= ch.HighWaterMark
			if ch.Offset < st.Offsets[ch.Partition] {
				continue
			}
			st.Offsets[ch.Partition] = ch.Offset + 1
			if ch.Signal.Event.Time.After(now.Add(maxFuture)) {
				// A clock far ahead (a post's own createdAt can be anything)
				// would drag the watermark into the future: leave it out.
				e.metrics.invalidRecord()
				future++
				continue
			}
			ps.MaxTime = max(ps.MaxTime, ch.Signal.Event.Time.Unix())
			if err := e.applyOne(tx, d, &ch.Signal); err != nil {
				return err
			}
			applied++
		}
		e.advance(d, now)
		events = d.events
		return save(tx, st, d)
	})
	if err != nil {
		// Memory may hold half a batch: rebuild it from the file.
		st, lerr := load(e.db)
		if lerr == nil {
			e.st = st
		}
		e.mu.Unlock()
		return errors.Join(fmt.Errorf("alert: apply batch: %w", err), lerr)
	}
	open := e.openCount()
	wm := e.st.Watermark
	e.mu.Unlock()

	e.metrics.batch(applied, time.Since(start), wm, open)
	if future > 0 {
		e.log.Warn("skipped records dated in the future", "records", future)
	}
	for _, ev := range events {
		e.metrics.event(ev.Type)
		e.log.Info("incident "+ev.Type[len("incident."):], "incident", ev.Incident.ID, "service", ev.Incident.Service,
			"services", ev.Incident.Services, "severity", ev.Incident.Severity, "authors", ev.Incident.PeakAuthors,
			"event_time", ev.Time, "silenced", ev.Silenced)
	}
	if len(events) > 0 {
		e.wake()
	}
	return nil
}

func (e *Engine) openCount() int {
	n := 0
	for _, in := range e.st.incidents {
		if in.State != Resolved {
			n++
		}
	}
	return n
}

// applyOne counts one record.
func (e *Engine) applyOne(tx *bolt.Tx, d *dirty, sig *record.Signal) error {
	st := e.st
	ev := &sig.Event
	countedB, tombB := tx.Bucket(bucketCounted), tx.Bucket(bucketTombs)
	m := ev.Time.Unix() / 60
	switch ev.Kind {
	case record.KindPost:
		if st.First == 0 {
			st.First = m
			st.Evaluated = m - 1
		}
		if m >= st.First && m > st.Evaluated-int64(e.o.RetentionDays)*1440 {
			st.totals[m]++
			d.totals[m] = true
		}
		uri := []byte(ev.URI)
		r := sig.Result
		if r == nil || !r.Outage || len(r.Services) == 0 {
			return nil
		}
		if tombB.Get(uri) != nil || countedB.Get(uri) != nil {
			return nil // deleted already, or a duplicate at a new offset
		}
		post := xxhash.Sum64String(ev.URI)
		en := &entry{Post: post, Author: xxhash.Sum64String(ev.DID), Bands: bandKeys(ev.Text)}
		for _, c := range r.ErrorCodes {
			en.Codes = appendUnique(en.Codes, c.Family+"|"+c.Code)
		}
		for _, g := range r.Regions {
			en.Regions = appendUnique(en.Regions, g.Name)
		}
		var scopes, services []string
		for _, h := range r.Services {
			services = appendUnique(services, h.Name)
			scopes = appendUnique(scopes, h.Name)
			// The classifier names the group (Outlook's is Microsoft 365,
			// never a vendor such as Microsoft); older signals only the parent.
			parent := h.Group
			if parent == "" {
				parent = h.Parent
			}
			if parent == "" || parent == h.Name {
				delete(st.Parents, h.Name)
				continue
			}
			st.Parents[h.Name] = parent
			scopes = appendUnique(scopes, parent)
		}
		// Regional series: each service (and parent) in each named region.
		base := scopes
		for i, r := range en.Regions {
			if i == maxRegionsPerPost {
				break
			}
			for _, b := range base {
				scopes = appendUnique(scopes, b+regionSep+r)
			}
		}
		for _, s := range scopes {
			if st.minutes[s] == nil {
				st.minutes[s] = map[int64]*minute{}
			}
			mm := st.minutes[s][m]
			if mm == nil {
				mm = &minute{}
				st.minutes[s][m] = mm
			}
			mm.entries = append(mm.entries, en)
			mm.recount()
			d.minute(s, m)
		}
		v, err := jsonBytes(counted{Minute: m, Scopes: scopes})
		if err != nil {
			return err
		}
		if err := countedB.Put(uri, v); err != nil {
			return err
		}
		rp := &recentPost{URI: ev.URI, Author: ev.DID, Text: clip(ev.Text, 300), Time: ev.Time.UTC(), Minute: m, Services: services, Group: st.groupOf(services[0])}
		if m > st.Evaluated-120 {
			st.recent[post] = rp
			d.recent[post] = true
		}
	case record.KindDelete:
		uri := []byte(ev.URI)
		if err := tombB.Put(uri, i64(ev.Time.Unix())); err != nil {
			return err
		}
		v := countedB.Get(uri)
		if v == nil {
			return nil
		}
		var c counted
		if err := jsonParse(v, &c); err != nil {
			return fmt.Errorf("counted %s: %w", ev.URI, err)
		}
		post := xxhash.Sum64String(ev.URI)
		for _, s := range c.Scopes {
			mm := st.minutes[s][c.Minute]
			if mm == nil {
				continue
			}
			for i, en := range mm.entries {
				if en.Post == post {
					mm.entries = append(mm.entries[:i], mm.entries[i+1:]...)
					break
				}
			}
			mm.recount()
			if len(mm.entries) == 0 {
				delete(st.minutes[s], c.Minute)
			}
			d.minute(s, c.Minute)
		}
		if _, ok := st.recent[post]; ok {
			delete(st.recent, post)
			d.recent[post] = true
		}
		// A deleted post is no longer shown as a sample.
		for _, in := range st.incidents {
			for i, s := range in.Samples {
				if s.URI == ev.URI {
					in.Samples = append(in.Samples[:i], in.Samples[i+1:]...)
					d.incidents[in.ID] = true
					break
				}
			}
		}
		return countedB.Delete(uri)
	case record.KindReset:
		// The account's repository no longer holds some posts: those still
		// in the recent window stop counting, as deletes would. Older ones
		// only shaped baselines.
		drops := ev.ResetDrops()
		var gone []string
		for _, rp := range st.recent {
			if rp.Author == ev.DID && drops(rp.URI) {
				gone = append(gone, rp.URI)
			}
		}
		slices.Sort(gone)
		for _, u := range gone {
			del := record.Signal{V: sig.V, Event: record.Event{V: ev.V, Kind: record.KindDelete, DID: ev.DID, URI: u, Time: ev.Time, Source: ev.Source}}
			if err := e.applyOne(tx, d, &del); err != nil {
				return err
			}
		}
	}
	return nil
}

// advance moves the watermark and evaluates each minute it completed.
func (e *Engine) advance(d *dirty, now time.Time) {
	st := e.st
	var wm, globalMax int64 = math.MaxInt64, 0
	waiting := false
	for _, ps := range st.Parts {
		globalMax = max(globalMax, ps.MaxTime)
		if ps.CaughtUp && now.Sub(ps.lastWall) >= e.o.IdleAfter {
			continue // idle: nothing more to wait for
		}
		waiting = true
		wm = min(wm, ps.MaxTime)
	}
	if !waiting {
		wm = globalMax
	}
	if wm > st.Watermark {
		st.Watermark = wm
	}
	if st.First == 0 {
		return
	}
	upto := st.Watermark/60 - 1 // last complete minute
	if upto-st.Evaluated > 7*1440 {
		// A jump of more than a week (a restart on old data): evaluate only
		// the last day of it.
		st.Evaluated = upto - 1440
	}
	for m := st.Evaluated + 1; m <= upto; m++ {
		e.evaluate(d, m)
		st.Evaluated = m
	}
}

func appendUnique(s []string, v string) []string {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !isRuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// Handle applies one batch of downsignal.signals records at the current
// time and returns once it is durable; it is the detector's handler for
// broker.Consumer. An invalid record (one that did not decode) changes
// nothing but the offset of its partition.
func (e *Engine) Handle(ctx context.Context, batch []record.Delivery[record.Signal]) error {
	changes := make([]Change, len(batch))
	for i, d := range batch {
		changes[i] = Change{Partition: d.Partition, Offset: d.Offset, HighWaterMark: d.HighWaterMark, Signal: d.Value}
	}
	return e.Apply(ctx, changes, time.Now())
}

// CountInvalid counts a downsignal.signals record that did not decode.
func (e *Engine) CountInvalid() { e.metrics.invalidRecord() }
