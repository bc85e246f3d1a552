package webhook_test

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
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/downsignal/downsignal/detect"
	"github.com/downsignal/downsignal/webhook"
)

// request is what a receiver got.
type request struct {
	header http.Header
	body   []byte
	at     time.Time
	path   string
}

// receiver is a real HTTP server on loopback answering with a script.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	reqs   []request
	answer func(n int, w http.ResponseWriter, r *http.Request) // n counts from 1
	got    chan struct{}
}

func newReceiver(t *testing.T, answer func(n int, w http.ResponseWriter, r *http.Request)) *receiver {
	rc := &receiver{answer: answer, got: make(chan struct{}, 1000)}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.reqs = append(rc.reqs, request{r.Header.Clone(), body, time.Now(), r.URL.Path})
		n := len(rc.reqs)
		rc.mu.Unlock()
		if rc.answer != nil {
			rc.answer(n, w, r)
		}
		rc.got <- struct{}{}
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) requests() []request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]request(nil), rc.reqs...)
}

// wait blocks until the receiver has seen n requests.
func (rc *receiver) wait(t *testing.T, n int, within time.Duration) {
	t.Helper()
	deadline := time.After(within)
	for len(rc.requests()) < n {
		select {
		case <-rc.got:
		case <-deadline:
			t.Fatalf("receiver got %d requests within %v, want %d", len(rc.requests()), within, n)
		}
	}
}

var loopback = webhook.NewGuard([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")})

// fastSchedule keeps retry tests short.
var fastSchedule = []time.Duration{0, 50 * time.Millisecond, 100 * time.Millisecond, 150 * time.Millisecond, 200 * time.Millisecond}

// source is a hand-written event log.
type source struct {
	id     string
	mu     sync.Mutex
	events []detect.Event
	notify chan struct{}
}

func newSource() *source { return &source{notify: make(chan struct{})} }

func (s *source) add(evs ...detect.Event) {
	s.mu.Lock()
	for _, ev := range evs {
		ev.Seq = uint64(len(s.events) + 1)
		s.events = append(s.events, ev)
	}
	close(s.notify)
	s.notify = make(chan struct{})
	s.mu.Unlock()
}

func (s *source) EventsAfter(seq uint64, n int) ([]detect.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []detect.Event
	for _, ev := range s.events {
		if ev.Seq > seq && len(out) < n {
			out = append(out, ev)
		}
	}
	return out, nil
}

func (s *source) Notify() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.notify
}

func (s *source) InstanceID() string {
	if s.id == "" {
		return "test-source"
	}
	return s.id
}

var incident = detect.Incident{
	ID: "microsoft-365-20260122T1931", Kind: detect.KindReports, Service: "Microsoft 365", Services: []string{"Outlook", "Teams"},
	State: detect.Firing, Severity: detect.Major, Confidence: detect.High, Title: "Microsoft 365 outage reported: Outlook, Teams",
	StartedAt: time.Date(2026, 1, 22, 19, 28, 0, 0, time.UTC), PendingAt: time.Date(2026, 1, 22, 19, 32, 0, 0, time.UTC),
	FiringAt: time.Date(2026, 1, 22, 19, 33, 0, 0, time.UTC), UpdatedAt: time.Date(2026, 1, 22, 19, 33, 0, 0, time.UTC),
	Seq: 1, PeakAuthors: 40, Expected: 0.25, Score: 42.4, Reports: 61,
	TopCodes: []detect.CodeCount{{Code: "451 4.3.2", Family: "smtp", Reports: 12}},
	Regions:  []detect.RegionCount{{Name: "United States", Reports: 4}},
	Samples: []detect.Sample{{URI: "at://did:plc:a/app.bsky.feed.post/1", Author: "did:plc:a", Text: "@everyone Outlook down? 451 4.3.2 <!channel>",
		Time: time.Date(2026, 1, 22, 19, 30, 5, 0, time.UTC), Services: []string{"Outlook"}}},
}

func firing() detect.Event {
	return detect.Event{Type: detect.EventFiring, Time: time.Date(2026, 1, 22, 19, 33, 0, 0, time.UTC), Incident: incident}
}

// dispatcher opens a dispatcher and runs it until the test ends.
func dispatcher(t *testing.T, o webhook.Options) (*webhook.Dispatcher, func()) {
	t.Helper()
	if o.Path == "" {
		o.Path = filepath.Join(t.TempDir(), "webhooks.db")
	}
	if o.Guard == nil {
		o.Guard = loopback
	}
	if o.Schedule == nil {
		o.Schedule = fastSchedule
	}
	if o.Poll == 0 {
		o.Poll = 20 * time.Millisecond
	}
	d, err := webhook.Open(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("run: %v", err)
			}
			if err := d.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return d, stop
}

func str(s string) *string { return &s }

func create(t *testing.T, d *webhook.Dispatcher, url, format string) webhook.Endpoint {
	t.Helper()
	s := webhook.Spec{URL: str(url), Format: str(format)}
	if format == "pagerduty" {
		s.RoutingKey = str("R0UT1NGKEY")
	}
	ep, err := d.Create(context.Background(), s)
	if err != nil {
		t.Fatalf("create endpoint: %v", err)
	}
	return ep
}

func TestStandardWebhooksLibraryVerifiesOurRequests(t *testing.T) {
	rc := newReceiver(t, nil)
	src := newSource()
	d, _ := dispatcher(t, webhook.Options{Source: src})
	ep := create(t, d, rc.URL+"/hook", "native")
	src.add(firing())
	rc.wait(t, 1, 10*time.Second)

	old := ep.CurrentSecret()
	rotated, err := d.Rotate(ep.ID, "", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if rotated.CurrentSecret() == old || len(rotated.Secrets) != 2 {
		t.Fatalf("after rotation: secrets %d, current changed %v", len(rotated.Secrets), rotated.CurrentSecret() != old)
	}
	if _, err := d.SendTest(ep.ID); err != nil {
		t.Fatal(err)
	}
	rc.wait(t, 2, 10*time.Second)

	reqs := rc.requests()
	for i, want := range []struct {
		secrets []string
		sigs    int
		typ     string
	}{{[]string{old}, 1, detect.EventFiring}, {[]string{old, rotated.CurrentSecret()}, 2, webhook.TypeTest}} {
		r := reqs[i]
		for _, secret := range want.secrets {
			wh, err := standardwebhooks.NewWebhook(secret)
			if err != nil {
				t.Fatal(err)
			}
			if err := wh.Verify(r.body, r.header); err != nil {
				t.Errorf("request %d: the Standard Webhooks library rejects it with secret %.12s...: %v", i, secret, err)
			}
		}
		if n := len(strings.Fields(r.header.Get("webhook-signature"))); n != want.sigs {
			t.Errorf("request %d: %d signatures, want %d", i, n, want.sigs)
		}
		var payload struct {
			Type      string          `json:"type"`
			Timestamp time.Time       `json:"timestamp"`
			Data      json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(r.body, &payload); err != nil || payload.Type != want.typ {
			t.Errorf("request %d: payload %s (%v), want type %s", i, r.body, err, want.typ)
		}
	}
	// Tampering is caught: the check can fail.
	wh, _ := standardwebhooks.NewWebhook(old)
	if err := wh.Verify(append([]byte(" "), reqs[0].body...), reqs[0].header); err == nil {
		t.Error("library accepted a tampered body")
	}
	if !strings.HasPrefix(reqs[0].header.Get("webhook-id"), "msg_") {
		t.Errorf("webhook-id %q", reqs[0].header.Get("webhook-id"))
	}
}

func TestReceiverAnswering500IsRetriedUntil2xx(t *testing.T) {
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n < 3 {
			http.Error(w, "boom", http.StatusInternalServerError)
		}
	})
	src := newSource()
	d, _ := dispatcher(t, webhook.Options{Source: src})
	ep := create(t, d, rc.URL, "slack")
	src.add(firing())
	rc.wait(t, 3, 10*time.Second)
	waitStatus(t, d, ep.ID, webhook.StatusDelivered)
	reqs := rc.requests()
	for _, r := range reqs[1:] {
		if r.header.Get("webhook-id") != reqs[0].header.Get("webhook-id") {
			t.Errorf("retry changed webhook-id: %q vs %q", r.header.Get("webhook-id"), reqs[0].header.Get("webhook-id"))
		}
	}
	dels, _ := d.Deliveries(ep.ID, "", 10)
	if len(dels) != 1 || len(dels[0].Attempts) != 3 || dels[0].Attempts[0].StatusCode != 500 || dels[0].Attempts[2].StatusCode != 200 {
		t.Fatalf("delivery log %+v, want one delivery with attempts 500, 500, 200", dels)
	}
	time.Sleep(300 * time.Millisecond)
	if n := len(rc.requests()); n != 3 {
		t.Errorf("%d requests after success, want 3", n)
	}
}

// waitDeliveries polls the endpoint's delivery log (newest first) until
// done says it holds, failing the test after within with done's account
// of what it saw; it returns the log.
func waitDeliveries(t *testing.T, d *webhook.Dispatcher, endpoint string, within time.Duration, done func([]webhook.Delivery) (bool, string)) []webhook.Delivery {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		dels, err := d.Deliveries(endpoint, "", 500)
		if err != nil {
			t.Fatal(err)
		}
		ok, saw := done(dels)
		if ok {
			return dels
		}
		if time.Now().After(deadline) {
			t.Fatalf("endpoint %s after %s: %s: %+v", endpoint, within, saw, dels)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// count counts the deliveries in one of statuses.
func count(dels []webhook.Delivery, statuses ...string) int {
	n := 0
	for _, del := range dels {
		if slices.Contains(statuses, del.Status) {
			n++
		}
	}
	return n
}

// waitStatus waits until the endpoint's latest delivery is status.
func waitStatus(t *testing.T, d *webhook.Dispatcher, endpoint, status string) webhook.Delivery {
	t.Helper()
	return waitDeliveries(t, d, endpoint, 10*time.Second, func(dels []webhook.Delivery) (bool, string) {
		return len(dels) > 0 && dels[0].Status == status, "want the latest " + status
	})[0]
}

func TestReceiverTimingOutIsRetried(t *testing.T) {
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 1 {
			select {
			case <-r.Context().Done():
			case <-time.After(3 * time.Second):
			}
		}
	})
	src := newSource()
	d, _ := dispatcher(t, webhook.Options{Source: src, Timeout: 300 * time.Millisecond})
	ep := create(t, d, rc.URL, "teams")
	src.add(firing())
	del := waitStatus(t, d, ep.ID, webhook.StatusDelivered)
	if len(del.Attempts) != 2 || del.Attempts[0].Error == "" || del.Attempts[1].StatusCode != 200 {
		t.Fatalf("attempts %+v, want a timeout then 200", del.Attempts)
	}
}

func TestReceiverAnswering410DisablesEndpointAtOnce(t *testing.T) {
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusGone) })
	src := newSource()
	d, _ := dispatcher(t, webhook.Options{Source: src})
	ep := create(t, d, rc.URL, "discord")
	src.add(firing())
	del := waitStatus(t, d, ep.ID, webhook.StatusFailed)
	got, _ := d.Endpoint(ep.ID)
	if got.Enabled || !strings.Contains(got.DisabledReason, "410") || len(got.Events) != 1 || got.Events[0].Type != "endpoint.disabled" {
		t.Fatalf("endpoint after 410: enabled %v reason %q events %+v, want disabled for 410 with an event", got.Enabled, got.DisabledReason, got.Events)
	}
	if len(del.Attempts) != 1 {
		t.Errorf("attempts %+v, want exactly one", del.Attempts)
	}
	// Later events are not even queued for it.
	ev := firing()
	ev.Type = detect.EventResolved
	src.add(ev)
	time.Sleep(300 * time.Millisecond)
	if n := len(rc.requests()); n != 1 {
		t.Errorf("disabled endpoint got %d requests, want 1", n)
	}
}

func TestRedirectIsNotFollowed(t *testing.T) {
	target := newReceiver(t, nil)
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 1 {
			http.Redirect(w, r, target.URL, http.StatusTemporaryRedirect)
		}
	})
	src := newSource()
	d, _ := dispatcher(t, webhook.Options{Source: src})
	ep := create(t, d, rc.URL, "alertmanager")
	src.add(firing())
	del := waitStatus(t, d, ep.ID, webhook.StatusDelivered)
	if len(del.Attempts) != 2 || del.Attempts[0].StatusCode != http.StatusTemporaryRedirect {
		t.Fatalf("attempts %+v, want the 307 recorded as a failure, then a retry", del.Attempts)
	}
	if n := len(target.requests()); n != 0 {
		t.Errorf("redirect target got %d requests, want none", n)
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
		}
	})
	src := newSource()
	d, _ := dispatcher(t, webhook.Options{Source: src})
	create(t, d, rc.URL, "native")
	src.add(firing())
	rc.wait(t, 2, 10*time.Second)
	reqs := rc.requests()
	if gap := reqs[1].at.Sub(reqs[0].at); gap < 950*time.Millisecond {
		t.Errorf("retried %v after a Retry-After of 1s; the schedule alone says 50ms", gap)
	}
}

func TestBreakerAndLongFailureDisable(t *testing.T) {
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadGateway) })
	src := newSource()
	d, _ := dispatcher(t, webhook.Options{Source: src, BreakerFailures: 2, BreakerCooldown: 500 * time.Millisecond,
		DisableAfter: 700 * time.Millisecond, Schedule: []time.Duration{0, 10 * time.Millisecond, 10 * time.Millisecond, 10 * time.Millisecond, 10 * time.Millisecond, 10 * time.Millisecond}})
	ep := create(t, d, rc.URL, "native")
	src.add(firing())
	rc.wait(t, 3, 10*time.Second)
	reqs := rc.requests()
	if gap := reqs[2].at.Sub(reqs[1].at); gap < 400*time.Millisecond {
		t.Errorf("third attempt %v after the second; the open breaker should hold it ~500ms", gap)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, _ := d.Endpoint(ep.ID)
		if !got.Enabled {
			if !strings.Contains(got.DisabledReason, "failing for") || len(got.Events) != 1 || got.Events[0].Type != "endpoint.disabled" {
				t.Errorf("disabled reason %q events %+v", got.DisabledReason, got.Events)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("endpoint still enabled after failing longer than DisableAfter")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Kill the dispatcher while deliveries are pending: after a restart on the
// same store every message arrives, once per webhook-id.
func TestPendingDeliveriesSurviveRestart(t *testing.T) {
	healthy := false
	var mu sync.Mutex
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		ok := healthy
		mu.Unlock()
		if !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	path := filepath.Join(t.TempDir(), "webhooks.db")
	src := newSource()
	slow := []time.Duration{0, 200 * time.Millisecond, 200 * time.Millisecond, 200 * time.Millisecond, 200 * time.Millisecond, 200 * time.Millisecond}
	d, stop := dispatcher(t, webhook.Options{Path: path, Source: src, Schedule: slow})
	create(t, d, rc.URL, "native")
	create(t, d, rc.URL+"/second", "pagerduty")
	for i := range 5 {
		ev := firing()
		ev.Incident.ID += string(rune('a' + i))
		src.add(ev)
	}
	rc.wait(t, 4, 10*time.Second) // some attempts failed
	stop()                        // killed with everything pending
	// A request the killed process had on the wire may still land: let it
	// meet the failing receiver, as it would have.
	time.Sleep(200 * time.Millisecond)

	mu.Lock()
	healthy = true
	mu.Unlock()
	before := len(rc.requests())
	d2, _ := dispatcher(t, webhook.Options{Path: path, Source: src, Schedule: slow})
	eps, _ := d2.Endpoints()
	for _, ep := range eps {
		waitAll(t, d2, ep.ID, 5)
	}
	ok := map[string]int{}
	for _, r := range rc.requests()[before:] {
		ok[r.header.Get("webhook-id")]++
	}
	if len(ok) != 10 {
		t.Fatalf("after restart %d distinct webhook-ids delivered, want 10 (5 events x 2 endpoints)", len(ok))
	}
	for id, n := range ok {
		if n != 1 {
			t.Errorf("webhook-id %s delivered %d times after restart, want once", id, n)
		}
	}
}

// waitAll waits until the endpoint has n delivered deliveries and returns
// its whole log.
func waitAll(t *testing.T, d *webhook.Dispatcher, endpoint string, n int) []webhook.Delivery {
	t.Helper()
	return waitDeliveries(t, d, endpoint, 15*time.Second, func(dels []webhook.Delivery) (bool, string) {
		got := count(dels, webhook.StatusDelivered)
		return got == n, fmt.Sprintf("%d delivered, want %d", got, n)
	})
}

func TestRedeliverAndReplayFailures(t *testing.T) {
	var mu sync.Mutex
	fail := true
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if fail {
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	src := newSource()
	d, _ := dispatcher(t, webhook.Options{Source: src, Schedule: []time.Duration{0, 10 * time.Millisecond}})
	ep := create(t, d, rc.URL, "native")
	start := time.Now()
	src.add(firing())
	ev := firing()
	ev.Incident.ID = "other"
	src.add(ev)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if dels, _ := d.Deliveries(ep.ID, webhook.StatusFailed, 10); len(dels) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("deliveries did not fail")
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	fail = false
	mu.Unlock()
	failed, _ := d.Deliveries(ep.ID, webhook.StatusFailed, 10)
	if _, err := d.Redeliver(ep.ID, failed[0].ID); err != nil {
		t.Fatal(err)
	}
	waitStatusOf(t, d, ep.ID, failed[0].ID, webhook.StatusDelivered)
	if n, err := d.ReplayFailed(ep.ID, start); err != nil || n != 1 {
		t.Fatalf("replay failures: %d, %v; want 1", n, err)
	}
	waitAll(t, d, ep.ID, 2)
	ids := map[string]bool{}
	for _, r := range rc.requests() {
		ids[r.header.Get("webhook-id")] = true
	}
	if len(ids) != 2 {
		t.Errorf("%d distinct webhook-ids over all attempts and redeliveries, want 2", len(ids))
	}
	if _, err := d.Redeliver(ep.ID, "msg_nope"); err != webhook.ErrNotFound {
		t.Errorf("redeliver unknown: %v, want ErrNotFound", err)
	}
}

func waitStatusOf(t *testing.T, d *webhook.Dispatcher, endpoint, id, status string) {
	t.Helper()
	waitDeliveries(t, d, endpoint, 10*time.Second, func(dels []webhook.Delivery) (bool, string) {
		return slices.ContainsFunc(dels, func(del webhook.Delivery) bool { return del.ID == id && del.Status == status }),
			"delivery " + id + " never " + status
	})
}

// A rebuilt detector store numbers its events from 1 again and replays the
// same incidents: nothing already delivered is sent again.
func TestRebuiltSourceDoesNotRenotify(t *testing.T) {
	rc := newReceiver(t, nil)
	path := filepath.Join(t.TempDir(), "w.db")
	src := newSource()
	d, stop := dispatcher(t, webhook.Options{Path: path, Source: src})
	ep := create(t, d, rc.URL, "native")
	resolved := firing()
	resolved.Type = detect.EventResolved
	src.add(firing(), resolved)
	rc.wait(t, 2, 10*time.Second)
	waitAll(t, d, ep.ID, 2)
	stop()

	rebuilt := newSource()
	rebuilt.id = "rebuilt"
	rebuilt.add(firing(), resolved)
	d2, _ := dispatcher(t, webhook.Options{Path: path, Source: rebuilt})
	next := firing()
	next.Incident.ID = "teams-20260123T0900"
	rebuilt.add(next)
	rc.wait(t, 3, 10*time.Second)
	time.Sleep(200 * time.Millisecond)
	if n := len(rc.requests()); n != 3 {
		t.Errorf("receiver got %d requests, want 3 (the new incident only after the rebuild)", n)
	}
	if dels, _ := d2.Deliveries(ep.ID, "", 10); len(dels) != 3 {
		t.Errorf("%d deliveries, want 3", len(dels))
	}
}

func TestMaxAgeSkipsOldChanges(t *testing.T) {
	rc := newReceiver(t, nil)
	src := newSource()
	d, _ := dispatcher(t, webhook.Options{Source: src, MaxAge: time.Hour})
	ep := create(t, d, rc.URL, "native")
	fresh := firing()
	fresh.Time = time.Now().Add(-time.Minute)
	fresh.Incident.ID = "fresh"
	src.add(firing(), fresh) // the first happened in January
	rc.wait(t, 1, 10*time.Second)
	time.Sleep(200 * time.Millisecond)
	if dels, _ := d.Deliveries(ep.ID, "", 10); len(dels) != 1 || dels[0].IncidentID != "fresh" {
		t.Errorf("deliveries %+v, want only the fresh change", dels)
	}
}
