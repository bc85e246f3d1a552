package webhook

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Event types of the post source's health.
const (
	EventSourceStalled   = "source.stalled"
	EventSourceRecovered = "source.recovered"
)

// SourceChange is a change of the post source's health.
type SourceChange struct {
	Type          string    // EventSourceStalled ("source.stalled") or EventSourceRecovered ("source.recovered")
	Source        string    // the source's name, e.g. "jetstream", "replay:/abs/path"
	Since         time.Time // when the last post arrived before the stall: the stall's identity
	At            time.Time // when the change was noticed
	LastEventTime time.Time // event time of the last post
	LastError     string    // the source's last error, "" if none
	StallAfter    time.Duration
}

// sourceSeq orders a stall's two changes in their queue: the recovery
// waits behind the stall.
var sourceSeq = map[string]int{EventSourceStalled: 1, EventSourceRecovered: 2}

// stallID names one stall: the source and when its last post arrived.
func (c *SourceChange) stallID() string {
	h := sha256.Sum256([]byte(c.Source + "\x00" + strconv.FormatInt(c.Since.UnixNano(), 10)))
	return "stall_" + hex.EncodeToString(h[:8])
}

// sourceDeliveryID is the webhook-id of a source change for an endpoint:
// the same for the same endpoint, type and stall, so calling again (after
// a restart, or from another replica) adds nothing.
func sourceDeliveryID(endpointID string, c *SourceChange) string {
	h := sha256.Sum256([]byte(endpointID + "\x00" + c.Type + "\x00" + strconv.FormatInt(c.Since.UnixNano(), 10)))
	return "msg_" + hex.EncodeToString(h[:12])
}

func (c *SourceChange) validate() error {
	switch {
	case sourceSeq[c.Type] == 0:
		return fmt.Errorf("webhook: source change type %q: want %s or %s", c.Type, EventSourceStalled, EventSourceRecovered)
	case c.Source == "":
		return fmt.Errorf("webhook: source change without a source name")
	case c.Since.IsZero():
		return fmt.Errorf("webhook: source change without since: it is the stall's identity")
	}
	return nil
}

// SourceChanged enqueues the change for every enabled endpoint that takes
// it; idempotent by (endpoint, Type, Since). With several replicas (an
// Owner), configured endpoints get it only from the replica that owns the
// source's notices.
func (d *Dispatcher) SourceChanged(ctx context.Context, c SourceChange) error {
	if err := c.validate(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if c.At.IsZero() {
		c.At = d.o.Now()
	}
	now := d.o.Now().UTC()
	n := 0
	err := d.db.Update(func(tx *bolt.Tx) error {
		eps, err := loadEndpoints(tx)
		if err != nil {
			return err
		}
		for _, ep := range eps {
			if !ep.Enabled || !ep.takes(c.Type) || (d.shares(ep) && !d.owns("")) {
				// Every replica watches its own stream; a configured
				// endpoint hears the one that notifies for the source.
				continue
			}
			id := sourceDeliveryID(ep.ID, &c)
			if tx.Bucket(bucketDeliveries).Get([]byte(id)) != nil {
				continue
			}
			body, err := Render(ep.Format, ep, Message{Type: c.Type, Time: c.At, Source: &c}, d.o.ExternalURL)
			if err != nil {
				return err
			}
			del := &Delivery{ID: id, EndpointID: ep.ID, Type: c.Type, Subject: c.stallID(), Seq: sourceSeq[c.Type],
				Status: StatusPending, CreatedAt: now, NextAttempt: now, Attempts: []Attempt{}, Body: body}
			if err := putDelivery(tx, del, time.Time{}); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("webhook: enqueue %s: %w", c.Type, err)
	}
	d.m.enqueue(n)
	if n > 0 {
		d.wake()
	}
	return nil
}

// sourceData is the data of a native source event.
type sourceData struct {
	Source string `json:"source"`
	// State is stalled or recovered.
	State string `json:"state"`
	// StallID is the same in a stall's two events.
	StallID           string    `json:"stall_id"`
	Since             time.Time `json:"since"`
	At                time.Time `json:"at"`
	LastEventTime     time.Time `json:"last_event_time,omitzero"`
	LastError         string    `json:"last_error,omitempty"`
	StallAfterSeconds float64   `json:"stall_after_seconds"`
}

func sourceDataOf(c *SourceChange) sourceData {
	state := "stalled"
	if c.Type == EventSourceRecovered {
		state = "recovered"
	}
	return sourceData{Source: c.Source, State: state, StallID: c.stallID(), Since: c.Since.UTC(), At: c.At.UTC(),
		LastEventTime: c.LastEventTime.UTC(), LastError: c.LastError, StallAfterSeconds: c.StallAfter.Seconds()}
}

// sourceDetails says what a source change means for the reader.
func sourceDetails(c *SourceChange) string {
	const layout = "2006-01-02 15:04:05 MST"
	var s string
	if c.Type == EventSourceRecovered {
		s = fmt.Sprintf("Posts arrive again from %s after %s without any (from %s to %s): outages are detected again.",
			c.Source, c.At.Sub(c.Since).Round(time.Second), c.Since.UTC().Format(layout), c.At.UTC().Format(layout))
	} else {
		s = fmt.Sprintf("No post has arrived from %s since %s: outages cannot be detected until it recovers.",
			c.Source, c.Since.UTC().Format(layout))
	}
	if !c.LastEventTime.IsZero() {
		s += " Last post's event time " + c.LastEventTime.UTC().Format(layout) + "."
	}
	if c.LastError != "" {
		s += " Last error: " + clip(c.LastError, 300) + "."
	}
	return s
}
