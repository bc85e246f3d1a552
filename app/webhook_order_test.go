package app_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/downsignal/downsignal/broker"
	"github.com/downsignal/downsignal/detect/detecttest"
	"github.com/downsignal/downsignal/internal/apptest"
	"github.com/downsignal/downsignal/record"
)

// hit is one request a receiver path got.
type hit struct {
	id string
	ok bool
}

// A fast replay of the outage through the whole run pipeline with five
// endpoints of five formats, each receiver failing a quarter of the
// requests: every endpoint gets the incident's changes in order (no change
// attempted after a later one, nothing after the resolve was accepted) and
// every change settles. `go test -run FiveEndpoints -count 20 -v ./app/`
// prints the violations of each replay.
func TestReplayWithFiveEndpointsKeepsOrder(t *testing.T) {
	wh, err := standardwebhooks.NewWebhook(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	hits := map[string][]hit{} // by path
	rnd := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := wh.Verify(body, r.Header); err != nil {
			t.Errorf("receiver %s: signature does not verify: %v", r.URL.Path, err)
		}
		mu.Lock()
		fail := rnd.IntN(4) == 0
		hits[r.URL.Path] = append(hits[r.URL.Path], hit{r.Header.Get("webhook-id"), !fail})
		mu.Unlock()
		if fail {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	t.Cleanup(rc.Close)

	formats := []string{"native", "alertmanager", "slack", "pagerduty", "discord"}
	var cfg []string
	for _, f := range formats {
		cfg = append(cfg, fmt.Sprintf(`{"name": %q, "url": %q, "format": %q, "secret": %q, "routing_key": "R0UT1NGKEY"}`, f, rc.URL+"/"+f, f, testSecret))
	}
	replay := replayOf(t, detecttest.DayOptions{Date: replayDay, Seed: 22, Surge: true})
	o := alertOptions(t, replay, rc.URL)
	o.WebhookURLs = nil
	o.WebhookConfig = filepath.Join(t.TempDir(), "webhooks.json")
	if err := os.WriteFile(o.WebhookConfig, []byte(`{"webhooks": [`+strings.Join(cfg, ",")+`]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	sched := []time.Duration{0}
	for range 20 {
		sched = append(sched, 20*time.Millisecond)
	}
	o.WebhookSchedule = sched
	p := apptest.Start(t, o)
	p.WaitReplayed(t)

	var hooks struct {
		Webhooks []struct{ ID, URL string } `json:"webhooks"`
	}
	p.Do(t, http.MethodGet, "/v1/webhooks", adminToken, nil, &hooks)
	if len(hooks.Webhooks) != len(formats) {
		t.Fatalf("webhooks %+v, want %d", hooks.Webhooks, len(formats))
	}
	violated, changes := 0, 0
	for _, ep := range hooks.Webhooks {
		dels := settledDeliveries(t, p, ep.ID)
		changes = len(dels)
		path := ep.URL[len(rc.URL):]
		mu.Lock()
		v := orderBreaches(hits[path], dels)
		mu.Unlock()
		if len(v) > 0 {
			violated++
			t.Errorf("endpoint %s: %d order violations: %s", path, len(v), strings.Join(v, "; "))
		}
	}
	t.Logf("five-endpoint replay, %d incident changes: %d of %d endpoints out of order", changes, violated, len(hooks.Webhooks))
	checkIncidentsTopic(t, p, changes)
}

// checkIncidentsTopic checks that downsignal.incidents holds the n changes
// of the replay, keyed by incident and in order.
func checkIncidentsTopic(t *testing.T, p *apptest.Process, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		recs, err := broker.ReadAll(context.Background(), p.App.Brokers(), broker.IncidentsTopic)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) >= n || time.Now().After(deadline) {
			seqs := map[string][]int{}
			for _, r := range recs {
				c, err := record.DecodeChange(r.Value)
				if err != nil || string(r.Key) != c.IncidentID {
					t.Fatalf("downsignal.incidents record %q %s: %v", r.Key, r.Value, err)
				}
				seqs[c.IncidentID] = append(seqs[c.IncidentID], c.Seq)
			}
			for id, s := range seqs {
				for i, seq := range s {
					if seq != i+1 {
						t.Errorf("downsignal.incidents: %s changes %v, want 1, 2, ... in order", id, s)
						break
					}
				}
			}
			if len(recs) != n {
				t.Errorf("downsignal.incidents holds %d changes, want %d", len(recs), n)
			}
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type orderedDelivery struct {
	ID         string `json:"id"`
	Type       string `json:"type"`
	EventSeq   uint64 `json:"event_seq"`
	IncidentID string `json:"incident_id"`
	Status     string `json:"status"`
}

// settledDeliveries waits until the endpoint has deliveries and none is
// pending any more, and returns them.
func settledDeliveries(t *testing.T, p *apptest.Process, endpoint string) []orderedDelivery {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var dels struct {
			Deliveries []orderedDelivery `json:"deliveries"`
		}
		p.Do(t, http.MethodGet, "/v1/webhooks/"+endpoint+"/deliveries?limit=500", adminToken, nil, &dels)
		pending := 0
		for _, d := range dels.Deliveries {
			if d.Status == "pending" {
				pending++
			}
		}
		if len(dels.Deliveries) >= 2 && pending == 0 {
			return dels.Deliveries
		}
		if time.Now().After(deadline) {
			t.Fatalf("endpoint %s: deliveries %+v, want all settled", endpoint, dels.Deliveries)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// orderBreaches walks what one endpoint was sent, in arrival order, and
// names each request of a change older than one already attempted of the
// same incident, and each request after that incident's resolve was
// accepted. The detector's log numbers changes in the order it made them.
func orderBreaches(hits []hit, dels []orderedDelivery) []string {
	byID := map[string]orderedDelivery{}
	for _, d := range dels {
		byID[d.ID] = d
	}
	var out []string
	last := map[string]uint64{}
	resolved := map[string]bool{}
	for _, h := range hits {
		d, ok := byID[h.id]
		if !ok || d.IncidentID == "" {
			continue
		}
		switch {
		case resolved[d.IncidentID]:
			out = append(out, d.Type+" after the resolve")
		case d.EventSeq < last[d.IncidentID]:
			out = append(out, fmt.Sprintf("%s (event %d) after event %d", d.Type, d.EventSeq, last[d.IncidentID]))
		}
		last[d.IncidentID] = max(last[d.IncidentID], d.EventSeq)
		if h.ok && d.Type == "incident.resolved" {
			resolved[d.IncidentID] = true
		}
	}
	return out
}
