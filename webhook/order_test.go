package webhook_test

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/downsignal/downsignal/detect"
	"github.com/downsignal/downsignal/webhook"
)

// change is incident change seq of incident id, of type typ.
func change(id string, seq int, typ string) detect.Event {
	ev := firing()
	ev.Type = typ
	ev.Incident.ID, ev.Incident.Seq = id, seq
	ev.Time = ev.Time.Add(time.Duration(seq) * time.Minute)
	if typ == detect.EventResolved {
		ev.Incident.State, ev.Incident.ResolvedAt = detect.Resolved, ev.Time
	}
	return ev
}

// lifecycle is an incident's changes: firing, updates, resolved.
func lifecycle(id string, updates int) []detect.Event {
	evs := []detect.Event{change(id, 1, detect.EventFiring)}
	for i := range updates {
		evs = append(evs, change(id, 2+i, detect.EventUpdated))
	}
	return append(evs, change(id, 2+updates, detect.EventResolved))
}

// orderViolations checks, for one endpoint, every request the receiver got
// against the delivery log: per incident, no attempt of a change after an
// attempt of a later one, and nothing after a resolve was accepted. ok
// tells which requests were answered 2xx. It returns one line per breach.
func orderViolations(reqs []request, ok []bool, dels []webhook.Delivery) []string {
	byID := map[string]webhook.Delivery{}
	for _, del := range dels {
		byID[del.ID] = del
	}
	var out []string
	last := map[string]int{}
	resolved := map[string]bool{}
	for i, r := range reqs {
		del, found := byID[r.header.Get("webhook-id")]
		if !found || del.Subject == "" {
			continue
		}
		switch {
		case resolved[del.Subject]:
			out = append(out, fmt.Sprintf("%s: %s (change %d) sent after the resolve was accepted", del.Subject, del.Type, del.Seq))
		case del.Seq < last[del.Subject]:
			out = append(out, fmt.Sprintf("%s: %s (change %d) sent after change %d", del.Subject, del.Type, del.Seq, last[del.Subject]))
		}
		last[del.Subject] = max(last[del.Subject], del.Seq)
		if ok[i] && del.Type == detect.EventResolved {
			resolved[del.Subject] = true
		}
	}
	return out
}

// flaky is a receiver that fails about a third of the requests (500) and
// answers the rest after a short random delay, recording which succeeded.
type flaky struct {
	*receiver
	mu sync.Mutex
	ok []bool
}

func newFlaky(t *testing.T, seed uint64) *flaky {
	f := &flaky{}
	rnd := rand.New(rand.NewPCG(seed, 7))
	var rmu sync.Mutex
	f.receiver = newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		rmu.Lock()
		fail, delay := rnd.IntN(3) == 0, time.Duration(rnd.IntN(4))*time.Millisecond
		rmu.Unlock()
		time.Sleep(delay)
		f.mu.Lock()
		for len(f.ok) < n {
			f.ok = append(f.ok, false)
		}
		f.ok[n-1] = !fail
		f.mu.Unlock()
		if fail {
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	return f
}

func (f *flaky) results() ([]request, []bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	reqs := f.requests()
	return reqs, slices.Clone(f.ok[:min(len(f.ok), len(reqs))])
}

// A fast replay: three incidents' whole lives (firing, four updates,
// resolved) arrive in one batch, so their deliveries share a due time, for
// five endpoints of every kind whose receivers fail a third of the
// requests. Each endpoint gets each incident in order: nothing of a change
// after a later one, nothing after the resolve, the firing and the resolve
// always, and every delivery settles (delivered, or superseded by a later
// update or the resolve).
func TestFiveEndpointsGetEachIncidentInOrder(t *testing.T) {
	src := newSource()
	schedule := []time.Duration{0}
	for range 30 { // a third failing, 31 attempts all fail once in 10^14
		schedule = append(schedule, 10*time.Millisecond)
	}
	d, _ := dispatcher(t, webhook.Options{Source: src, Jitter: 0.01, Schedule: schedule, BreakerFailures: 1000})
	formats := []string{"native", "alertmanager", "slack", "pagerduty", "discord"}
	rcs := make([]*flaky, len(formats))
	eps := make([]webhook.Endpoint, len(formats))
	for i, f := range formats {
		rcs[i] = newFlaky(t, uint64(time.Now().UnixNano())+uint64(i))
		eps[i] = create(t, d, rcs[i].URL, f)
	}
	var evs []detect.Event
	incidents := []string{"outlook-1", "teams-2", "aws-3"}
	lives := [][]detect.Event{lifecycle(incidents[0], 4), lifecycle(incidents[1], 4), lifecycle(incidents[2], 4)}
	for i := range lives[0] { // interleaved, as a detector emits them minute by minute
		for _, l := range lives {
			evs = append(evs, l[i])
		}
	}
	src.add(evs...)

	for i, ep := range eps {
		dels := settled(t, d, ep.ID, len(evs))
		reqs, ok := rcs[i].results()
		for _, v := range orderViolations(reqs, ok, dels) {
			t.Errorf("endpoint %d (%s): %s", i, formats[i], v)
		}
		got := map[string][]string{}
		for _, del := range dels {
			if del.Status == webhook.StatusDelivered {
				got[del.Subject] = append(got[del.Subject], del.Type)
			}
			if del.Status == webhook.StatusSuperseded && del.Type != detect.EventUpdated {
				t.Errorf("endpoint %d (%s): %s of %s superseded: only updates may be", i, formats[i], del.Type, del.Subject)
			}
		}
		for _, in := range incidents {
			if !slices.Contains(got[in], detect.EventFiring) || !slices.Contains(got[in], detect.EventResolved) {
				t.Errorf("endpoint %d (%s): %s delivered %v, want its firing and its resolve", i, formats[i], in, got[in])
			}
		}
	}
}

// settled waits until all n deliveries of the endpoint are delivered or
// superseded, and returns them.
func settled(t *testing.T, d *webhook.Dispatcher, endpoint string, n int) []webhook.Delivery {
	t.Helper()
	return waitDeliveries(t, d, endpoint, 60*time.Second, func(dels []webhook.Delivery) (bool, string) {
		done := count(dels, webhook.StatusDelivered, webhook.StatusSuperseded)
		return done == n && len(dels) == n, fmt.Sprintf("%d of %d deliveries settled", done, n)
	})
}

// The receiver fails the firing twice while updates pile up: the updates
// wait behind the firing, the older ones are superseded by the newest, and
// the receiver sees firing, the last update, then the resolve - each
// accepted once, nothing before the firing and nothing after the resolve.
// A restart while they wait keeps the order.
func TestFailingFiringHoldsBackItsUpdates(t *testing.T) {
	var mu sync.Mutex
	failures := 2
	var accepted []string
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if failures > 0 {
			failures--
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		accepted = append(accepted, r.Header.Get("webhook-id"))
	})
	path := filepath.Join(t.TempDir(), "w.db")
	src := newSource()
	// Retries far enough apart that a loaded machine still adds the updates
	// and stops the dispatcher before the firing's next attempt.
	slow := []time.Duration{0, 1500 * time.Millisecond, 1500 * time.Millisecond, 1500 * time.Millisecond}
	d, stop := dispatcher(t, webhook.Options{Path: path, Source: src, Schedule: slow, Jitter: 0.01})
	ep := create(t, d, rc.URL, "alertmanager")
	life := lifecycle("m365", 3)
	src.add(life[0])
	rc.wait(t, 1, 10*time.Second) // the firing failed once
	src.add(life[1], life[2])
	time.Sleep(50 * time.Millisecond)
	stop() // killed with the firing due again and two updates behind it
	if n := len(rc.requests()); n != 1 {
		t.Fatalf("receiver got %d requests before the restart, want only the failed firing", n)
	}
	d, _ = dispatcher(t, webhook.Options{Path: path, Source: src, Schedule: slow, Jitter: 0.01})
	rc.wait(t, 2, 10*time.Second) // the firing failed twice
	src.add(life[3])
	rc.wait(t, 3, 10*time.Second) // the firing went through
	rc.wait(t, 4, 10*time.Second) // and then the newest update
	src.add(life[4])
	dels := settled(t, d, ep.ID, len(life))

	byID := map[string]webhook.Delivery{}
	for _, del := range dels {
		byID[del.ID] = del
	}
	var got []string
	mu.Lock()
	for _, id := range accepted {
		got = append(got, fmt.Sprintf("%s/%d", byID[id].Type, byID[id].Seq))
	}
	mu.Unlock()
	want := []string{"incident.firing/1", "incident.updated/4", "incident.resolved/5"}
	if !slices.Equal(got, want) {
		t.Errorf("receiver accepted %v, want %v", got, want)
	}
	for _, r := range rc.requests()[:3] {
		if del := byID[r.header.Get("webhook-id")]; del.Type != detect.EventFiring {
			t.Errorf("%s (change %d) attempted while the firing was failing", del.Type, del.Seq)
		}
	}
	for _, del := range dels {
		if (del.Seq == 2 || del.Seq == 3) && del.Status != webhook.StatusSuperseded {
			t.Errorf("update %d is %s, want superseded by update 4", del.Seq, del.Status)
		}
	}
}

// Nothing of an incident goes out after its resolve reached the endpoint:
// not a redelivery of its firing nor a replay of a failed update.
func TestNothingFollowsTheResolve(t *testing.T) {
	var mu sync.Mutex
	failUpdates := true
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if failUpdates && n == 2 {
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	src := newSource()
	d, _ := dispatcher(t, webhook.Options{Source: src, Schedule: []time.Duration{0}})
	ep := create(t, d, rc.URL, "pagerduty")
	start := time.Now().Add(-time.Second)
	life := lifecycle("gmail", 1)
	src.add(life[0])
	rc.wait(t, 1, 10*time.Second)
	src.add(life[1]) // fails, and the schedule has no retry
	waitStatus(t, d, ep.ID, webhook.StatusFailed)
	src.add(life[2])
	dels := waitAll(t, d, ep.ID, 2)
	mu.Lock()
	failUpdates = false
	mu.Unlock()

	if n, err := d.ReplayFailed(ep.ID, start); err != nil || n != 1 {
		t.Fatalf("replay failures: %d, %v; want the update", n, err)
	}
	var firingID string
	for _, del := range dels {
		if del.Type == detect.EventFiring {
			firingID = del.ID
		}
	}
	if _, err := d.Redeliver(ep.ID, firingID); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		all, _ := d.Deliveries(ep.ID, webhook.StatusSuperseded, 10)
		if len(all) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("superseded %+v, want the replayed update and the redelivered firing", all)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	if n := len(rc.requests()); n != 3 {
		t.Errorf("receiver got %d requests, want 3: firing, the failed update, the resolve", n)
	}
}

// A store written before deliveries had a subject: its pending deliveries
// join their incident's queue when it is opened, keep their ids, and are
// delivered before the incident's newer changes.
func TestPendingDeliveriesOfAnOlderStoreJoinTheirQueue(t *testing.T) {
	rc := newReceiver(t, nil)
	path := filepath.Join(t.TempDir(), "w.db")
	d, err := webhook.Open(webhook.Options{Path: path, Guard: loopback})
	if err != nil {
		t.Fatal(err)
	}
	ep := create(t, d, rc.URL, "native")
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	// What the previous version stored for a pending firing: no subject,
	// no seq, filed in the outbox under (due time, id).
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Being retried: due a little later than the newer changes it must
	// still precede.
	due := time.Now().Add(700 * time.Millisecond).UTC()
	old := fmt.Sprintf(`{"id":"msg_legacy","endpoint_id":%q,"type":"incident.firing","event_seq":1,"incident_id":"m365","status":"pending","created_at":%q,"next_attempt":%q,"round":0,"attempts":[],"body":{"type":"incident.firing"}}`,
		ep.ID, due.Format(time.RFC3339Nano), due.Format(time.RFC3339Nano))
	err = db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket([]byte("deliveries")).Put([]byte("msg_legacy"), []byte(old)); err != nil {
			return err
		}
		return tx.Bucket([]byte("outbox")).Put(append(binary.BigEndian.AppendUint64(nil, uint64(due.UnixNano())), "msg_legacy"...), nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	src := newSource()
	d, _ = dispatcher(t, webhook.Options{Path: path, Source: src})
	src.add(change("m365", 2, detect.EventUpdated), change("m365", 3, detect.EventResolved))
	dels := settled(t, d, ep.ID, 3)
	var got []string
	for _, r := range rc.requests() {
		got = append(got, r.header.Get("webhook-id"))
	}
	if len(got) < 2 || got[0] != "msg_legacy" {
		t.Errorf("receiver got %v, want msg_legacy first", got)
	}
	for _, del := range dels {
		if del.ID == "msg_legacy" && (del.Subject != "m365" || del.Status != webhook.StatusDelivered) {
			t.Errorf("legacy delivery %+v, want delivered with subject m365", del)
		}
	}
}
