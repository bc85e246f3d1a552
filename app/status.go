package app

import (
	"context"
	"sync"
	"time"

	"github.com/downsignal/downsignal/broker"
	"github.com/downsignal/downsignal/health"
	"github.com/downsignal/downsignal/record"
	"github.com/downsignal/downsignal/webhook"
)

// observe wraps a consuming stage's handle so that, once a batch is
// handled, the stage's watermark moves to its newest event and, in a
// process without ingest, the first stage reports the posts it saw as the
// source's.
func observe[T any](a *App, handle func(context.Context, []record.Delivery[T]) error) (func(context.Context, []record.Delivery[T]) error, *health.Watermark) {
	wm := new(health.Watermark)
	feeds := !a.o.runs(ModeIngest) && !a.fed
	a.fed = true
	return func(ctx context.Context, batch []record.Delivery[T]) error {
		if err := handle(ctx, batch); err != nil {
			return err
		}
		var posts []time.Time
		newest := time.Time{}
		for i := range batch {
			ev := eventOf(&batch[i].Value)
			if ev == nil || batch[i].Invalid {
				continue
			}
			if ev.Time.After(newest) {
				newest = ev.Time
			}
			if feeds && ev.Kind == record.KindPost {
				posts = append(posts, ev.Time)
			}
		}
		wm.Advance(newest)
		if feeds {
			a.source.Posts(posts)
		}
		return nil
	}, wm
}

// sourceLive says whether a collapse of the stream can be Bluesky's: the
// source is a replay (its gaps are the stream's), a network source with a
// session open (connected, yet nothing comes), or Kafka in a process
// without ingest (it cannot see the source's connection). A network
// source that is disconnected is our outage, not Bluesky's.
func (a *App) sourceLive() bool {
	switch st := a.source.Status(); {
	case st.State == health.Replaying || st.State == health.Done:
		return true
	case !a.o.runs(ModeIngest):
		return true
	}
	return a.source.Connected()
}

// sourceConnected says whether the source is a network source with an
// open session: a silent stream is then Bluesky's silence.
func (a *App) sourceConnected() bool { return a.source.Connected() }

// tickAlerts lets the detector evaluate minutes that pass with no post
// while the source is connected (detect.Engine.Tick).
func (a *App) tickAlerts(ctx context.Context) error {
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case now := <-tick.C:
			if err := a.alerts.Tick(ctx, now); err != nil && ctx.Err() == nil {
				a.log.Warn("detector clock tick", "err", err)
			}
		}
	}
}

// eventOf is the event a record carries: the record itself on
// downsignal.posts, the classified event on downsignal.signals.
func eventOf(v any) *record.Event {
	switch r := v.(type) {
	case *record.Event:
		return r
	case *record.Signal:
		return &r.Event
	}
	return nil
}

// statusCache keeps the last /v1/status for a second: every open
// dashboard polls it, and each answer asks the brokers for offsets.
type statusCache struct {
	mu   sync.Mutex
	at   time.Time
	last []health.StageStatus
}

// status answers GET /v1/status.
func (a *App) status(ctx context.Context) health.Status {
	st := health.Status{Now: time.Now().UTC(), Source: a.source.Status()}
	st.Stages = a.stageStatus(ctx)
	stream := st.Source.NewestEventTime
	for _, s := range st.Stages {
		if s.Watermark != nil && s.Watermark.After(stream) {
			stream = *s.Watermark
		}
	}
	if !stream.IsZero() {
		stream = stream.UTC()
		st.StreamTime = &stream
	}
	if a.notifier != nil {
		parts, of, sending := a.notifier.Share()
		st.Notify = &health.NotifyStatus{Group: a.notifier.Group(), Partitions: parts, Of: of, Sending: sending}
	}
	return st
}

func (a *App) stageStatus(ctx context.Context) []health.StageStatus {
	c := &a.statusCache
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.at) < time.Second {
		return c.last
	}
	var out []health.StageStatus
	for _, comp := range a.comps {
		if comp.hop == nil {
			continue
		}
		lag, err := broker.Lag(ctx, a.brokers, comp.hop.group, comp.hop.topic)
		if err != nil {
			lag = -1
		}
		s := health.StageStatus{Name: comp.name, Topic: comp.hop.topic, Lag: lag}
		if wm := comp.wm.Time(); !wm.IsZero() {
			s.Watermark = &wm
		}
		out = append(out, s)
	}
	c.at, c.last = time.Now(), out
	return out
}

// watchSource logs the source's changes of state and tells webhooks when
// a live source stalls and when it recovers: one source.stalled and one
// source.recovered per stall, however short, retried until the outbox
// took them. A replay never stalls.
func (a *App) watchSource(ctx context.Context) error {
	every := min(time.Second, a.source.StallAfter()/4)
	tick := time.NewTicker(every)
	defer tick.Stop()
	prev := a.source.Status()
	seen := prev.LastStall.N
	var stall *health.Stall // the stall under way, not yet recovered
	var queue []webhook.SourceChange
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		st := a.source.Status()
		if st.State != prev.State {
			a.log.Info("source state", "source", st.Name, "state", st.State, "was", prev.State, "last_error", st.LastError)
		}
		// A post since the stall began ends it; a stall that began (and
		// perhaps ended) since the last tick is reported all the same.
		if stall != nil && postedSince(stall, &st) {
			queue = append(queue, a.recovered(*stall, st))
			stall = nil
		}
		if st.LastStall.N > seen {
			seen = st.LastStall.N
			s := st.LastStall
			stall = &s
			a.log.Warn("source stalled: no post arrived, results are incomplete", "source", st.Name,
				"stall_after", a.source.StallAfter(), "last_post_at", s.LastPost, "last_error", s.LastError)
			queue = append(queue, a.sourceChange(webhook.EventSourceStalled, st.Name, s, ""))
			if postedSince(stall, &st) {
				queue = append(queue, a.recovered(*stall, st))
				stall = nil
			}
		}
		for len(queue) > 0 && a.webhooks != nil {
			if err := a.webhooks.SourceChanged(ctx, queue[0]); err != nil {
				a.log.Warn("source change for webhooks not stored yet; retrying", "type", queue[0].Type, "err", err)
				break
			}
			queue = queue[1:]
		}
		if a.webhooks == nil {
			queue = queue[:0]
		}
		prev = st
	}
}

// recovered logs the end of a stall and makes its webhook event.
func (a *App) recovered(stall health.Stall, now health.SourceStatus) webhook.SourceChange {
	a.log.Info("source recovered", "source", now.Name, "away", time.Since(stall.LastPost).Round(time.Millisecond))
	return a.sourceChange(webhook.EventSourceRecovered, now.Name, stall, now.LastError)
}

// postedSince says whether a post arrived after the stall began.
func postedSince(stall *health.Stall, now *health.SourceStatus) bool {
	return now.LastEventAt != nil && now.LastEventAt.After(stall.LastPost)
}

// sourceChange is the webhook event of a stall of source name; lastErr,
// when set, replaces the stall's own last error.
func (a *App) sourceChange(typ, name string, stall health.Stall, lastErr string) webhook.SourceChange {
	c := webhook.SourceChange{
		Type: typ, Source: name, At: time.Now().UTC(), LastError: stall.LastError,
		// The last post's arrival is the stall's identity.
		Since: stall.LastPost, LastEventTime: stall.LastEventTime, StallAfter: a.source.StallAfter(),
	}
	if lastErr != "" {
		c.LastError = lastErr
	}
	return c
}
