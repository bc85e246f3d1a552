package notify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/downsignal/downsignal/broker"
	"github.com/downsignal/downsignal/detect"
	"github.com/downsignal/downsignal/notify"
	"github.com/downsignal/downsignal/record"
	"github.com/downsignal/downsignal/webhook"
)

// receiver records every request and answers 200, or 503 while failing.
type receiver struct {
	mu      sync.Mutex
	failing bool
	got     []request
}

type request struct {
	endpoint, id, typ string
	seq               int
	accepted          bool
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var msg struct {
		Type string `json:"type"`
		Data struct {
			Seq int `json:"seq"`
		} `json:"data"`
	}
	_ = json.Unmarshal(b, &msg)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.got = append(rc.got, request{r.URL.Path, r.Header.Get("webhook-id"), msg.Type, msg.Data.Seq, !rc.failing})
	if rc.failing {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
}

func (rc *receiver) fail(on bool) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.failing = on
}

// seen counts requests to endpoint of type typ, and how many were accepted.
func (rc *receiver) seen(endpoint, typ string) (all, accepted int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, q := range rc.got {
		if q.endpoint == endpoint && q.typ == typ {
			all++
			if q.accepted {
				accepted++
			}
		}
	}
	return all, accepted
}

// replica is one serve replica's notifying half: its own event log (the
// same changes as the others'), outbox and notifier.
type replica struct {
	name   string
	log    *eventLog
	reg    *prometheus.Registry
	d      *webhook.Dispatcher
	n      *notify.Notifier
	cancel context.CancelFunc
	done   chan struct{}
}

func startReplica(t testing.TB, name string, brokers []string, endpoints []webhook.ConfigEndpoint) *replica {
	t.Helper()
	r := &replica{name: name, log: newLog("log-" + name), reg: prometheus.NewRegistry(), done: make(chan struct{})}
	dir := t.TempDir()
	var err error
	r.d, err = webhook.Open(webhook.Options{Path: filepath.Join(dir, "webhooks.db"), Source: r.log,
		Owner: webhook.OwnerFunc(func(k string) bool { return r.n.Owns(k) }), Metrics: webhook.NewMetrics(r.reg),
		Guard: webhook.NewGuard([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}), Poll: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.d.Configure(context.Background(), endpoints); err != nil {
		t.Fatal(err)
	}
	prod := broker.NewProducer(broker.WriterOptions{Brokers: brokers, Topic: broker.NotifyStateTopic})
	r.n, err = notify.NewNotifier(notify.NotifierOptions{Brokers: brokers, SessionTimeout: 6 * time.Second, Outbox: r.d,
		Producer: prod, Metrics: notify.NewMetrics(r.reg)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _ = r.n.Run(ctx) }()
	go func() { defer wg.Done(); _ = r.d.Run(ctx) }()
	go func() {
		wg.Wait()
		prod.Close()
		r.d.Close()
		close(r.done)
	}()
	t.Cleanup(r.stop)
	return r
}

// stop leaves the group the way a SIGTERM does.
func (r *replica) stop() {
	r.cancel()
	<-r.done
}

// attempts sums the replica's webhook attempts over formats and outcomes.
func (r *replica) attempts() float64 {
	mfs, _ := r.reg.Gather()
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() == "downsignal_webhook_attempts_total" {
			for _, m := range mf.GetMetric() {
				total += m.GetCounter().GetValue()
			}
		}
	}
	return total
}

func waitUntil(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// owner is the replica that sends incident's webhooks, once exactly one
// does.
func owner(rs []*replica, incident string) *replica {
	var out []*replica
	for _, r := range rs {
		if r.n.Owns(incident) {
			out = append(out, r)
		}
	}
	if len(out) != 1 {
		return nil
	}
	return out[0]
}

// Three replicas make the same incident changes; one sends each change to
// each endpoint. The owner leaves mid-incident while the receivers fail
// (a rolling update); the replica that takes over does not send the
// firing again, sends what was left under the same webhook-ids, and every
// endpoint sees each change at most once, in order.
func TestOneReplicaNotifiesAndHandsOver(t *testing.T) {
	if testing.Short() {
		t.Skip("group rebalances take seconds")
	}
	brokers := startBroker(t)
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	secret := "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	endpoints := []webhook.ConfigEndpoint{
		{Name: "ops", URL: srv.URL + "/ops", Format: "native", Secret: secret},
		{Name: "sre", URL: srv.URL + "/sre", Format: "native", Secret: secret},
	}
	var rs []*replica
	for i := range 3 {
		rs = append(rs, startReplica(t, fmt.Sprintf("r%d", i+1), brokers, endpoints))
	}
	const incident = "microsoft-365-20260122T1931"
	waitUntil(t, 60*time.Second, "one replica owns the incident", func() bool { return owner(rs, incident) != nil })
	first := owner(rs, incident)

	everywhere := func(rs []*replica, types ...string) {
		for _, r := range rs {
			r.log.add(incident, types...)
		}
	}
	everywhere(rs, detect.EventFiring)
	for _, ep := range []string{"/ops", "/sre"} {
		waitUntil(t, 30*time.Second, ep+" gets the firing", func() bool { _, ok := rc.seen(ep, detect.EventFiring); return ok == 1 })
	}
	rc.fail(true)
	everywhere(rs, detect.EventUpdated)
	for _, ep := range []string{"/ops", "/sre"} {
		waitUntil(t, 30*time.Second, ep+" refuses the update", func() bool { n, _ := rc.seen(ep, detect.EventUpdated); return n >= 1 })
	}
	for _, r := range rs {
		if r != first && r.attempts() != 0 {
			t.Errorf("%s sent %v requests while %s owned the incident", r.name, r.attempts(), first.name)
		}
	}

	first.stop()
	t.Logf("%s (the owner) left the group", first.name)
	rest := slices.DeleteFunc(slices.Clone(rs), func(r *replica) bool { return r == first })
	waitUntil(t, 60*time.Second, "another replica owns the incident", func() bool { return owner(rest, incident) != nil })
	next := owner(rest, incident)
	rc.fail(false)
	everywhere(rest, detect.EventUpdated, detect.EventResolved)
	for _, ep := range []string{"/ops", "/sre"} {
		waitUntil(t, 30*time.Second, ep+" gets the resolve", func() bool { _, ok := rc.seen(ep, detect.EventResolved); return ok == 1 })
	}
	time.Sleep(time.Second) // a repeat would come now

	checkOnceInOrder(t, rc)
	for _, ep := range []string{"/ops", "/sre"} {
		if all, ok := rc.seen(ep, detect.EventFiring); all != 1 || ok != 1 {
			t.Errorf("%s: the firing came %d times (%d accepted), want once: the new owner sent it again", ep, all, ok)
		}
	}
	// The group may rebalance more than once as the owner leaves, so the
	// rest of the incident can be sent by either remaining replica; each
	// change still reaches each endpoint once.
	for _, r := range rest {
		t.Logf("%s sent %v requests (owner at the end: %s)", r.name, r.attempts(), next.name)
	}
}

// checkOnceInOrder checks that each endpoint accepted every webhook-id
// once, and the incident's changes in increasing seq.
func checkOnceInOrder(t *testing.T, rc *receiver) {
	t.Helper()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	ids := map[string]int{}
	last := map[string]int{}
	for _, q := range rc.got {
		if !q.accepted {
			continue
		}
		if ids[q.endpoint+" "+q.id]++; ids[q.endpoint+" "+q.id] > 1 {
			t.Errorf("%s accepted %s (%s %d) twice", q.endpoint, q.id, q.typ, q.seq)
		}
		if q.seq <= last[q.endpoint] {
			t.Errorf("%s accepted change %d (%s) after change %d", q.endpoint, q.seq, q.typ, last[q.endpoint])
		}
		last[q.endpoint] = q.seq
	}
	t.Logf("requests: %+v", rc.got)
}

// After a quiet week every settle has left downsignal.notify-state by
// retention: a replica given partitions has nothing to catch up on and
// must send, not wait for records that are gone.
func TestNotifierSendsAfterTheStateTopicExpired(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the broker's retention")
	}
	e, err := broker.StartEmbedded(broker.EmbeddedOptions{DataDir: t.TempDir(), Addr: "127.0.0.1:0", RetentionCheck: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	brokers := []string{e.Addr()}
	if err := broker.EnsureTopics(context.Background(), brokers, broker.Topics(broker.TopicOptions{Partitions: 3, Retention: time.Second})); err != nil {
		t.Fatal(err)
	}
	old := record.Settle{V: record.SettleVersion, DeliveryID: "msg_old", EndpointID: "cfg_old", Type: detect.EventFiring,
		Subject: "old-incident", Seq: 1, Status: "delivered", At: time.Now().Add(-time.Hour).UTC()}
	recs, err := broker.Encode(nil, &old)
	if err != nil {
		t.Fatal(err)
	}
	prod := broker.NewProducer(broker.WriterOptions{Brokers: brokers, Topic: broker.NotifyStateTopic})
	if err := prod.Produce(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	prod.Close()
	waitUntil(t, 30*time.Second, "retention empties the state topic", func() bool {
		first, end, err := broker.OffsetRange(context.Background(), brokers, broker.NotifyStateTopic, 0)
		return err == nil && end == 1 && first == end
	})

	rc := &receiver{}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	r := startReplica(t, "r1", brokers, []webhook.ConfigEndpoint{{Name: "ops", URL: srv.URL + "/ops", Format: "native", Secret: "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}})
	waitUntil(t, 60*time.Second, "the only replica owns the incident", func() bool { return r.n.Owns("microsoft-365-20260122T1931") })
	r.log.add("microsoft-365-20260122T1931", detect.EventFiring)
	waitUntil(t, 30*time.Second, "the firing is sent", func() bool { _, ok := rc.seen("/ops", detect.EventFiring); return ok == 1 })
}
