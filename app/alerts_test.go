package app_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/downsignal/downsignal/app"
	"github.com/downsignal/downsignal/detect/detecttest"
	"github.com/downsignal/downsignal/internal/apptest"
)

const testSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw8cAZIEgaMAA="

// adminToken guards the admin API of the processes these tests start.
const adminToken = "s3cret"

// hookReceiver is a real HTTP receiver that verifies every request with
// the Standard Webhooks library and keeps the verified payloads.
type hookReceiver struct {
	*httptest.Server
	t      *testing.T
	mu     sync.Mutex
	events []hookEvent
	ids    map[string]int
}

type hookEvent struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      struct {
		ID       string    `json:"id"`
		Service  string    `json:"service"`
		Services []string  `json:"services"`
		State    string    `json:"state"`
		FiringAt time.Time `json:"firing_at"`
		Seq      int       `json:"seq"`
	} `json:"data"`
}

func newHookReceiver(t *testing.T) *hookReceiver {
	wh, err := standardwebhooks.NewWebhook(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	h := &hookReceiver{t: t, ids: map[string]int{}}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := wh.Verify(body, r.Header); err != nil {
			t.Errorf("receiver: signature does not verify: %v", err)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var ev hookEvent
		if err := json.Unmarshal(body, &ev); err != nil {
			t.Errorf("receiver: payload %s: %v", body, err)
		}
		h.mu.Lock()
		h.ids[r.Header.Get("webhook-id")]++
		if h.ids[r.Header.Get("webhook-id")] == 1 {
			h.events = append(h.events, ev)
		}
		h.mu.Unlock()
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hookReceiver) got() []hookEvent {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.events)
}

type incidentList struct {
	Incidents []struct {
		ID         string    `json:"id"`
		Service    string    `json:"service"`
		Services   []string  `json:"services"`
		State      string    `json:"state"`
		Severity   string    `json:"severity"`
		StartedAt  time.Time `json:"started_at"`
		FiringAt   time.Time `json:"firing_at"`
		ResolvedAt time.Time `json:"resolved_at"`
		TopCodes   []struct {
			Code string `json:"code"`
		} `json:"top_codes"`
		Samples []struct {
			Text string `json:"text"`
		} `json:"samples"`
		Timeline []struct {
			Kind string `json:"kind"`
		} `json:"timeline"`
	} `json:"incidents"`
}

var replayDay = time.Date(2026, 1, 22, 0, 0, 0, 0, time.UTC)

func replayOf(t *testing.T, o detecttest.DayOptions) string {
	t.Helper()
	posts := detecttest.Day(o)
	lines := make([]string, len(posts))
	for i, p := range posts {
		lines[i] = detecttest.JetstreamLine(p)
	}
	return apptest.WriteReplay(t, lines...)
}

func alertOptions(t *testing.T, replay, hook string) app.Options {
	return app.Options{
		DataDir: t.TempDir(), Source: "replay:" + replay, AdminToken: adminToken,
		WebhookURLs: []string{"native=" + hook}, WebhookSecret: testSecret, WebhookAllowNets: []string{"127.0.0.0/8"},
	}
}

// The recorded-style day of 22 January 2026 through the whole run
// pipeline: quiet chatter, a copy-paste brigade, then the Microsoft 365
// outage. Exactly one incident, firing within five minutes of event time
// of the surge, grouping Outlook and Teams, resolved after it ends, and
// delivered signed to a real receiver.
func TestReplayedOutageDayAlertsOnce(t *testing.T) {
	rc := newHookReceiver(t)
	replay := replayOf(t, detecttest.DayOptions{Date: replayDay, Seed: 22, Surge: true, Brigade: true})
	p := apptest.Start(t, alertOptions(t, replay, rc.URL))
	p.WaitReplayed(t)

	var list incidentList
	if code := p.Get(t, "/v1/incidents", &list); code != http.StatusOK {
		t.Fatalf("GET /v1/incidents: %d", code)
	}
	if len(list.Incidents) != 1 {
		t.Fatalf("incidents %+v, want exactly one", list.Incidents)
	}
	in := list.Incidents[0]
	onset := detecttest.SurgeOnset(replayDay)
	lead := in.FiringAt.Sub(onset)
	if in.Service != "Microsoft 365" || !slices.Contains(in.Services, "Outlook") || !slices.Contains(in.Services, "Microsoft Teams") {
		t.Errorf("incident %s services %v, want Microsoft 365 grouping Outlook and Teams", in.Service, in.Services)
	}
	if lead <= 0 || lead > 5*time.Minute {
		t.Errorf("fired at %v: %v after the onset, want within 5 minutes", in.FiringAt, lead)
	}
	if in.State != "resolved" || !in.ResolvedAt.After(onset.Add(45*time.Minute)) {
		t.Errorf("state %s resolved at %v, want resolved after the surge", in.State, in.ResolvedAt)
	}
	t.Logf("detection lead time %v (event time), resolved %v after onset, severity %s", lead, in.ResolvedAt.Sub(onset), in.Severity)

	var detail struct {
		Timeline []struct{ Kind string } `json:"timeline"`
		TopCodes []struct{ Code string } `json:"top_codes"`
		Samples  []struct{ Text string } `json:"samples"`
	}
	if code := p.Get(t, "/v1/incidents/"+in.ID, &detail); code != http.StatusOK || len(detail.Timeline) == 0 ||
		len(detail.Samples) == 0 || len(detail.TopCodes) == 0 || detail.TopCodes[0].Code != "451 4.3.2" {
		t.Errorf("GET /v1/incidents/%s: %d %+v", in.ID, code, detail)
	}
	for _, q := range []string{"?state=firing", "?service=Discord", "?until=2026-01-22T12:00:00Z"} {
		var none incidentList
		if p.Get(t, "/v1/incidents"+q, &none); len(none.Incidents) != 0 {
			t.Errorf("GET /v1/incidents%s: %d incidents, want none", q, len(none.Incidents))
		}
	}
	if code := p.Get(t, "/v1/incidents?state=sleeping", nil); code != http.StatusBadRequest {
		t.Errorf("bad state: %d, want 400", code)
	}
	checkAsOf(t, p, in.ID)

	// The receiver: firing first, resolved last, one incident.
	deadline := time.Now().Add(30 * time.Second)
	for {
		evs := rc.got()
		if n := len(evs); n >= 2 && evs[n-1].Type == "incident.resolved" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("receiver got %+v, want firing ... resolved", evs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	evs := rc.got()
	if evs[0].Type != "incident.firing" || evs[0].Data.ID != in.ID || !evs[0].Data.FiringAt.Equal(in.FiringAt) {
		t.Errorf("first webhook %+v, want incident.firing of %s", evs[0], in.ID)
	}
	for _, ev := range evs {
		if ev.Data.ID != in.ID {
			t.Errorf("webhook for another incident: %+v", ev)
		}
	}

	// The admin API needs the token.
	if code := p.Get(t, "/v1/webhooks", nil); code != http.StatusUnauthorized {
		t.Errorf("GET /v1/webhooks without token: %d, want 401", code)
	}
	var hooks struct {
		Webhooks []struct {
			ID     string `json:"id"`
			Origin string `json:"origin"`
			Secret string `json:"secret"`
		} `json:"webhooks"`
	}
	if code := p.Do(t, http.MethodGet, "/v1/webhooks", adminToken, nil, &hooks); code != http.StatusOK || len(hooks.Webhooks) != 1 ||
		hooks.Webhooks[0].Origin != "config" || hooks.Webhooks[0].Secret != "" {
		t.Fatalf("GET /v1/webhooks: %d %+v, want the flag endpoint without its secret", code, hooks)
	}
	var dels struct {
		Deliveries []struct {
			Status string `json:"status"`
		} `json:"deliveries"`
	}
	p.Do(t, http.MethodGet, "/v1/webhooks/"+hooks.Webhooks[0].ID+"/deliveries?status=delivered", adminToken, nil, &dels)
	if len(dels.Deliveries) != len(evs) {
		t.Errorf("delivery log: %d delivered, receiver got %d", len(dels.Deliveries), len(evs))
	}
}

// The same day without the outage raises nothing.
func TestReplayedQuietDayRaisesNothing(t *testing.T) {
	rc := newHookReceiver(t)
	replay := replayOf(t, detecttest.DayOptions{Date: replayDay, Seed: 22, Brigade: true})
	p := apptest.Start(t, alertOptions(t, replay, rc.URL))
	p.WaitReplayed(t)
	var list incidentList
	p.Get(t, "/v1/incidents", &list)
	if len(list.Incidents) != 0 {
		t.Fatalf("quiet day: incidents %+v, want none", list.Incidents)
	}
	time.Sleep(500 * time.Millisecond)
	if evs := rc.got(); len(evs) != 0 {
		t.Errorf("quiet day: receiver got %+v", evs)
	}
}

// Deliveries pending when the process stops are delivered after a
// restart on the same data directory, once per webhook-id: one attempt
// of each fails (503), the next hangs and is cut by the shutdown.
func TestPendingWebhooksSurviveRestart(t *testing.T) {
	var mu sync.Mutex
	healthy := false
	accepted := map[string]int{}
	seen := map[string]int{}
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body) // the server notices a client going away only after the body
		id := r.Header.Get("webhook-id")
		mu.Lock()
		seen[id]++
		first, ok := seen[id] == 1, healthy
		if ok {
			accepted[id]++
		}
		mu.Unlock()
		switch {
		case ok:
		case first:
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			select { // hangs until the sender gives up
			case <-r.Context().Done():
			case <-time.After(time.Minute):
			}
		}
	}))
	t.Cleanup(rc.Close) // after the process stops (cleanups run last first)
	replay := replayOf(t, detecttest.DayOptions{Date: replayDay, Seed: 23, From: 17, To: 23, Surge: true})
	o := alertOptions(t, replay, rc.URL)
	o.WebhookSchedule = []time.Duration{0, 500 * time.Millisecond, time.Second, time.Second, time.Second, time.Second}

	p := apptest.Start(t, o)
	p.WaitReplayed(t)
	var hooks struct {
		Webhooks []struct{ ID string } `json:"webhooks"`
	}
	p.Do(t, http.MethodGet, "/v1/webhooks", adminToken, nil, &hooks)
	deliveries := func(p *apptest.Process) []string {
		var dels struct {
			Deliveries []struct{ Status string } `json:"deliveries"`
		}
		p.Do(t, http.MethodGet, "/v1/webhooks/"+hooks.Webhooks[0].ID+"/deliveries", adminToken, nil, &dels)
		var out []string
		for _, d := range dels.Deliveries {
			out = append(out, d.Status)
		}
		return out
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		n := len(seen)
		mu.Unlock()
		if n >= 1 && len(deliveries(p)) >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("receiver saw %d webhook-ids, deliveries %v; want attempts and firing+resolved queued", n, deliveries(p))
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.Stop(t)
	mu.Lock()
	healthy = true
	mu.Unlock()

	p2 := apptest.Start(t, o)
	deadline = time.Now().Add(30 * time.Second)
	for {
		st := deliveries(p2)
		if len(st) >= 2 && !slices.ContainsFunc(st, func(s string) bool { return s != "delivered" }) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after restart deliveries %v, want all delivered", st)
		}
		time.Sleep(50 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(accepted) < 2 {
		t.Errorf("accepted %v, want firing and resolved", accepted)
	}
	for id, n := range accepted {
		if n != 1 {
			t.Errorf("webhook-id %s accepted %d times, want once", id, n)
		}
	}
}

// The admin API: token required, SSRF refused at registration, test sends,
// secret rotation and silences.
func TestAdminAPI(t *testing.T) {
	rc := newHookReceiver(t)
	replay := replayOf(t, detecttest.DayOptions{Date: replayDay, Seed: 24, From: 0, To: 1})
	o := alertOptions(t, replay, rc.URL)
	o.WebhookURLs = nil
	o.WebhookConfig = filepath.Join(t.TempDir(), "webhooks.json")
	cfg := `{"webhooks": [{"name": "ops", "url": "` + rc.URL + `/ops", "format": "slack", "services": ["Outlook"], "min_severity": "major"}]}`
	if err := os.WriteFile(o.WebhookConfig, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p := apptest.Start(t, o)
	var configured struct {
		Webhooks []struct {
			Origin      string   `json:"origin"`
			Format      string   `json:"format"`
			Services    []string `json:"services"`
			MinSeverity string   `json:"min_severity"`
		} `json:"webhooks"`
	}
	if p.Do(t, http.MethodGet, "/v1/webhooks", adminToken, nil, &configured); len(configured.Webhooks) != 1 || configured.Webhooks[0].Origin != "config" ||
		configured.Webhooks[0].Format != "slack" || configured.Webhooks[0].MinSeverity != "major" {
		t.Errorf("configured webhooks %+v, want the ops endpoint from the file", configured.Webhooks)
	}

	type ep struct {
		ID     string `json:"id"`
		Secret string `json:"secret"`
		Format string `json:"format"`
		Error  string `json:"error"`
	}
	var bad ep
	if code := p.Do(t, http.MethodPost, "/v1/webhooks", adminToken, map[string]any{"url": "http://169.254.169.254/latest/meta-data/"}, &bad); code != http.StatusBadRequest {
		t.Errorf("metadata address: %d %+v, want 400", code, bad)
	}
	if code := p.Do(t, http.MethodPost, "/v1/webhooks", adminToken, map[string]any{"url": rc.URL, "colour": "red"}, &bad); code != http.StatusBadRequest {
		t.Errorf("unknown field: %d, want 400", code)
	}
	var created ep
	if code := p.Do(t, http.MethodPost, "/v1/webhooks", adminToken, map[string]any{"url": rc.URL, "format": "native", "secret": testSecret}, &created); code != http.StatusCreated || created.Secret != testSecret {
		t.Fatalf("create: %d %+v", code, created)
	}
	if code := p.Do(t, http.MethodPost, "/v1/webhooks/"+created.ID+"/test", adminToken, nil, nil); code != http.StatusAccepted {
		t.Fatalf("test send: %d", code)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(rc.got()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("test send never arrived")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if ev := rc.got()[0]; ev.Type != "endpoint.test" {
		t.Errorf("test send type %q", ev.Type)
	}
	var rotated ep
	if code := p.Do(t, http.MethodPost, "/v1/webhooks/"+created.ID+"/rotate-secret", adminToken, map[string]any{"grace": "1h"}, &rotated); code != http.StatusOK || rotated.Secret == testSecret || rotated.Secret == "" {
		t.Errorf("rotate: %d %+v", code, rotated)
	}
	var patched ep
	if code := p.Do(t, http.MethodPatch, "/v1/webhooks/"+created.ID, adminToken, map[string]any{"format": "slack"}, &patched); code != http.StatusOK || patched.Format != "slack" {
		t.Errorf("patch: %d %+v", code, patched)
	}
	if code := p.Do(t, http.MethodPost, "/v1/webhooks/"+created.ID+"/replay", adminToken, map[string]any{"since": "2026-01-01T00:00:00Z"}, nil); code != http.StatusAccepted {
		t.Errorf("replay failures: %d", code)
	}
	if code := p.Do(t, http.MethodDelete, "/v1/webhooks/"+created.ID, adminToken, nil, nil); code != http.StatusNoContent {
		t.Errorf("delete: %d", code)
	}
	if code := p.Do(t, http.MethodGet, "/v1/webhooks/"+created.ID, adminToken, nil, nil); code != http.StatusNotFound {
		t.Errorf("get deleted: %d, want 404", code)
	}

	var sil struct {
		ID       string    `json:"id"`
		Service  string    `json:"service"`
		StartsAt time.Time `json:"starts_at"`
		EndsAt   time.Time `json:"ends_at"`
	}
	if code := p.Do(t, http.MethodPost, "/v1/silences", adminToken, map[string]any{"service": "office 365", "duration": "2h", "comment": "maintenance"}, &sil); code != http.StatusCreated ||
		sil.Service != "Microsoft 365" || sil.EndsAt.Sub(sil.StartsAt) != 2*time.Hour {
		t.Fatalf("create silence: %d %+v", code, sil)
	}
	if code := p.Do(t, http.MethodPost, "/v1/silences", adminToken, map[string]any{"service": "Myspace", "duration": "2h"}, nil); code != http.StatusBadRequest {
		t.Errorf("silence of an unknown service: %d, want 400", code)
	}
	req, _ := http.NewRequest(http.MethodPost, p.URL()+"/v1/silences", bytes.NewReader([]byte(`{"service":"Teams","duration":"1h"}`)))
	req.Header.Set("Authorization", "Bearer wrong")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("silence with a wrong token: %d, want 401", res.StatusCode)
	}
	var sils struct {
		Silences []struct{ ID string } `json:"silences"`
	}
	if p.Get(t, "/v1/silences", &sils); len(sils.Silences) != 1 {
		t.Errorf("silences %+v, want 1", sils)
	}
	if code := p.Do(t, http.MethodDelete, "/v1/silences/"+sil.ID, adminToken, nil, nil); code != http.StatusNoContent {
		t.Errorf("delete silence: %d", code)
	}
}

// checkAsOf: as of a moment of the outage, the incident is what was known
// then, in the list and alone; before it began it did not exist.
func checkAsOf(t *testing.T, p *apptest.Process, id string) {
	t.Helper()
	type view struct {
		ID          string    `json:"id"`
		State       string    `json:"state"`
		PendingAt   time.Time `json:"pending_at"`
		FiringAt    time.Time `json:"firing_at"`
		ResolvedAt  time.Time `json:"resolved_at"`
		PeakAuthors int       `json:"peak_authors"`
		Reports     int       `json:"reports"`
	}
	var final view
	p.GetJSON(t, "/v1/incidents/"+id, &final)
	at := final.FiringAt.Add(2 * time.Minute).Format(time.RFC3339)
	var then view
	p.GetJSON(t, "/v1/incidents/"+id+"?at="+at, &then)
	var list struct{ Incidents []view }
	p.GetJSON(t, "/v1/incidents?at="+at, &list)
	if then.State != "firing" || !then.ResolvedAt.IsZero() || then.PeakAuthors >= final.PeakAuthors || then.Reports >= final.Reports {
		t.Errorf("as of %s: %+v; final %+v", at, then, final)
	}
	if len(list.Incidents) != 1 || list.Incidents[0] != then {
		t.Errorf("list as of %s: %+v, want %+v", at, list.Incidents, then)
	}
	before := final.PendingAt.Add(-time.Minute).Format(time.RFC3339)
	if code := p.Get(t, "/v1/incidents/"+id+"?at="+before, nil); code != http.StatusNotFound {
		t.Errorf("as of %s, before it began: %d, want 404", before, code)
	}
	p.GetJSON(t, "/v1/incidents?at="+before, &list)
	if len(list.Incidents) != 0 {
		t.Errorf("list as of %s, before it began: %+v", before, list.Incidents)
	}
	t.Logf("as of %s: %s, %d people, %d reports; final %d people, %d reports", at, then.State, then.PeakAuthors, then.Reports, final.PeakAuthors, final.Reports)
}
