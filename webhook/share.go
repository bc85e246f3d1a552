package webhook

import (
	"context"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/downsignal/downsignal/internal/boltkv"
	"github.com/downsignal/downsignal/record"
)

// Sharing. With several serve replicas every replica's detector makes the
// same incident changes and every replica fans them out into its own
// outbox, under the same webhook-ids. An Owner (package notify's
// Notifier) says which replica sends an incident's deliveries to the
// configured endpoints, which all replicas have: the others keep theirs
// pending. When the owner settles one (delivered, failed, superseded), the
// settle is queued in bucket settles in the same transaction, and the
// Notifier produces it to downsignal.notify-state; every replica applies
// what it reads there (ApplySettles), so the replica that takes an
// incident over sends only what is still unsettled, with the same ids and
// in the same order. The next delivery of an endpoint and incident waits
// until the settle of the one before it is shared. Endpoints created through one replica's API exist in
// that replica alone; it sends their deliveries itself, unshared.

var bucketSettles = []byte("settles")

// SourceKey is the key Owner.Owns is asked for the source's own notices
// (source.stalled, source.recovered).
const SourceKey = "source"

// Owner decides which replica sends what.
type Owner interface {
	// Owns reports whether this replica sends the deliveries of key: an
	// incident id, or SourceKey.
	Owns(key string) bool
}

// OwnerFunc is an Owner as a function.
type OwnerFunc func(key string) bool

// Owns calls f.
func (f OwnerFunc) Owns(key string) bool { return f(key) }

// shares reports whether deliveries to ep are shared between replicas.
func (d *Dispatcher) shares(ep *Endpoint) bool {
	return d.o.Owner != nil && ep.Origin == "config"
}

// owns reports whether this replica sends what concerns incidentID (""
// for the source).
func (d *Dispatcher) owns(incidentID string) bool {
	if d.o.Owner == nil {
		return true
	}
	if incidentID == "" {
		incidentID = SourceKey
	}
	return d.o.Owner.Owns(incidentID)
}

// Kick makes the dispatcher look at its outbox now: the replica was just
// given incidents to send.
func (d *Dispatcher) Kick() { d.wake() }

// announce wakes whoever shares settles when del is one.
func (d *Dispatcher) announce(del *Delivery) {
	if !del.Shared || del.Status == StatusPending {
		return
	}
	select {
	case d.settled <- struct{}{}:
	default:
	}
}

// Settled signals that a shared delivery settled here since the last
// signal: Settles has something.
func (d *Dispatcher) Settled() <-chan struct{} { return d.settled }

func queueSettle(tx *bolt.Tx, del *Delivery) error {
	s := record.Settle{V: record.SettleVersion, DeliveryID: del.ID, EndpointID: del.EndpointID, Type: del.Type,
		Subject: del.Subject, Seq: del.Seq, Status: del.Status, At: time.Now().UTC()}
	if n := len(del.Attempts); n > 0 {
		s.At = del.Attempts[n-1].At
	}
	return boltkv.PutJSON(tx.Bucket(bucketSettles), []byte(del.ID), &s)
}

// unsharedQueues are the queues (endpoint and subject) with a settle not
// shared yet. Their next delivery waits for it: a replica taking the
// incident over must know of every change the endpoint got before the
// next one is sent, or it would send that change again after a later one.
func unsharedQueues(tx *bolt.Tx) (map[string]bool, error) {
	out := map[string]bool{}
	err := tx.Bucket(bucketSettles).ForEach(func(k, v []byte) error {
		s, err := record.DecodeSettle(v)
		if err != nil {
			return fmt.Errorf("webhook: queued settle %s: %w", k, err)
		}
		out[string(queuePrefix(s.EndpointID, s.Subject))] = true
		return nil
	})
	return out, err
}

// Settles returns up to n settles of shared deliveries not yet shared.
func (d *Dispatcher) Settles(n int) ([]record.Settle, error) {
	var out []record.Settle
	err := d.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketSettles).Cursor()
		for k, v := c.First(); k != nil && len(out) < n; k, v = c.Next() {
			s, err := record.DecodeSettle(v)
			if err != nil {
				return fmt.Errorf("webhook: queued settle %s: %w", k, err)
			}
			out = append(out, s)
		}
		return nil
	})
	return out, err
}

// SettlesShared drops settles the other replicas can now read.
func (d *Dispatcher) SettlesShared(ids []string) error {
	return d.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSettles)
		for _, id := range ids {
			if err := b.Delete([]byte(id)); err != nil {
				return err
			}
		}
		return nil
	})
}

// ApplySettles marks this replica's copies of deliveries another replica
// (or this one, before a restart) settled. A delivery this replica has
// not fanned out yet is recorded settled, so it never will be; a
// delivered one marks its change sent, so nothing older follows it. It is
// idempotent.
func (d *Dispatcher) ApplySettles(ss []record.Settle) error {
	applied := 0
	err := d.db.Update(func(tx *bolt.Tx) error {
		for i := range ss {
			ok, err := applySettle(tx, &ss[i])
			if err != nil {
				return err
			}
			if ok {
				applied++
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("webhook: apply settles: %w", err)
	}
	d.m.settlesApplied(applied)
	return nil
}

// applySettle applies one settle and reports whether it changed a pending
// or missing delivery.
func applySettle(tx *bolt.Tx, s *record.Settle) (bool, error) {
	del, err := getDelivery(tx, s.DeliveryID)
	if err != nil {
		return false, err
	}
	changed := false
	switch {
	case del == nil:
		del = &Delivery{ID: s.DeliveryID, EndpointID: s.EndpointID, Type: s.Type, Subject: s.Subject, Seq: s.Seq,
			Shared: true, Status: s.Status, CreatedAt: s.At, Attempts: []Attempt{}, Error: "settled by another replica"}
		if s.Type != EventSourceStalled && s.Type != EventSourceRecovered {
			del.IncidentID = s.Subject
		}
		changed = true
		if err := storeDelivery(tx, del, time.Time{}); err != nil {
			return false, err
		}
	case del.Status == StatusPending:
		prev := del.NextAttempt
		del.Status, del.Error, changed = s.Status, "settled by another replica", true
		if err := storeDelivery(tx, del, prev); err != nil {
			return false, err
		}
	}
	if s.Status == StatusDelivered {
		if err := markSent(tx, del, s.At); err != nil {
			return false, err
		}
	}
	return changed, nil
}

// WaitIdle waits until no request is in flight, or ctx ends: after this
// replica stopped owning incidents, a request that was already out
// settles before another replica may send the next.
func (d *Dispatcher) WaitIdle(ctx context.Context) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		d.mu.Lock()
		n := len(d.inflight)
		d.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
