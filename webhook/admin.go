package webhook

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/downsignal/downsignal/internal/boltkv"
)

// Create registers an endpoint after checking its URL against the guard.
func (d *Dispatcher) Create(ctx context.Context, s Spec) (Endpoint, error) {
	now := d.o.Now().UTC()
	ep := &Endpoint{ID: newID("ep_"), Enabled: true, Origin: "api", CreatedAt: now, UpdatedAt: now}
	if err := s.apply(ep, true); err != nil {
		return Endpoint{}, err
	}
	if err := d.o.Guard.CheckURL(ctx, ep.URL); err != nil {
		return Endpoint{}, err
	}
	if err := d.db.Update(func(tx *bolt.Tx) error { return putEndpoint(tx, ep) }); err != nil {
		return Endpoint{}, fmt.Errorf("webhook: store endpoint: %w", err)
	}
	return *ep, nil
}

// Endpoints lists the endpoints by creation time.
func (d *Dispatcher) Endpoints() ([]Endpoint, error) {
	var out []Endpoint
	err := d.db.View(func(tx *bolt.Tx) error {
		eps, err := loadEndpoints(tx)
		for _, ep := range eps {
			out = append(out, *ep)
		}
		return err
	})
	slices.SortFunc(out, func(a, b Endpoint) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, err
}

// Endpoint returns one endpoint.
func (d *Dispatcher) Endpoint(id string) (Endpoint, error) {
	var ep *Endpoint
	err := d.db.View(func(tx *bolt.Tx) error {
		var err error
		ep, err = getEndpoint(tx, id)
		return err
	})
	if err != nil {
		return Endpoint{}, err
	}
	if ep == nil {
		return Endpoint{}, ErrNotFound
	}
	return *ep, nil
}

// modify runs fn on a stored endpoint and saves it.
func (d *Dispatcher) modify(id string, fn func(ep *Endpoint) error) (Endpoint, error) {
	var out Endpoint
	err := d.db.Update(func(tx *bolt.Tx) error {
		ep, err := getEndpoint(tx, id)
		if err != nil {
			return err
		}
		if ep == nil {
			return ErrNotFound
		}
		if err := fn(ep); err != nil {
			return err
		}
		ep.UpdatedAt = d.o.Now().UTC()
		out = *ep
		return putEndpoint(tx, ep)
	})
	return out, err
}

// Update changes an endpoint; a new URL is checked against the guard.
func (d *Dispatcher) Update(ctx context.Context, id string, s Spec) (Endpoint, error) {
	if s.URL != nil {
		probe := &Endpoint{}
		if err := (&Spec{URL: s.URL}).apply(probe, false); err != nil {
			return Endpoint{}, err
		}
		if err := d.o.Guard.CheckURL(ctx, probe.URL); err != nil {
			return Endpoint{}, err
		}
	}
	ep, err := d.modify(id, func(ep *Endpoint) error { return s.apply(ep, false) })
	if err == nil && ep.Enabled {
		d.mu.Lock()
		delete(d.breakers, id)
		d.mu.Unlock()
	}
	return ep, err
}

// Delete removes an endpoint; its pending deliveries fail when due.
func (d *Dispatcher) Delete(id string) error {
	return d.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketEndpoints)
		if b.Get([]byte(id)) == nil {
			return ErrNotFound
		}
		return b.Delete([]byte(id))
	})
}

// MaxGrace is the longest time an old secret keeps signing.
const MaxGrace = 7 * 24 * time.Hour

// Rotate makes a new current secret (newSecret, or a generated one); the
// old one keeps signing beside it for grace so receivers can switch.
func (d *Dispatcher) Rotate(id, newSecret string, grace time.Duration) (Endpoint, error) {
	if grace < 0 || grace > MaxGrace {
		return Endpoint{}, fmt.Errorf("%w: grace must be between 0 and %s", ErrInvalid, MaxGrace)
	}
	if newSecret == "" {
		newSecret = NewSecret()
	} else if _, err := ParseSecret(newSecret); err != nil {
		return Endpoint{}, err
	}
	now := d.o.Now().UTC()
	return d.modify(id, func(ep *Endpoint) error {
		var keep []Secret
		for _, s := range ep.Secrets {
			if s.ExpiresAt.IsZero() {
				s.ExpiresAt = now.Add(grace)
			}
			if now.Before(s.ExpiresAt) {
				keep = append(keep, s)
			}
		}
		ep.Secrets = append([]Secret{{Key: newSecret}}, keep...)
		return nil
	})
}

// SendTest queues an endpoint.test message for the endpoint now.
func (d *Dispatcher) SendTest(id string) (Delivery, error) {
	now := d.o.Now().UTC()
	var del *Delivery
	err := d.db.Update(func(tx *bolt.Tx) error {
		ep, err := getEndpoint(tx, id)
		if err != nil {
			return err
		}
		if ep == nil {
			return ErrNotFound
		}
		body, err := Render(ep.Format, ep, Message{Type: TypeTest, Time: now}, d.o.ExternalURL)
		if err != nil {
			return err
		}
		del = &Delivery{ID: newID("msg_"), EndpointID: id, Type: TypeTest, Status: StatusPending, CreatedAt: now,
			NextAttempt: now, Attempts: []Attempt{}, Body: body}
		return putDelivery(tx, del, time.Time{})
	})
	if err != nil {
		return Delivery{}, err
	}
	d.m.enqueue(1)
	d.wake()
	return *del, nil
}

// Deliveries lists an endpoint's deliveries, newest first; status filters
// when not empty.
func (d *Dispatcher) Deliveries(endpointID, status string, limit int) ([]Delivery, error) {
	if limit <= 0 {
		limit = 50
	}
	var out []Delivery
	err := d.db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketEndpoints).Get([]byte(endpointID)) == nil {
			return ErrNotFound
		}
		return boltkv.ForEachJSON(tx.Bucket(bucketDeliveries), "delivery", func(_ []byte, del *Delivery) error {
			if del.EndpointID == endpointID && (status == "" || del.Status == status) {
				out = append(out, *del)
			}
			return nil
		})
	})
	slices.SortFunc(out, func(a, b Delivery) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out, err
}

// Redeliver sends one delivery again now, with the same webhook-id.
func (d *Dispatcher) Redeliver(endpointID, deliveryID string) (Delivery, error) {
	var out Delivery
	err := d.db.Update(func(tx *bolt.Tx) error {
		del, err := getDelivery(tx, deliveryID)
		if err != nil {
			return err
		}
		if del == nil || del.EndpointID != endpointID {
			return ErrNotFound
		}
		return d.requeue(tx, del, &out)
	})
	if err == nil {
		d.wake()
	}
	return out, err
}

func (d *Dispatcher) requeue(tx *bolt.Tx, del *Delivery, out *Delivery) error {
	prev := time.Time{}
	if del.Status == StatusPending {
		prev = del.NextAttempt
	}
	del.Status, del.Error, del.Round, del.NextAttempt = StatusPending, "", 0, d.o.Now().UTC()
	if out != nil {
		*out = *del
	}
	return putDelivery(tx, del, prev)
}

// ReplayFailed queues again every failed delivery of the endpoint created
// at or after since, and returns how many.
func (d *Dispatcher) ReplayFailed(endpointID string, since time.Time) (int, error) {
	n := 0
	err := d.db.Update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketEndpoints).Get([]byte(endpointID)) == nil {
			return ErrNotFound
		}
		var failed []*Delivery
		err := boltkv.ForEachJSON(tx.Bucket(bucketDeliveries), "delivery", func(_ []byte, del *Delivery) error {
			if del.EndpointID == endpointID && del.Status == StatusFailed && !del.CreatedAt.Before(since) {
				failed = append(failed, del)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, del := range failed {
			if err := d.requeue(tx, del, nil); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err == nil && n > 0 {
		d.wake()
	}
	return n, err
}

// ConfigEndpoint is an endpoint declared in a configuration file or by a
// flag. Its id derives from its name, so a restart updates it in place.
type ConfigEndpoint struct {
	Name        string   `json:"name"`
	URL         string   `json:"url"`
	Format      string   `json:"format"`
	Secret      string   `json:"secret"`
	Services    []string `json:"services"`
	MinSeverity string   `json:"min_severity"`
	EventTypes  []string `json:"event_types"`
	RoutingKey  string   `json:"routing_key"`
	Description string   `json:"description"`
}

// ConfigID is the endpoint id of a configured endpoint.
func ConfigID(name string) string {
	h := sha256.Sum256([]byte(name))
	return "cfg_" + hex.EncodeToString(h[:8])
}

// Configure makes the configured endpoints exist as given, keeping their
// generated secrets across restarts, and removes configured endpoints no
// longer listed. Endpoints made through the API are left alone.
func (d *Dispatcher) Configure(ctx context.Context, cfg []ConfigEndpoint) error {
	seen := map[string]bool{}
	var eps []*Endpoint
	for _, c := range cfg {
		if c.Name == "" {
			return fmt.Errorf("%w: configured endpoint without a name", ErrInvalid)
		}
		id := ConfigID(c.Name)
		if seen[id] {
			return fmt.Errorf("%w: endpoint name %q given twice", ErrInvalid, c.Name)
		}
		seen[id] = true
		ep := &Endpoint{ID: id, Enabled: true, Origin: "config"}
		svcs := c.Services
		s := Spec{URL: &c.URL, Format: &c.Format, Description: &c.Description, Services: &svcs, MinSeverity: &c.MinSeverity, RoutingKey: &c.RoutingKey}
		if c.EventTypes != nil {
			s.EventTypes = &c.EventTypes
		}
		if c.Format == "" {
			s.Format = nil
		}
		if err := s.apply(ep, false); err != nil {
			return fmt.Errorf("endpoint %q: %w", c.Name, err)
		}
		if ep.URL == "" {
			return fmt.Errorf("endpoint %q: %w: url is required", c.Name, ErrInvalid)
		}
		if c.Secret != "" {
			if _, err := ParseSecret(c.Secret); err != nil {
				return fmt.Errorf("endpoint %q: %w", c.Name, err)
			}
			ep.Secrets = []Secret{{Key: c.Secret}}
		}
		if err := d.o.Guard.CheckURL(ctx, ep.URL); err != nil {
			return fmt.Errorf("endpoint %q: %w", c.Name, err)
		}
		eps = append(eps, ep)
	}
	now := d.o.Now().UTC()
	return d.db.Update(func(tx *bolt.Tx) error {
		for _, ep := range eps {
			old, err := getEndpoint(tx, ep.ID)
			if err != nil {
				return err
			}
			ep.CreatedAt, ep.UpdatedAt = now, now
			if old != nil {
				ep.CreatedAt = old.CreatedAt
				ep.Enabled, ep.DisabledReason, ep.DisabledAt, ep.FailingSince = old.Enabled, old.DisabledReason, old.DisabledAt, old.FailingSince
				if len(ep.Secrets) == 0 {
					ep.Secrets = old.Secrets
				} else if old.CurrentSecret() == ep.Secrets[0].Key {
					ep.Secrets = old.Secrets
				}
			}
			if len(ep.Secrets) == 0 {
				ep.Secrets = []Secret{{Key: NewSecret()}}
			}
			if err := putEndpoint(tx, ep); err != nil {
				return err
			}
		}
		all, err := loadEndpoints(tx)
		if err != nil {
			return err
		}
		for _, ep := range all {
			if ep.Origin == "config" && !seen[ep.ID] {
				if err := tx.Bucket(bucketEndpoints).Delete([]byte(ep.ID)); err != nil {
					return err
				}
			}
		}
		return nil
	})
}
