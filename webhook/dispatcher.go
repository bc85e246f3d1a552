package webhook

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/downsignal/downsignal/detect"
	"github.com/downsignal/downsignal/internal/boltkv"
)

var (
	bucketEndpoints  = []byte("endpoints")
	bucketDeliveries = []byte("deliveries")
	bucketOutbox     = []byte("outbox")
	bucketMeta       = []byte("meta")
	keyCursor        = []byte("cursor")
)

// Delivery is one message for one endpoint, with its attempts. Its ID is
// the webhook-id header: the same on every retry and redelivery.
type Delivery struct {
	ID         string `json:"id"`
	EndpointID string `json:"endpoint_id"`
	Type       string `json:"type"`
	EventSeq   uint64 `json:"event_seq,omitempty"`
	IncidentID string `json:"incident_id,omitempty"`
	// Subject is what the message is about: the incident's id, or one
	// stall of the post source. Deliveries of one endpoint and subject
	// leave in Seq order (see order.go); test sends have none.
	Subject string `json:"subject,omitempty"`
	// Seq is the change's number within its subject: the incident's seq,
	// 1 for a stall and 2 for its recovery.
	Seq int `json:"seq,omitempty"`
	// Shared deliveries go to a configured endpoint, which every serve
	// replica has: only the replica that owns the incident sends them,
	// and their settling is shared with the others (share.go).
	Shared    bool      `json:"shared,omitempty"`
	Status    string    `json:"status"` // pending, delivered, failed, superseded
	CreatedAt time.Time `json:"created_at"`
	// NextAttempt is when a pending delivery is due.
	NextAttempt time.Time `json:"next_attempt,omitzero"`
	// Round is the index in the schedule of the next attempt; a
	// redelivery starts it again.
	Round    int             `json:"round"`
	Attempts []Attempt       `json:"attempts"`
	Error    string          `json:"error,omitempty"`
	Body     json.RawMessage `json:"body"`
}

// Attempt is one HTTP request of a delivery.
type Attempt struct {
	At         time.Time `json:"at"`
	StatusCode int       `json:"status_code,omitempty"`
	Error      string    `json:"error,omitempty"`
	DurationMS int64     `json:"duration_ms"`
}

// Delivery states.
const (
	StatusPending   = "pending"
	StatusDelivered = "delivered"
	StatusFailed    = "failed"
)

const maxAttemptsKept = 30

// Dispatcher owns the endpoints and the outbox and delivers what is due.
type Dispatcher struct {
	o      Options
	db     *bolt.DB
	log    *slog.Logger
	m      *Metrics
	client *http.Client

	mu       sync.Mutex
	inflight map[string]bool // endpoint ids with a request in flight
	breakers map[string]*breaker
	cursor   cursor
	kick     chan struct{}
	settled  chan struct{} // a shared delivery settled (share.go)
}

type cursor struct {
	Source string `json:"source"`
	Seq    uint64 `json:"seq"`
}

type breaker struct {
	fails     int
	cooldown  time.Duration
	openUntil time.Time
}

// Open opens (or creates) the store. It starts nothing: Run delivers.
func Open(o Options) (*Dispatcher, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	db, err := bolt.Open(o.Path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("webhook: open %s: %w", o.Path, err)
	}
	d := &Dispatcher{o: o, db: db, log: o.Logger, m: o.Metrics, inflight: map[string]bool{}, breakers: map[string]*breaker{},
		kick: make(chan struct{}, 1), settled: make(chan struct{}, 1)}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketEndpoints, bucketDeliveries, bucketOutbox, bucketMeta, bucketSent, bucketSettles} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		if err := rebuildQueues(tx); err != nil {
			return err
		}
		_, err := boltkv.GetJSON(tx.Bucket(bucketMeta), keyCursor, &d.cursor)
		return err
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("webhook: init store: %w", err)
	}
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Control: o.Guard.Control}
	d.client = &http.Client{
		Timeout: o.Timeout,
		Transport: &http.Transport{
			Proxy:                 nil, // never a proxy from the environment: it would bypass the guard
			DialContext:           dialer.DialContext,
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: o.Timeout,
			MaxIdleConnsPerHost:   2,
			IdleConnTimeout:       90 * time.Second,
		},
		// A redirect is an answer, not an instruction: following it could
		// reach an address the guard checked nowhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return d, nil
}

// Close closes the store.
func (d *Dispatcher) Close() error { return d.db.Close() }

func (d *Dispatcher) wake() {
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// Run fans new events out to the endpoints and delivers what is due until
// ctx ends. Requests in flight at shutdown are abandoned without being
// recorded, so they are sent again (same webhook-id) after a restart.
func (d *Dispatcher) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	sem := make(chan struct{}, d.o.Workers)
	lastPrune := time.Time{}
	for {
		var notify <-chan struct{}
		if d.o.Source != nil {
			notify = d.o.Source.Notify()
			if err := d.fanOut(); err != nil {
				d.log.Error("fan out events", "err", err)
			}
		}
		next, err := d.dispatchDue(ctx, sem, &wg)
		if err != nil {
			d.log.Error("read outbox", "err", err)
		}
		if now := d.o.Now(); now.Sub(lastPrune) > time.Hour {
			lastPrune = now
			if err := d.prune(now); err != nil {
				d.log.Warn("prune delivery log", "err", err)
			}
		}
		wait := d.o.Poll
		if !next.IsZero() {
			wait = min(wait, max(time.Until(next), 10*time.Millisecond))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-notify:
		case <-d.kick:
		case <-t.C:
		}
		t.Stop()
	}
}

// deliveryID is the webhook-id of an incident change for an endpoint. It
// derives from the incident's id and change number (both reproducible
// from the stream), so fanning out the same change again - after a crash,
// from a rebuilt detector store, or from another replica with the same
// configured endpoint - yields the same id and receivers can drop copies.
func deliveryID(endpointID string, ev *detect.Event) string {
	h := sha256.Sum256([]byte(endpointID + "\x00" + ev.Incident.ID + "\x00" + strconv.Itoa(ev.Incident.Seq) + "\x00" + ev.Type))
	return "msg_" + hex.EncodeToString(h[:12])
}

func outboxKey(t time.Time, id string) []byte {
	k := binary.BigEndian.AppendUint64(nil, uint64(t.UnixNano()))
	return append(k, id...)
}

// fanOut turns new events into deliveries, in one transaction with the
// cursor.
func (d *Dispatcher) fanOut() error {
	src := d.o.Source
	d.mu.Lock()
	cur := d.cursor
	d.mu.Unlock()
	if inst := src.InstanceID(); cur.Source != inst {
		// A new detector store numbers its events from 1 again.
		cur = cursor{Source: inst}
	}
	for {
		evs, err := src.EventsAfter(cur.Seq, 200)
		if err != nil || len(evs) == 0 {
			if err == nil && cur != d.cursor {
				err = d.saveCursor(cur)
			}
			return err
		}
		now := d.o.Now().UTC()
		n := 0
		err = d.db.Update(func(tx *bolt.Tx) error {
			eps, err := loadEndpoints(tx)
			if err != nil {
				return err
			}
			for _, ev := range evs {
				cur.Seq = ev.Seq
				if ev.Silenced || (d.o.MaxAge > 0 && now.Sub(ev.Time) > d.o.MaxAge) {
					continue
				}
				for _, ep := range eps {
					if !ep.Enabled || !ep.takes(ev.Type) || !ep.matches(&ev.Incident) {
						continue
					}
					id := deliveryID(ep.ID, &ev)
					if tx.Bucket(bucketDeliveries).Get([]byte(id)) != nil {
						continue
					}
					in := ev.Incident
					body, err := Render(ep.Format, ep, Message{Type: ev.Type, Time: ev.Time, Incident: &in}, d.o.ExternalURL)
					if err != nil {
						return err
					}
					del := &Delivery{ID: id, EndpointID: ep.ID, Type: ev.Type, EventSeq: ev.Seq, IncidentID: in.ID,
						Subject: in.ID, Seq: in.Seq, Shared: d.shares(ep), Status: StatusPending, CreatedAt: now, NextAttempt: now, Attempts: []Attempt{}, Body: body}
					if err := putDelivery(tx, del, time.Time{}); err != nil {
						return err
					}
					n++
				}
			}
			return boltkv.PutJSON(tx.Bucket(bucketMeta), keyCursor, cur)
		})
		if err != nil {
			return fmt.Errorf("webhook: fan out: %w", err)
		}
		d.mu.Lock()
		d.cursor = cur
		d.mu.Unlock()
		d.m.enqueue(n)
	}
}

func (d *Dispatcher) saveCursor(cur cursor) error {
	if err := d.db.Update(func(tx *bolt.Tx) error { return boltkv.PutJSON(tx.Bucket(bucketMeta), keyCursor, cur) }); err != nil {
		return err
	}
	d.mu.Lock()
	d.cursor = cur
	d.mu.Unlock()
	return nil
}

// putDelivery writes a delivery and moves its outbox entry: prev is the
// due time it was filed under (zero for none). A shared delivery that
// settles here is queued to be shared with the other replicas.
func putDelivery(tx *bolt.Tx, del *Delivery, prev time.Time) error {
	if err := storeDelivery(tx, del, prev); err != nil {
		return err
	}
	if del.Shared && del.Status != StatusPending {
		return queueSettle(tx, del)
	}
	return nil
}

// storeDelivery is putDelivery without the sharing.
func storeDelivery(tx *bolt.Tx, del *Delivery, prev time.Time) error {
	ob := tx.Bucket(bucketOutbox)
	if !prev.IsZero() {
		if err := ob.Delete(outboxKey(prev, del.ID)); err != nil {
			return err
		}
	}
	if del.Status == StatusPending {
		if err := ob.Put(outboxKey(del.NextAttempt, del.ID), nil); err != nil {
			return err
		}
	} else {
		del.NextAttempt = time.Time{}
	}
	if err := fileInQueue(tx, del); err != nil {
		return err
	}
	return boltkv.PutJSON(tx.Bucket(bucketDeliveries), []byte(del.ID), del)
}

// getDelivery reads a delivery (nil when there is none).
func getDelivery(tx *bolt.Tx, id string) (*Delivery, error) {
	del := &Delivery{}
	if ok, err := boltkv.GetJSON(tx.Bucket(bucketDeliveries), []byte(id), del); err != nil {
		return nil, fmt.Errorf("delivery %s: %w", id, err)
	} else if !ok {
		return nil, nil
	}
	return del, nil
}

// getEndpoint reads an endpoint (nil when there is none).
func getEndpoint(tx *bolt.Tx, id string) (*Endpoint, error) {
	ep := &Endpoint{}
	if ok, err := boltkv.GetJSON(tx.Bucket(bucketEndpoints), []byte(id), ep); err != nil {
		return nil, fmt.Errorf("endpoint %s: %w", id, err)
	} else if !ok {
		return nil, nil
	}
	return ep, nil
}

func putEndpoint(tx *bolt.Tx, ep *Endpoint) error {
	return boltkv.PutJSON(tx.Bucket(bucketEndpoints), []byte(ep.ID), ep)
}

func loadEndpoints(tx *bolt.Tx) ([]*Endpoint, error) {
	var eps []*Endpoint
	err := boltkv.ForEachJSON(tx.Bucket(bucketEndpoints), "endpoint", func(_ []byte, ep *Endpoint) error {
		eps = append(eps, ep)
		return nil
	})
	return eps, err
}

// dueDelivery is an outbox entry whose time has come.
type dueDelivery struct {
	id, endpoint string
	at           time.Time // the due time it is filed under
}

// dispatchDue starts an attempt for each due delivery whose endpoint has
// nothing in flight, and returns when the next one is due.
func (d *Dispatcher) dispatchDue(ctx context.Context, sem chan struct{}, wg *sync.WaitGroup) (time.Time, error) {
	list, next, err := d.listDue(d.o.Now())
	if err != nil {
		return next, err
	}
	for _, it := range list {
		d.mu.Lock()
		busy := d.inflight[it.endpoint]
		if !busy {
			d.inflight[it.endpoint] = true
		}
		d.mu.Unlock()
		if busy {
			continue // one request per endpoint at a time, in due order
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			d.mu.Lock()
			delete(d.inflight, it.endpoint)
			d.mu.Unlock()
			return next, nil
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				<-sem
				d.mu.Lock()
				delete(d.inflight, it.endpoint)
				d.mu.Unlock()
				d.wake() // the endpoint's next delivery may be due
			}()
			if err := d.attempt(ctx, it.id, it.at); err != nil {
				d.log.Error("delivery attempt", "delivery", it.id, "err", err)
			}
		}()
	}
	return next, nil
}

// listDue reads the outbox in due order: up to 1000 deliveries due at now
// that head their queue (the rest wait for their turn) and the time of the
// first one due later. It sets the pending gauge to the outbox's size.
func (d *Dispatcher) listDue(now time.Time) ([]dueDelivery, time.Time, error) {
	var list []dueDelivery
	var next time.Time
	pending := 0
	err := d.db.View(func(tx *bolt.Tx) error {
		unshared, err := unsharedQueues(tx)
		if err != nil {
			return err
		}
		c := tx.Bucket(bucketOutbox).Cursor()
		delB := tx.Bucket(bucketDeliveries)
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			pending++
			if len(k) < 8 {
				continue
			}
			at := time.Unix(0, int64(binary.BigEndian.Uint64(k)))
			if at.After(now) {
				if next.IsZero() {
					next = at
				}
				continue
			}
			if len(list) >= 1000 {
				continue
			}
			id := string(k[8:])
			v := delB.Get([]byte(id))
			if v == nil {
				continue
			}
			var hdr struct {
				EndpointID string `json:"endpoint_id"`
				Subject    string `json:"subject"`
				IncidentID string `json:"incident_id"`
				Shared     bool   `json:"shared"`
			}
			if err := json.Unmarshal(v, &hdr); err != nil || !queueHead(tx, hdr.EndpointID, hdr.Subject, id) ||
				(hdr.Shared && (!d.owns(hdr.IncidentID) || unshared[string(queuePrefix(hdr.EndpointID, hdr.Subject))])) {
				continue
			}
			list = append(list, dueDelivery{id, hdr.EndpointID, at})
		}
		return nil
	})
	d.m.setPending(pending)
	return list, next, err
}

// attempt sends one delivery once and records the outcome.
func (d *Dispatcher) attempt(ctx context.Context, id string, filedAt time.Time) error {
	var del *Delivery
	var ep *Endpoint
	head, moot := false, ""
	if err := d.db.View(func(tx *bolt.Tx) error {
		var err error
		if del, err = getDelivery(tx, id); err != nil || del == nil {
			return err
		}
		if head = queueHead(tx, del.EndpointID, del.Subject, del.ID); head {
			if moot, err = supersedeReason(tx, del); err != nil {
				return err
			}
		}
		ep, err = getEndpoint(tx, del.EndpointID)
		return err
	}); err != nil {
		return err
	}
	if del == nil || del.Status != StatusPending || !del.NextAttempt.Equal(filedAt) || !head {
		d.log.Debug("delivery changed since it was listed", "delivery", id)
		return nil
	}
	if del.Shared && !d.owns(del.IncidentID) {
		d.log.Debug("delivery's incident moved to another replica", "delivery", id)
		return nil
	}
	if moot != "" {
		_, err := d.supersede(id, filedAt)
		return err
	}
	now := d.o.Now()
	switch {
	case ep == nil:
		return d.finish(del, filedAt, StatusFailed, "endpoint deleted", nil)
	case !ep.Enabled:
		return d.finish(del, filedAt, StatusFailed, "endpoint disabled: "+ep.DisabledReason, nil)
	}
	d.mu.Lock()
	br := d.breakers[ep.ID]
	d.mu.Unlock()
	if br != nil && now.Before(br.openUntil) {
		// Breaker open: wait without spending an attempt.
		return d.db.Update(func(tx *bolt.Tx) error {
			del.NextAttempt = br.openUntil
			return putDelivery(tx, del, filedAt)
		})
	}

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(del.Body))
	if err != nil {
		return d.finish(del, filedAt, StatusFailed, "bad url: "+err.Error(), nil)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "downsignal-webhook/1")
	req.Header.Set("webhook-id", del.ID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	req.Header.Set("webhook-signature", signature(ep.activeSecrets(now), del.ID, now, del.Body))
	start := time.Now()
	d.log.Debug("webhook attempt", "delivery", del.ID, "endpoint", ep.ID, "round", del.Round)
	res, err := d.client.Do(req)
	dur := time.Since(start)
	if ctx.Err() != nil {
		if res != nil {
			res.Body.Close()
		}
		return nil // shutting down: leave it pending for the next run
	}
	at := Attempt{At: now.UTC(), DurationMS: dur.Milliseconds()}
	var retryAfter time.Duration
	if err != nil {
		at.Error = clip(err.Error(), 300)
	} else {
		_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
		res.Body.Close()
		at.StatusCode = res.StatusCode
		retryAfter = parseRetryAfter(res.Header.Get("Retry-After"), now)
	}
	return d.record(del, ep, filedAt, at, retryAfter, dur)
}

// record applies one attempt's outcome to the delivery, the endpoint and
// the breaker.
func (d *Dispatcher) record(del *Delivery, ep *Endpoint, filedAt time.Time, at Attempt, retryAfter, dur time.Duration) error {
	now := at.At
	ok := at.Error == "" && at.StatusCode >= 200 && at.StatusCode < 300
	gone := at.StatusCode == http.StatusGone
	outcome, disable := d.applyAttempt(del, at, ok, gone, retryAfter)
	d.m.attempt(ep.Format, outcome, dur)
	d.updateBreaker(ep.ID, ok, gone, now)
	err := d.db.Update(func(tx *bolt.Tx) error {
		var err error
		if disable, err = d.updateEndpoint(tx, ep.ID, now, ok, disable); err != nil {
			return err
		}
		if ok {
			if err := markSent(tx, del, now); err != nil {
				return err
			}
		}
		return putDelivery(tx, del, filedAt)
	})
	if err != nil {
		return fmt.Errorf("record attempt: %w", err)
	}
	d.announce(del)
	if disable != "" {
		reason := "failing"
		if gone {
			reason = "gone"
		}
		d.m.disable(reason)
		d.log.Warn("webhook endpoint disabled", "endpoint", ep.ID, "reason", disable)
	}
	return nil
}

// applyAttempt adds the attempt to the delivery and settles it: delivered,
// failed (410 Gone, or the schedule is spent) or due again. It returns the
// outcome for the metrics and, on 410 Gone, why the endpoint is disabled.
func (d *Dispatcher) applyAttempt(del *Delivery, at Attempt, ok, gone bool, retryAfter time.Duration) (outcome, disable string) {
	now := at.At
	del.Attempts = append(del.Attempts, at)
	if n := len(del.Attempts); n > maxAttemptsKept {
		del.Attempts = slices.Delete(del.Attempts, 0, n-maxAttemptsKept)
	}
	switch {
	case ok:
		outcome = "success"
		del.Status, del.Error = StatusDelivered, ""
	case gone:
		outcome = "gone"
		del.Status, del.Error = StatusFailed, "receiver answered 410 Gone: endpoint disabled"
		disable = "receiver answered 410 Gone"
	default:
		del.Round++
		del.Error = describe(at)
		if del.Round >= len(d.o.Schedule) {
			outcome = "failed"
			del.Status = StatusFailed
			del.Error = fmt.Sprintf("gave up after %d attempts: %s", del.Round, del.Error)
		} else {
			outcome = "retry"
			next := now.Add(d.jitter(d.o.Schedule[del.Round]))
			if retryAfter > 0 {
				next = maxTime(next, now.Add(min(retryAfter, d.o.MaxRetryAfter)))
			}
			del.NextAttempt = next
		}
	}
	return outcome, disable
}

// updateBreaker closes the endpoint's breaker on a success and counts a
// failure (410 Gone aside) towards opening it, for a cooldown that
// doubles each time it opens again, up to an hour.
func (d *Dispatcher) updateBreaker(endpointID string, ok, gone bool, now time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	br := d.breakers[endpointID]
	if br == nil {
		br = &breaker{}
		d.breakers[endpointID] = br
	}
	if ok {
		*br = breaker{}
	} else if !gone {
		br.fails++
		if br.fails >= d.o.BreakerFailures {
			if br.cooldown == 0 {
				br.cooldown = d.o.BreakerCooldown
			} else {
				br.cooldown = min(2*br.cooldown, time.Hour)
			}
			br.openUntil = now.Add(br.cooldown)
			d.m.breakerOpened()
			d.log.Warn("webhook endpoint failing: circuit breaker open", "endpoint", endpointID, "failures", br.fails, "until", br.openUntil)
		}
	}
}

// updateEndpoint keeps the stored endpoint's failing streak and disables
// it for disable (410 Gone) or after DisableAfter of failures. It returns
// the reason the endpoint is disabled for, "" for none, which is disable
// unchanged when the endpoint is gone.
func (d *Dispatcher) updateEndpoint(tx *bolt.Tx, id string, now time.Time, ok bool, disable string) (string, error) {
	cur, err := getEndpoint(tx, id)
	if err != nil || cur == nil {
		return disable, err
	}
	changed := false
	switch {
	case ok && !cur.FailingSince.IsZero():
		cur.FailingSince, changed = time.Time{}, true
	case !ok && cur.FailingSince.IsZero():
		cur.FailingSince, changed = now, true
	}
	if disable == "" && !ok && !cur.FailingSince.IsZero() && now.Sub(cur.FailingSince) >= d.o.DisableAfter {
		disable = fmt.Sprintf("failing for %s", now.Sub(cur.FailingSince).Round(time.Hour))
	}
	if disable != "" && cur.Enabled {
		cur.Enabled, cur.DisabledReason, cur.DisabledAt, changed = false, disable, now, true
		cur.Events = append(cur.Events, EndpointEvent{Type: "endpoint.disabled", At: now, Reason: disable})
		if n := len(cur.Events); n > 20 {
			cur.Events = slices.Delete(cur.Events, 0, n-20)
		}
	}
	if changed {
		cur.UpdatedAt = now
		if err := putEndpoint(tx, cur); err != nil {
			return disable, err
		}
	}
	return disable, nil
}

func (d *Dispatcher) finish(del *Delivery, filedAt time.Time, status, msg string, at *Attempt) error {
	del.Status, del.Error = status, msg
	if at != nil {
		del.Attempts = append(del.Attempts, *at)
	}
	if err := d.db.Update(func(tx *bolt.Tx) error { return putDelivery(tx, del, filedAt) }); err != nil {
		return err
	}
	d.announce(del)
	return nil
}

func describe(at Attempt) string {
	if at.Error != "" {
		return at.Error
	}
	s := "receiver answered " + strconv.Itoa(at.StatusCode)
	if at.StatusCode >= 300 && at.StatusCode < 400 {
		s += " (redirects are not followed)"
	}
	return s
}

func (d *Dispatcher) jitter(x time.Duration) time.Duration {
	if x <= 0 {
		return 0
	}
	f := 1 + d.o.Jitter*(2*rand.Float64()-1)
	return time.Duration(float64(x) * f)
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// parseRetryAfter reads seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		return time.Duration(min(n, 7*24*3600)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// prune drops finished deliveries older than the retention, and the marks
// of what was sent about subjects quiet for as long.
func (d *Dispatcher) prune(now time.Time) error {
	cut := now.Add(-d.o.Retention)
	return d.db.Update(func(tx *bolt.Tx) error {
		sc := tx.Bucket(bucketSent).Cursor()
		for k, v := sc.First(); k != nil; k, v = sc.Next() {
			var m sentMark
			if json.Unmarshal(v, &m) == nil && m.At.Before(cut) {
				if err := sc.Delete(); err != nil {
					return err
				}
			}
		}
		c := tx.Bucket(bucketDeliveries).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			var h struct {
				Status    string    `json:"status"`
				CreatedAt time.Time `json:"created_at"`
			}
			if json.Unmarshal(v, &h) == nil && h.Status != StatusPending && h.CreatedAt.Before(cut) {
				if err := c.Delete(); err != nil {
					return err
				}
			}
		}
		return nil
	})
}
