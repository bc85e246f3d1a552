package webhook_test

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/downsignal/downsignal/detect"
	"github.com/downsignal/downsignal/webhook"
)

// A stall and its recovery reach every endpoint in its format, signed,
// once each however often they are reported, the recovery never before the
// stall even while the receiver fails the stall and the dispatcher
// restarts; an endpoint whose event_types leave them out gets nothing, and
// service filters do not hold them back.
func TestSourceStallReachesEveryEndpoint(t *testing.T) {
	var mu sync.Mutex
	failed := map[string]bool{} // paths whose first request failed
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if !failed[r.URL.Path] {
			failed[r.URL.Path] = true
			w.WriteHeader(http.StatusBadGateway)
		}
	})
	path := filepath.Join(t.TempDir(), "w.db")
	// The retry comes after the restart even on a loaded machine.
	slow := []time.Duration{0, 1500 * time.Millisecond, 1500 * time.Millisecond, 1500 * time.Millisecond}
	d, stop := dispatcher(t, webhook.Options{Path: path, Schedule: slow, Jitter: 0.01})
	var eps []webhook.Endpoint
	for _, f := range webhook.Formats {
		eps = append(eps, create(t, d, rc.URL+"/"+string(f), string(f)))
	}
	filtered, err := d.Create(context.Background(), webhook.Spec{URL: str(rc.URL + "/incidents-only"),
		EventTypes: &[]string{detect.EventFiring, detect.EventResolved}})
	if err != nil {
		t.Fatal(err)
	}
	outlook, err := d.Create(context.Background(), webhook.Spec{URL: str(rc.URL + "/outlook"), Services: &[]string{"Outlook"}, MinSeverity: str("critical")})
	if err != nil {
		t.Fatal(err)
	}
	eps = append(eps, outlook)

	c := webhook.SourceChange{Type: webhook.EventSourceStalled, Source: "jetstream", Since: time.Now().Add(-6 * time.Minute).UTC(),
		At: time.Now().UTC(), LastEventTime: time.Now().Add(-6 * time.Minute).UTC(), LastError: "read: connection reset", StallAfter: 5 * time.Minute}
	for range 2 { // reported twice: one delivery
		if err := d.SourceChanged(context.Background(), c); err != nil {
			t.Fatal(err)
		}
	}
	rc.wait(t, len(eps), 10*time.Second) // every stall attempted once, and failed
	rec := c
	rec.Type, rec.At = webhook.EventSourceRecovered, time.Now().UTC()
	if err := d.SourceChanged(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	stop()
	if n := len(rc.requests()); n != len(eps) {
		t.Fatalf("%d requests before the restart, want %d: the stalls alone (the recoveries wait behind them)", n, len(eps))
	}
	d, _ = dispatcher(t, webhook.Options{Path: path, Schedule: slow, Jitter: 0.01})
	if err := d.SourceChanged(context.Background(), rec); err != nil { // once more after the restart: still one
		t.Fatal(err)
	}
	for _, ep := range eps {
		waitAll(t, d, ep.ID, 2)
	}
	if dels, _ := d.Deliveries(filtered.ID, "", 10); len(dels) != 0 {
		t.Errorf("endpoint taking incident events only got %+v", dels)
	}
	checkSourceRequests(t, rc.requests(), eps)
}

// checkSourceRequests checks what each endpoint's receiver got: signed,
// the failed stall, the stall, the recovery, each in its format.
func checkSourceRequests(t *testing.T, reqs []request, eps []webhook.Endpoint) {
	t.Helper()
	for _, ep := range eps {
		wh, err := standardwebhooks.NewWebhook(ep.CurrentSecret())
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		ids := map[string]bool{}
		for _, r := range reqs {
			if r.header.Get("webhook-id") == "" || !sameEndpoint(r, ep) {
				continue
			}
			if err := wh.Verify(r.body, r.header); err != nil {
				t.Errorf("%s: signature: %v", ep.Format, err)
			}
			ids[r.header.Get("webhook-id")] = true
			kinds = append(kinds, sourceKind(t, ep.Format, r.body))
		}
		want := []string{"stalled", "stalled", "recovered"}
		if !slices.Equal(kinds, want) || len(ids) != 2 {
			t.Errorf("%s (%s) got %v with %d webhook-ids, want %v with 2", ep.Format, ep.URL, kinds, len(ids), want)
		}
	}
}

func sameEndpoint(r request, ep webhook.Endpoint) bool {
	return ep.URL[len(ep.URL)-len(r.path):] == r.path
}

// sourceKind reads "stalled" or "recovered" from a body of format f.
func sourceKind(t *testing.T, f webhook.Format, body []byte) string {
	t.Helper()
	var v struct {
		Type        string `json:"type"`
		Status      string `json:"status"`
		EventAction string `json:"event_action"`
		DedupKey    string `json:"dedup_key"`
		Text        string `json:"text"`
		Content     string `json:"content"`
		Data        struct {
			Source string `json:"source"`
		} `json:"data"`
		Attachments []struct {
			Content struct {
				Body []struct {
					Text string `json:"text"`
				} `json:"body"`
			} `json:"content"`
		} `json:"attachments"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("%s: %s: %v", f, body, err)
	}
	pick := func(stalled bool) string {
		if stalled {
			return "stalled"
		}
		return "recovered"
	}
	headline := func(s string) string {
		return pick(s == "downsignal's post source jetstream stalled: no post for 5m0s")
	}
	switch f {
	case webhook.Native:
		if v.Data.Source != "jetstream" {
			t.Errorf("native source data %s", body)
		}
		return pick(v.Type == webhook.EventSourceStalled)
	case webhook.Alertmanager:
		return pick(v.Status == "firing")
	case webhook.PagerDuty:
		if v.DedupKey == "" {
			t.Errorf("pagerduty without dedup_key: %s", body)
		}
		return pick(v.EventAction == "trigger")
	case webhook.Slack:
		return headline(v.Text)
	case webhook.Discord:
		return headline(v.Content)
	case webhook.Teams:
		return headline(v.Attachments[0].Content.Body[0].Text)
	}
	t.Fatalf("format %s", f)
	return ""
}

// event_types filters incident changes too, and refuses an unknown type.
func TestEventTypesFilterIncidents(t *testing.T) {
	rc := newReceiver(t, nil)
	src := newSource()
	d, _ := dispatcher(t, webhook.Options{Source: src})
	ep, err := d.Create(context.Background(), webhook.Spec{URL: str(rc.URL), EventTypes: &[]string{detect.EventFiring}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Create(context.Background(), webhook.Spec{URL: str(rc.URL), EventTypes: &[]string{"incident.fired"}}); err == nil {
		t.Error("event type incident.fired accepted")
	}
	src.add(lifecycle("x", 1)...)
	waitAll(t, d, ep.ID, 1)
	time.Sleep(100 * time.Millisecond)
	if dels, _ := d.Deliveries(ep.ID, "", 10); len(dels) != 1 || dels[0].Type != detect.EventFiring {
		t.Errorf("deliveries %+v, want the firing alone", dels)
	}
	if err := d.SourceChanged(context.Background(), webhook.SourceChange{Type: "source.sleeping", Source: "x", Since: time.Now()}); err == nil {
		t.Error("source change of an unknown type accepted")
	}
}
