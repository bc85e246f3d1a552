package webhook

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/downsignal/downsignal/detect"
	"github.com/downsignal/downsignal/internal/boltkv"
)

// Order. Deliveries about one subject (an incident, or one stall of the
// post source) for one endpoint form a queue ordered by the subject's
// change number (Delivery.Seq: the incident's seq; 1 for a stall, 2 for its
// recovery). Only the queue's head may be attempted; a later change waits
// behind a head that is still being retried. When its turn comes a head is
// superseded, never sent, when
//
//   - a change of the subject with a higher Seq was already delivered to the
//     endpoint (so nothing older ever follows a resolve, not even through a
//     redelivery or a replay of failures), or
//   - it is an incident.updated and a later incident.updated or
//     incident.resolved is queued behind it: that one carries the whole
//     state, so the older update is moot.
//
// A firing, a resolve and the source events are never moot: a receiver must
// see the alert open before it sees it close.
//
// The queues live in bucket queues (key endpoint \x00 subject \x00 seq
// (8 bytes) id, value the event type) beside the outbox and change in the
// same transactions as the deliveries, so a crash leaves them consistent;
// Open rebuilds them from the outbox anyway. Bucket sent keeps per endpoint
// and subject the highest Seq delivered.

var (
	bucketQueues = []byte("queues")
	bucketSent   = []byte("sent")
)

// StatusSuperseded marks a delivery that was never sent because a later
// change of its subject made it moot (see the package's ordering rules).
const StatusSuperseded = "superseded"

// supersededBy lists, per event type, the later event types that make a
// queued change of that type moot.
var supersededBy = map[string][]string{
	detect.EventUpdated: {detect.EventUpdated, detect.EventResolved},
}

func queuePrefix(endpointID, subject string) []byte {
	k := make([]byte, 0, len(endpointID)+len(subject)+2)
	k = append(k, endpointID...)
	k = append(k, 0)
	k = append(k, subject...)
	return append(k, 0)
}

func queueKey(del *Delivery) []byte {
	k := queuePrefix(del.EndpointID, del.Subject)
	k = binary.BigEndian.AppendUint64(k, uint64(max(del.Seq, 0)))
	return append(k, del.ID...)
}

// fileInQueue keeps the delivery's queue entry in step with its status:
// present while it is pending, gone otherwise.
func fileInQueue(tx *bolt.Tx, del *Delivery) error {
	if del.Subject == "" {
		return nil
	}
	return boltkv.PutOrDelete(tx.Bucket(bucketQueues), queueKey(del), []byte(del.Type), del.Status == StatusPending)
}

// sentMark is the highest change of a subject delivered to an endpoint.
type sentMark struct {
	Seq int       `json:"seq"`
	At  time.Time `json:"at"`
}

// markSent records that del reached its endpoint.
func markSent(tx *bolt.Tx, del *Delivery, at time.Time) error {
	if del.Subject == "" {
		return nil
	}
	b := tx.Bucket(bucketSent)
	key := queuePrefix(del.EndpointID, del.Subject)
	var m sentMark
	if _, err := boltkv.GetJSON(b, key, &m); err != nil {
		return err
	}
	if del.Seq < m.Seq {
		return nil
	}
	return boltkv.PutJSON(b, key, sentMark{Seq: del.Seq, At: at})
}

// queueHead reports whether del is the head of its queue; a delivery
// without a subject always is.
func queueHead(tx *bolt.Tx, endpointID, subject, id string) bool {
	if subject == "" {
		return true
	}
	prefix := queuePrefix(endpointID, subject)
	k, _ := tx.Bucket(bucketQueues).Cursor().Seek(prefix)
	return k != nil && bytes.HasPrefix(k, prefix) && len(k) >= len(prefix)+8 && string(k[len(prefix)+8:]) == id
}

// supersedeReason says why the head del must not be sent, or "" when it
// must.
func supersedeReason(tx *bolt.Tx, del *Delivery) (string, error) {
	if del.Subject == "" {
		return "", nil
	}
	prefix := queuePrefix(del.EndpointID, del.Subject)
	var m sentMark
	if _, err := boltkv.GetJSON(tx.Bucket(bucketSent), prefix, &m); err != nil {
		return "", err
	}
	if m.Seq > del.Seq {
		return fmt.Sprintf("superseded: change %d of %s was delivered already", m.Seq, del.Subject), nil
	}
	moot := supersededBy[del.Type]
	if len(moot) == 0 {
		return "", nil
	}
	c := tx.Bucket(bucketQueues).Cursor()
	self := queueKey(del)
	for k, v := c.Seek(self); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if bytes.Equal(k, self) {
			continue
		}
		for _, t := range moot {
			if string(v) == t {
				return fmt.Sprintf("superseded: a later %s of %s is queued", t, del.Subject), nil
			}
		}
	}
	return "", nil
}

// supersede settles a head that is moot, in one transaction that checks
// again that it is still pending, filed at filedAt and the head. It
// reports whether it did.
func (d *Dispatcher) supersede(id string, filedAt time.Time) (bool, error) {
	var moot *Delivery
	err := d.db.Update(func(tx *bolt.Tx) error {
		del, err := getDelivery(tx, id)
		if err != nil || del == nil || del.Status != StatusPending || !del.NextAttempt.Equal(filedAt) ||
			!queueHead(tx, del.EndpointID, del.Subject, del.ID) {
			return err
		}
		why, err := supersedeReason(tx, del)
		if err != nil || why == "" {
			return err
		}
		del.Status, del.Error = StatusSuperseded, why
		if err := putDelivery(tx, del, filedAt); err != nil {
			return err
		}
		moot = del
		return nil
	})
	if err != nil || moot == nil {
		return false, err
	}
	d.announce(moot)
	d.m.superseded()
	d.log.Debug("delivery superseded", "delivery", id)
	return true, nil
}

// rebuildQueues makes the queues exactly the pending deliveries of the
// outbox. Deliveries stored before queues existed have no Subject: an
// incident's take its id, and, with no Seq, go before its newer ones.
func rebuildQueues(tx *bolt.Tx) error {
	if err := tx.DeleteBucket(bucketQueues); err != nil && err != bolt.ErrBucketNotFound {
		return err
	}
	if _, err := tx.CreateBucket(bucketQueues); err != nil {
		return err
	}
	delB := tx.Bucket(bucketDeliveries)
	return tx.Bucket(bucketOutbox).ForEach(func(k, _ []byte) error {
		if len(k) < 8 {
			return nil
		}
		v := delB.Get(k[8:])
		if v == nil {
			return nil
		}
		del := &Delivery{}
		if err := json.Unmarshal(v, del); err != nil {
			return fmt.Errorf("delivery %s: %w", k[8:], err)
		}
		if del.Subject == "" && del.IncidentID != "" {
			del.Subject = del.IncidentID
			if err := boltkv.PutJSON(delB, []byte(del.ID), del); err != nil {
				return err
			}
		}
		if del.Status != StatusPending {
			return nil
		}
		return fileInQueue(tx, del)
	})
}
