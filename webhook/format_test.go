package webhook_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/downsignal/downsignal/detect"
	"github.com/downsignal/downsignal/webhook"
)

func render(t *testing.T, f webhook.Format, typ string) map[string]any {
	t.Helper()
	in := incident
	if typ == detect.EventResolved {
		in.State, in.ResolvedAt = detect.Resolved, in.StartedAt.Add(80*60e9)
	}
	ep := &webhook.Endpoint{Format: f, RoutingKey: "R0UT1NG"}
	b, err := webhook.Render(f, ep, webhook.Message{Type: typ, Time: in.StartedAt, Incident: &in}, "https://downsignal.example")
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: not JSON: %v", f, err)
	}
	return v
}

func TestFormats(t *testing.T) {
	am := render(t, webhook.Alertmanager, detect.EventResolved)
	alerts, _ := am["alerts"].([]any)
	if am["version"] != "4" || am["status"] != "resolved" || len(alerts) != 1 || alerts[0].(map[string]any)["endsAt"] == "0001-01-01T00:00:00Z" {
		t.Errorf("alertmanager resolved: %v", am)
	}
	if l := am["commonLabels"].(map[string]any); l["service"] != "Microsoft 365" || l["alertname"] != "ServiceOutageReported" {
		t.Errorf("alertmanager labels %v", l)
	}

	pd := render(t, webhook.PagerDuty, detect.EventFiring)
	if pd["event_action"] != "trigger" || pd["dedup_key"] != "downsignal-"+incident.ID || pd["routing_key"] != "R0UT1NG" {
		t.Errorf("pagerduty trigger %v", pd)
	}
	if p := pd["payload"].(map[string]any); p["severity"] != "error" || p["source"] != "downsignal" {
		t.Errorf("pagerduty payload %v", p)
	}
	pdr := render(t, webhook.PagerDuty, detect.EventResolved)
	if pdr["event_action"] != "resolve" || pdr["dedup_key"] != pd["dedup_key"] || pdr["payload"] != nil {
		t.Errorf("pagerduty resolve %v", pdr)
	}

	dc := render(t, webhook.Discord, detect.EventFiring)
	am2, _ := dc["allowed_mentions"].(map[string]any)
	if parse, ok := am2["parse"].([]any); !ok || len(parse) != 0 {
		t.Errorf("discord allowed_mentions %v, want parse []", dc["allowed_mentions"])
	}

	tm := render(t, webhook.Teams, detect.EventFiring)
	att := tm["attachments"].([]any)[0].(map[string]any)
	if tm["type"] != "message" || att["contentType"] != "application/vnd.microsoft.card.adaptive" || att["content"].(map[string]any)["type"] != "AdaptiveCard" {
		t.Errorf("teams %v", tm)
	}

	sl := render(t, webhook.Slack, detect.EventUpdated)
	b, _ := json.Marshal(sl)
	if !strings.HasPrefix(sl["text"].(string), "Update: ") || strings.Contains(string(b), "<!channel>") {
		t.Errorf("slack %s: want an update headline and no live mention", b)
	}

	nt := render(t, webhook.Native, detect.EventFiring)
	if nt["type"] != detect.EventFiring || nt["data"].(map[string]any)["id"] != incident.ID {
		t.Errorf("native %v", nt)
	}
}
