package webhook_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/downsignal/downsignal/detect"
	"github.com/downsignal/downsignal/record"
	"github.com/downsignal/downsignal/webhook"
)

// Two replicas' outboxes with one configured endpoint. A owns the incident
// and sends; the settle of each change must be shared before A sends the
// next. B, which lags behind A's detector, applies A's settles: the change
// it had fanned out and the one it had not are both settled without a
// request, and when B takes the incident over it sends only the change A
// never settled.
func TestSharedSettlesKeepAnotherReplicaFromSendingAgain(t *testing.T) {
	rc := newReceiver(t, nil)
	cfg := []webhook.ConfigEndpoint{{Name: "ops", URL: rc.URL + "/ops", Format: "native", Secret: "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}}
	var aOwns, bOwns atomic.Bool
	aOwns.Store(true)
	srcA, srcB := newSource(), newSource()
	a, _ := dispatcher(t, webhook.Options{Source: srcA, Owner: webhook.OwnerFunc(func(string) bool { return aOwns.Load() })})
	b, _ := dispatcher(t, webhook.Options{Source: srcB, Owner: webhook.OwnerFunc(func(string) bool { return bOwns.Load() })})
	for _, d := range []*webhook.Dispatcher{a, b} {
		if err := d.Configure(context.Background(), cfg); err != nil {
			t.Fatal(err)
		}
	}
	const id = "microsoft-365-20260122T1931"
	srcA.add(change(id, 1, detect.EventFiring), change(id, 2, detect.EventUpdated))
	srcB.add(change(id, 1, detect.EventFiring)) // B is behind
	rc.wait(t, 1, 5*time.Second)

	// The update waits until the firing's settle is shared.
	var shared []record.Settle
	share := func(want int) {
		t.Helper()
		select {
		case <-a.Settled():
		case <-time.After(5 * time.Second):
			t.Fatal("no settle announced")
		}
		ss, err := a.Settles(10)
		if err != nil || len(ss) != want {
			t.Fatalf("settles to share: %+v %v, want %d", ss, err, want)
		}
		if err := a.SettlesShared([]string{ss[0].DeliveryID}); err != nil {
			t.Fatal(err)
		}
		shared = append(shared, ss...)
	}
	time.Sleep(300 * time.Millisecond)
	if n := len(rc.requests()); n != 1 {
		t.Fatalf("%d requests before the firing's settle was shared, want 1", n)
	}
	share(1)
	rc.wait(t, 2, 5*time.Second)
	share(1)
	for i, s := range shared {
		if s.Status != webhook.StatusDelivered || s.Seq != i+1 || s.Subject != id || s.EndpointID != webhook.ConfigID("ops") {
			t.Errorf("settle %d: %+v", i, s)
		}
	}
	if pending, err := b.Deliveries(webhook.ConfigID("ops"), webhook.StatusPending, 10); err != nil || len(pending) != 1 {
		t.Fatalf("B's pending deliveries: %+v %v, want its firing", pending, err)
	}

	if err := b.ApplySettles(shared); err != nil {
		t.Fatal(err)
	}
	if err := b.ApplySettles(shared); err != nil { // idempotent
		t.Fatal(err)
	}
	srcB.add(change(id, 2, detect.EventUpdated), change(id, 3, detect.EventUpdated))
	aOwns.Store(false)
	bOwns.Store(true)
	b.Kick()
	rc.wait(t, 3, 5*time.Second)
	time.Sleep(300 * time.Millisecond)
	reqs := rc.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want firing and update 2 from A, update 3 from B", len(reqs))
	}
	var last struct {
		Data struct {
			Seq int `json:"seq"`
		} `json:"data"`
	}
	if err := json.Unmarshal(reqs[2].body, &last); err != nil || last.Data.Seq != 3 {
		t.Fatalf("B sent %s, want change 3", reqs[2].body)
	}
	dels, err := b.Deliveries(webhook.ConfigID("ops"), "", 10)
	if err != nil {
		t.Fatal(err)
	}
	elsewhere := 0
	for _, del := range dels {
		if strings.Contains(del.Error, "another replica") && del.Status == webhook.StatusDelivered && del.Seq < 3 {
			elsewhere++
		}
	}
	if elsewhere != 2 {
		t.Errorf("B's log: %d changes settled by A, want 2: %+v", elsewhere, dels)
	}
}
