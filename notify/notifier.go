package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/downsignal/downsignal/broker"
	"github.com/downsignal/downsignal/record"
)

// DefaultGroup is the consumer group of the one notifier.
const DefaultGroup = "downsignal-notify"

// Outbox is the replica's webhook outbox (webhook.Dispatcher).
type Outbox interface {
	// ApplySettles marks deliveries settled by the owner of their incident.
	ApplySettles(ss []record.Settle) error
	// Settles returns up to n settles made here and not yet shared.
	Settles(n int) ([]record.Settle, error)
	// SettlesShared drops shared settles.
	SettlesShared(ids []string) error
	// Settled signals that Settles has something new.
	Settled() <-chan struct{}
	// WaitIdle waits until no request is in flight.
	WaitIdle(ctx context.Context) error
	// Kick makes the outbox look for due deliveries now.
	Kick()
}

// NotifierOptions configures a Notifier.
type NotifierOptions struct {
	Brokers []string
	// Group is the consumer group the replicas share. Default DefaultGroup.
	Group string
	// SessionTimeout is how long the group waits for a silent member (a
	// killed replica) before its incidents move. Default 10s.
	SessionTimeout time.Duration
	Outbox         Outbox
	// Producer writes to downsignal.notify-state.
	Producer Producer
	Logger   *slog.Logger
	Metrics  *Metrics
	// HandOver bounds how long a replica that loses incidents waits for
	// its requests in flight and their settles. Default 30s.
	HandOver time.Duration
}

// Notifier makes one serve replica of several the one that sends each
// incident's webhooks. The replicas form the consumer group Group on
// downsignal.incidents; the member Kafka assigns an incident's partition
// (the partition its changes are keyed to) sends that incident's
// deliveries, and the one assigned the partition of webhook.SourceKey
// sends the source's notices. Every replica follows
// downsignal.notify-state, where owners share what they settled, and a
// replica given partitions reads that topic to its end before it sends
// anything. A replica losing partitions stops sending, waits for its
// requests in flight and shares their settles before it rejoins the
// group, and the group's next generation waits for it. A replica that
// dies (kill -9) loses its partitions after SessionTimeout; whatever it
// settled and shared is not sent again, the rest is sent by the new owner
// under the same webhook-ids, in order. Only a request whose answer came
// after the last shared settle can arrive twice, as after any crash.
type Notifier struct {
	o NotifierOptions

	mu    sync.Mutex
	ready bool
	parts []int // the generation's partitions, in order
	total int
	// lastTick is when the watchdog last ran; suspect is set when it
	// finds it did not run for half a session (the process was frozen or
	// starved) until the coordinator confirms the generation.
	lastTick time.Time
	suspect  bool

	// applied is the offset of downsignal.notify-state after the last
	// record applied; progress signals it moved.
	applied  atomic.Int64
	progress chan struct{}
	flushMu  sync.Mutex
}

// NewNotifier checks the options. Run takes part in the group.
func NewNotifier(o NotifierOptions) (*Notifier, error) {
	if len(o.Brokers) == 0 || o.Outbox == nil || o.Producer == nil {
		return nil, errors.New("notify: notifier needs brokers, an outbox and a producer")
	}
	if o.Group == "" {
		o.Group = DefaultGroup
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.HandOver <= 0 {
		o.HandOver = 30 * time.Second
	}
	if o.SessionTimeout <= 0 {
		o.SessionTimeout = 10 * time.Second
	}
	return &Notifier{o: o, progress: make(chan struct{}, 1)}, nil
}

// Owns reports whether this replica sends the deliveries of key (an
// incident id, or webhook.SourceKey) now.
func (n *Notifier) Owns(key string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.sending() && slices.Contains(n.parts, broker.PartitionOf(key, n.total))
}

// Share returns the partitions of downsignal.incidents this replica
// holds, of how many, and whether it sends for them now.
func (n *Notifier) Share() (partitions []int, of int, sending bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.parts), n.total, n.sending() && len(n.parts) > 0
}

// sending reports whether the replica may send for its partitions: it
// caught up, and its watchdog ran within half a session and was not
// found stalled since the coordinator last confirmed it. The caller holds
// mu.
func (n *Notifier) sending() bool {
	return n.ready && !n.suspect && n.total > 0 && time.Since(n.lastTick) <= n.o.SessionTimeout/2
}

// Group is the consumer group the notifier takes part in.
func (n *Notifier) Group() string { return n.o.Group }

// Run follows downsignal.notify-state, shares this replica's settles and
// takes part in the group until ctx ends.
func (n *Notifier) Run(ctx context.Context) error {
	// Without the state topic a replica could never catch up, so it could
	// never send: if following it fails for good, everything stops and the
	// process ends with the error.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := broker.Tail(ctx, broker.TailOptions{Brokers: n.o.Brokers, Topic: broker.NotifyStateTopic, Logger: n.o.Logger}, n.apply); err != nil {
			cancel(fmt.Errorf("follow %s: %w", broker.NotifyStateTopic, err))
		}
	}()
	go func() {
		defer wg.Done()
		n.shareLoop(ctx)
	}()
	err := broker.Member(ctx, broker.MemberOptions{Brokers: n.o.Brokers, Group: n.o.Group, Topic: broker.IncidentsTopic,
		SessionTimeout: n.o.SessionTimeout, Logger: n.o.Logger}, n.hold)
	wg.Wait()
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		err = errors.Join(err, cause)
	}
	return err
}

// apply hands settles read from downsignal.notify-state to the outbox.
func (n *Notifier) apply(_ context.Context, recs []broker.TailRecord) error {
	ss := make([]record.Settle, 0, len(recs))
	for _, r := range recs {
		s, err := record.DecodeSettle(r.Value)
		if err != nil {
			n.o.Metrics.invalid()
			n.o.Logger.Warn("skip invalid settle", "offset", r.Offset, "err", err)
			continue
		}
		ss = append(ss, s)
	}
	if err := n.o.Outbox.ApplySettles(ss); err != nil {
		return err
	}
	n.applied.Store(recs[len(recs)-1].Offset + 1)
	select {
	case n.progress <- struct{}{}:
	default:
	}
	return nil
}

// hold is one generation of the group: catch up, send, hand over.
func (n *Notifier) hold(ctx context.Context, a broker.Assignment) {
	if len(a.Partitions) > 0 && !n.catchUp(ctx) {
		return
	}
	n.setOwned(true, a)
	n.o.Logger.Info("notifier: sending for these partitions of "+broker.IncidentsTopic, "partitions", a.Partitions, "of", a.Total, "generation", a.Generation)
	n.o.Outbox.Kick()
	n.watch(ctx, a)
	n.setOwned(false, broker.Assignment{})
	if len(a.Partitions) == 0 {
		return
	}
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), n.o.HandOver)
	defer cancel()
	if err := n.o.Outbox.WaitIdle(hctx); err != nil {
		n.o.Logger.Warn("notifier: hand-over with a request still in flight", "err", err)
	}
	if err := n.flush(hctx); err != nil {
		n.o.Logger.Warn("notifier: hand-over before every settle was shared", "err", err)
	}
}

// catchUp waits until every settle shared before now has been applied, so
// a new owner never sends what an earlier one settled. A topic whose
// records all left it (retention, after a quiet week) has nothing to wait
// for; otherwise its last record is still there (compaction keeps the
// newest record of each key), and applying it reaches the end.
func (n *Notifier) catchUp(ctx context.Context) bool {
	var first, end int64
	err := broker.Retry(ctx, broker.RetryOptions{What: "read the end of " + broker.NotifyStateTopic, Logger: n.o.Logger}, func(ctx context.Context) error {
		var err error
		first, end, err = broker.OffsetRange(ctx, n.o.Brokers, broker.NotifyStateTopic, 0)
		return err
	})
	if err != nil {
		return false
	}
	for first < end && n.applied.Load() < end {
		select {
		case <-ctx.Done():
			return false
		case <-n.progress:
		}
	}
	return true
}

// watch runs until the generation ends. A process frozen for longer than
// the session (a stopped container, a paused VM) wakes up still believing
// it owns its partitions until its next heartbeat fails, while the
// coordinator may have given them to another member: a gap of more than
// half a session between the watchdog's ticks makes Owns false until the
// coordinator confirms the generation (Assignment.Check), or for good if
// it does not.
func (n *Notifier) watch(ctx context.Context, a broker.Assignment) {
	t := time.NewTicker(n.o.SessionTimeout / 10)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !n.tick(time.Now()) || a.Check == nil {
			continue
		}
		if err := a.Check(); err != nil {
			n.o.Logger.Warn("notifier: this process stalled past its group session; it sends nothing until the group hands out partitions again", "err", err)
			<-ctx.Done()
			return
		}
		n.mu.Lock()
		n.suspect = false
		n.mu.Unlock()
		n.o.Logger.Info("notifier: this process stalled, and is still the group's member")
	}
}

// tick records a watchdog tick and reports whether the one before it was
// more than half a session ago.
func (n *Notifier) tick(now time.Time) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	stalled := now.Sub(n.lastTick) > n.o.SessionTimeout/2
	n.lastTick = now
	if stalled {
		n.suspect = true
	}
	return stalled
}

func (n *Notifier) setOwned(ready bool, a broker.Assignment) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.ready, n.total, n.parts, n.lastTick, n.suspect = ready, a.Total, a.Partitions, time.Now(), false
	n.o.Metrics.setOwned(len(a.Partitions))
}

// shareLoop produces this replica's settles as they come.
func (n *Notifier) shareLoop(ctx context.Context) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		if err := n.flush(ctx); err != nil && ctx.Err() == nil {
			n.o.Logger.Error("share settles", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-n.o.Outbox.Settled():
		case <-t.C:
		}
	}
}

// flush produces every queued settle to downsignal.notify-state and drops
// it from the queue once acknowledged.
func (n *Notifier) flush(ctx context.Context) error {
	n.flushMu.Lock()
	defer n.flushMu.Unlock()
	for {
		ss, err := n.o.Outbox.Settles(200)
		if err != nil || len(ss) == 0 {
			return err
		}
		recs := make([]broker.Record, 0, len(ss))
		ids := make([]string, 0, len(ss))
		for i := range ss {
			if recs, err = broker.Encode(recs, &ss[i]); err != nil {
				return err
			}
			ids = append(ids, ss[i].DeliveryID)
		}
		what := fmt.Sprintf("share %d settles", len(recs))
		if err := broker.Retry(ctx, broker.RetryOptions{What: what, Logger: n.o.Logger}, func(ctx context.Context) error {
			return n.o.Producer.Produce(ctx, recs)
		}); err != nil {
			return err
		}
		if err := n.o.Outbox.SettlesShared(ids); err != nil {
			return err
		}
		n.o.Metrics.shared(len(ids))
	}
}
