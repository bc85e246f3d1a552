package detect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

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
// restart and are skipped; an invalid record (one that did not decode)
// only moves its partition's offset. now is the wall clock, used only to
// tell idle partitions from slow ones.
func (e *Engine) Apply(ctx context.Context, batch []record.Delivery[record.Signal], now time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	e.writeMu.Lock()
	defer e.writeMu.Unlock()
	start := time.Now()
	ends := e.endOffsets(now)

	e.mu.Lock()
	d := newDirty()
	var applied, future int
	err := e.db.Update(func(tx *bolt.Tx) error {
		e.markCaughtUp(ends)
		var err error
		if applied, future, err = e.count(tx, d, batch, now); err != nil {
			return err
		}
		e.advance(d, now)
		return save(tx, e.st, d)
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
	for _, ev := range d.events {
		e.metrics.event(ev.Type)
		e.log.Info("incident "+ev.Type[len("incident."):], "incident", ev.Incident.ID, "service", ev.Incident.Service,
			"services", ev.Incident.Services, "severity", ev.Incident.Severity, "authors", ev.Incident.PeakAuthors,
			"event_time", ev.Time, "silenced", ev.Silenced)
	}
	if len(d.events) > 0 {
		e.wake()
	}
	return nil
}

// endOffsets reads the topic's end offsets, at most every 30 s, so an
// idle partition is known to be caught up; nil when not due or unknown.
func (e *Engine) endOffsets(now time.Time) map[int]int64 {
	if e.o.EndOffsets == nil || (!e.endChecked.IsZero() && now.Sub(e.endChecked) <= 30*time.Second) {
		return nil
	}
	ends, err := e.o.EndOffsets()
	if err != nil {
		e.log.Warn("read end offsets", "err", err)
		return nil
	}
	e.endChecked = now
	return ends
}

// markCaughtUp records which partitions the applied offsets have reached
// the end of.
func (e *Engine) markCaughtUp(ends map[int]int64) {
	st := e.st
	for p, end := range ends {
		ps := st.Parts[p]
		if ps == nil {
			ps = &partState{lastWall: e.started}
			st.Parts[p] = ps
		}
		ps.CaughtUp = st.Offsets[p] >= end
	}
}

// count applies each record of the batch above the stored offsets and
// tracks its partition for the watermark. It returns how many records it
// applied and how many it left out for being dated in the future.
func (e *Engine) count(tx *bolt.Tx, d *dirty, batch []record.Delivery[record.Signal], now time.Time) (applied, future int, err error) {
	st := e.st
	b := e.newBatchTx(tx, d)
	for i := range batch {
		r := &batch[i]
		ps := st.Parts[r.Partition]
		if ps == nil {
			ps = &partState{}
			st.Parts[r.Partition] = ps
		}
		ps.lastWall = now
		ps.CaughtUp = r.HighWaterMark > 0 && r.Offset+1 >= r.HighWaterMark
		if r.Offset < st.Offsets[r.Partition] {
			continue
		}
		st.Offsets[r.Partition] = r.Offset + 1
		if r.Invalid {
			// Only its offset moves. records_applied_total counts every
			// record at a new offset but the future-dated ones.
			applied++
			continue
		}
		if r.Value.Event.Time.After(now.Add(maxFuture)) {
			// A clock far ahead (a post's own createdAt can be anything)
			// would drag the watermark into the future: leave it out.
			e.metrics.invalidRecord()
			future++
			continue
		}
		ps.MaxTime = max(ps.MaxTime, r.Value.Event.Time.Unix())
		if err := b.apply(&r.Value); err != nil {
			return applied, future, err
		}
		applied++
	}
	return applied, future, nil
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
		if e.followsClock(now) {
			wm = max(wm, now.Add(-clockLag).Unix())
		}
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

// clockLag is how far behind the wall clock a watermark that follows the
// clock stays, for posts that arrive late.
const clockLag = time.Minute

// clockHorizon is how recent the watermark must be for it to follow the
// clock: a stream that was live a moment ago, not a backlog.
const clockHorizon = 10 * time.Minute

// followsClock says whether an idle, caught-up stream's watermark may
// follow the wall clock: only on a live source that is connected (so
// minutes with no post at all are evaluated as they end, and a silent
// Bluesky shows as a volume drop while it lasts), and only when the
// watermark is near now. A disconnected source keeps the watermark where
// it is, so the posts it sends on reconnecting are evaluated in full.
func (e *Engine) followsClock(now time.Time) bool {
	return e.o.FollowClock != nil && e.st.First != 0 &&
		now.Sub(time.Unix(e.st.Watermark, 0)) < clockHorizon && e.o.FollowClock()
}

// Tick evaluates the minutes the wall clock completed while no record
// came, where the watermark follows the clock (Options.FollowClock).
func (e *Engine) Tick(ctx context.Context, now time.Time) error {
	if e.o.FollowClock == nil || !e.o.FollowClock() {
		return nil
	}
	return e.Apply(ctx, nil, now)
}

// Handle applies one batch of downsignal.signals records at the current
// time and returns once it is durable; it is the detector's handler for
// broker.Consumer. An invalid record (one that did not decode) changes
// nothing but the offset of its partition.
func (e *Engine) Handle(ctx context.Context, batch []record.Delivery[record.Signal]) error {
	return e.Apply(ctx, batch, time.Now())
}

// CountInvalid counts a downsignal.signals record that did not decode.
func (e *Engine) CountInvalid() { e.metrics.invalidRecord() }
