package health

import (
	"sync/atomic"
	"time"
)

// Status is the answer of GET /v1/status: is the stream whole, and how far
// has each stage read it.
type Status struct {
	// Now is the server's wall clock.
	Now time.Time `json:"now"`
	// StreamTime is the newest event time the pipeline has read: the
	// source's, or the stages' watermarks where this process sees no
	// source. In a replay it is the "now" of the replayed day. Nil before
	// the first post.
	StreamTime *time.Time    `json:"stream_time"`
	Source     SourceStatus  `json:"source"`
	Stages     []StageStatus `json:"stages"`
	// Notify is this serve replica's share of the one notifier; absent in
	// a process that sends all its webhooks itself.
	Notify *NotifyStatus `json:"notify,omitempty"`
}

// NotifyStatus is which incidents' webhooks a serve replica sends.
type NotifyStatus struct {
	// Group is the notify consumer group the replicas share.
	Group string `json:"group"`
	// Partitions are the partitions of downsignal.incidents the group gave
	// this replica (an incident's changes are keyed to one of them), of
	// Of; empty between generations.
	Partitions []int `json:"partitions"`
	Of         int   `json:"of"`
	// Sending is false while the replica has no partitions, is catching
	// up on settled deliveries, or stalled and waits for the group to
	// confirm it.
	Sending bool `json:"sending"`
}

// StageStatus is how far one consuming stage has read its topic.
type StageStatus struct {
	Name  string `json:"name"`
	Topic string `json:"topic"`
	// Lag is the records in the topic the stage's group has not committed
	// yet, over all partitions; -1 when the broker could not be asked.
	Lag int64 `json:"lag"`
	// Watermark is the newest event time the stage has handled; nil
	// before its first record.
	Watermark *time.Time `json:"watermark"`
}

// Watermark follows the newest event time a stage has handled. A nil
// *Watermark ignores every call.
type Watermark struct{ unixNano atomic.Int64 }

// Advance moves the watermark to t if t is newer.
func (w *Watermark) Advance(t time.Time) {
	if w == nil || t.IsZero() {
		return
	}
	n := t.UnixNano()
	for {
		cur := w.unixNano.Load()
		if n <= cur || w.unixNano.CompareAndSwap(cur, n) {
			return
		}
	}
}

// Time is the newest event time handled, zero before the first.
func (w *Watermark) Time() time.Time {
	if w == nil {
		return time.Time{}
	}
	n := w.unixNano.Load()
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}
