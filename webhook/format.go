package webhook

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/downsignal/downsignal/detect"
)

// Message is what is rendered for one endpoint: an incident change, a
// change of the post source's health (Source), or a test send (both nil).
type Message struct {
	Type     string
	Time     time.Time
	Incident *detect.Incident
	Source   *SourceChange
}

// TypeTest is the event type of a test send.
const TypeTest = "endpoint.test"

// Render builds the body an endpoint of format f receives.
func Render(f Format, ep *Endpoint, m Message, externalURL string) ([]byte, error) {
	var v any
	switch f {
	case Native, "":
		v = native(m)
	case Alertmanager:
		v = alertmanager(m, externalURL)
	case Slack:
		v = slack(m)
	case Teams:
		v = teams(m)
	case Discord:
		v = discord(m)
	case PagerDuty:
		v = pagerduty(m, ep.RoutingKey, externalURL)
	default:
		return nil, fmt.Errorf("unknown format %q", f)
	}
	return json.Marshal(v)
}

// native is {type, timestamp, data}, the Standard Webhooks payload shape.
func native(m Message) any {
	data := any(map[string]string{"message": "test from downsignal: this endpoint receives incident notifications"})
	switch {
	case m.Incident != nil:
		data = m.Incident
	case m.Source != nil:
		data = sourceDataOf(m.Source)
	}
	return map[string]any{"type": m.Type, "timestamp": m.Time.UTC().Format(time.RFC3339), "data": data}
}

func headline(m Message) string {
	if c := m.Source; c != nil {
		if c.Type == EventSourceRecovered {
			return "downsignal's post source " + c.Source + " recovered"
		}
		return fmt.Sprintf("downsignal's post source %s stalled: no post for %s", c.Source, c.StallAfter)
	}
	in := m.Incident
	if in == nil {
		return "downsignal test notification"
	}
	switch m.Type {
	case detect.EventResolved:
		return "Resolved: " + in.Title
	case detect.EventUpdated:
		return "Update: " + in.Title
	}
	return in.Title
}

func details(in *detect.Incident) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Severity %s, confidence %s. %d people in 5 minutes at peak (about %.1f expected).", in.Severity, in.Confidence, in.PeakAuthors, in.Expected)
	if len(in.Services) > 0 {
		fmt.Fprintf(&b, " Services: %s.", strings.Join(in.Services, ", "))
	}
	if len(in.TopCodes) > 0 {
		var codes []string
		for _, c := range in.TopCodes[:min(3, len(in.TopCodes))] {
			codes = append(codes, c.Code)
		}
		fmt.Fprintf(&b, " Error codes: %s.", strings.Join(codes, ", "))
	}
	if len(in.Regions) > 0 {
		var rs []string
		for _, r := range in.Regions[:min(3, len(in.Regions))] {
			rs = append(rs, r.Name)
		}
		fmt.Fprintf(&b, " Regions: %s.", strings.Join(rs, ", "))
	}
	fmt.Fprintf(&b, " Started %s.", in.StartedAt.UTC().Format("2006-01-02 15:04 MST"))
	if !in.ResolvedAt.IsZero() {
		fmt.Fprintf(&b, " Resolved %s.", in.ResolvedAt.UTC().Format("2006-01-02 15:04 MST"))
	}
	return b.String()
}

func sampleText(in *detect.Incident) string {
	if len(in.Samples) == 0 {
		return ""
	}
	return in.Samples[0].Text
}

// amAlert is what an Alertmanager webhook says about one alert.
type amAlert struct {
	status, name, fingerprint, groupKey string
	labels, ann                         map[string]string
	starts, ends                        time.Time
}

func amTest(m Message) amAlert {
	return amAlert{status: "firing", name: "DownsignalTest", labels: map[string]string{"alertname": "DownsignalTest"},
		ann: map[string]string{"summary": headline(m)}, starts: m.Time.UTC(), fingerprint: "test",
		groupKey: "{}:{alertname=\"DownsignalTest\"}"}
}

func amIncident(m Message) amAlert {
	in := m.Incident
	a := amAlert{status: "firing", name: "ServiceOutageReported", starts: in.StartedAt.UTC(), fingerprint: in.ID}
	a.labels = map[string]string{"alertname": a.name, "service": in.Service, "severity": string(in.Severity),
		"confidence": string(in.Confidence), "incident_id": in.ID, "source": "downsignal"}
	a.ann = map[string]string{"summary": in.Title, "description": details(in)}
	if s := sampleText(in); s != "" {
		a.ann["sample"] = s
	}
	if m.Type == detect.EventResolved {
		a.status, a.ends = "resolved", in.ResolvedAt.UTC()
	}
	a.groupKey = fmt.Sprintf("{}:{alertname=%q, service=%q}", a.name, in.Service)
	return a
}

// amSource is a stall as an alert that fires when the stall is noticed
// and resolves when posts flow again; the post source is post_source, as
// source already names downsignal.
func amSource(m Message) amAlert {
	c := m.Source
	a := amAlert{status: "firing", name: "DownsignalSourceStalled", starts: c.Since.Add(c.StallAfter).UTC(), fingerprint: c.stallID()}
	a.labels = map[string]string{"alertname": a.name, "post_source": c.Source, "severity": "critical", "source": "downsignal"}
	a.ann = map[string]string{"summary": headline(m), "description": sourceDetails(c)}
	if c.Type == EventSourceRecovered {
		a.status, a.ends = "resolved", c.At.UTC()
	}
	a.groupKey = fmt.Sprintf("{}:{alertname=%q, post_source=%q}", a.name, c.Source)
	return a
}

// alertmanager is Alertmanager's webhook v4 body, so receivers written
// for Alertmanager work unchanged.
func alertmanager(m Message, externalURL string) any {
	var x amAlert
	switch {
	case m.Incident != nil:
		x = amIncident(m)
	case m.Source != nil:
		x = amSource(m)
	default:
		x = amTest(m)
	}
	a := map[string]any{
		"status": x.status, "labels": x.labels, "annotations": x.ann,
		"startsAt": x.starts.Format(time.RFC3339), "endsAt": "0001-01-01T00:00:00Z",
		"generatorURL": externalURL, "fingerprint": x.fingerprint,
	}
	if !x.ends.IsZero() {
		a["endsAt"] = x.ends.Format(time.RFC3339)
	}
	return map[string]any{
		"version": "4", "groupKey": x.groupKey, "truncatedAlerts": 0, "status": x.status, "receiver": "downsignal",
		"groupLabels":       map[string]string{"alertname": x.name},
		"commonLabels":      x.labels,
		"commonAnnotations": x.ann,
		"externalURL":       externalURL,
		"alerts":            []any{a},
	}
}

func slack(m Message) any {
	text := headline(m)
	blocks := []any{map[string]any{"type": "header", "text": map[string]any{"type": "plain_text", "text": clip(text, 150)}}}
	if in := m.Incident; in != nil {
		blocks = append(blocks, map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": slackEscape(details(in))}})
		if s := sampleText(in); s != "" {
			blocks = append(blocks, map[string]any{"type": "context", "elements": []any{map[string]any{"type": "plain_text", "text": clip(s, 300)}}})
		}
	}
	if c := m.Source; c != nil {
		blocks = append(blocks, map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": slackEscape(sourceDetails(c))}})
	}
	return map[string]any{"text": slackEscape(text), "blocks": blocks}
}

// slackEscape keeps post text from forming Slack mentions or links.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// teams is a message with an Adaptive Card, what a Teams Workflows
// ("Post to a channel when a webhook request is received") URL accepts.
func teams(m Message) any {
	body := []any{map[string]any{"type": "TextBlock", "text": headline(m), "weight": "Bolder", "size": "Medium", "wrap": true}}
	if in := m.Incident; in != nil {
		facts := []any{
			map[string]string{"title": "Service", "value": in.Service},
			map[string]string{"title": "Severity", "value": string(in.Severity)},
			map[string]string{"title": "Confidence", "value": string(in.Confidence)},
			map[string]string{"title": "Started", "value": in.StartedAt.UTC().Format(time.RFC3339)},
		}
		if len(in.Services) > 0 {
			facts = append(facts, map[string]string{"title": "Services", "value": strings.Join(in.Services, ", ")})
		}
		body = append(body, map[string]any{"type": "FactSet", "facts": facts},
			map[string]any{"type": "TextBlock", "text": details(in), "wrap": true})
	}
	if c := m.Source; c != nil {
		facts := []any{
			map[string]string{"title": "Source", "value": c.Source},
			map[string]string{"title": "Last post", "value": c.Since.UTC().Format(time.RFC3339)},
		}
		if c.LastError != "" {
			facts = append(facts, map[string]string{"title": "Last error", "value": clip(c.LastError, 300)})
		}
		body = append(body, map[string]any{"type": "FactSet", "facts": facts},
			map[string]any{"type": "TextBlock", "text": sourceDetails(c), "wrap": true})
	}
	return map[string]any{
		"type": "message",
		"attachments": []any{map[string]any{
			"contentType": "application/vnd.microsoft.card.adaptive",
			"content": map[string]any{
				"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
				"type":    "AdaptiveCard", "version": "1.4", "body": body,
			},
		}},
	}
}

// discord never lets post text ping anyone: allowed_mentions.parse = [].
func discord(m Message) any {
	color := 0xE67E22
	desc := ""
	if in := m.Incident; in != nil {
		desc = details(in)
		if m.Type == detect.EventResolved {
			color = 0x2ECC71
		} else if in.Severity == detect.Critical {
			color = 0xE74C3C
		}
	}
	if c := m.Source; c != nil {
		desc, color = sourceDetails(c), 0xE74C3C
		if c.Type == EventSourceRecovered {
			color = 0x2ECC71
		}
	}
	return map[string]any{
		"content":          clip(headline(m), 1900),
		"embeds":           []any{map[string]any{"title": clip(headline(m), 250), "description": clip(desc, 4000), "color": color}},
		"allowed_mentions": map[string]any{"parse": []string{}},
	}
}

// pagerduty is an Events API v2 trigger or resolve, deduplicated on the
// incident id so updates and the resolution land on one PagerDuty incident.
func pagerduty(m Message, routingKey, externalURL string) any {
	action, dedup := "trigger", "downsignal-test"
	payload := map[string]any{"summary": headline(m), "source": "downsignal", "severity": "info",
		"timestamp": m.Time.UTC().Format(time.RFC3339)}
	if in := m.Incident; in != nil {
		dedup = "downsignal-" + in.ID
		if m.Type == detect.EventResolved {
			action = "resolve"
		}
		sev := map[detect.Severity]string{detect.Minor: "warning", detect.Major: "error", detect.Critical: "critical"}[in.Severity]
		if sev == "" {
			sev = "warning"
		}
		payload = map[string]any{
			"summary": clip(in.Title, 1024), "source": "downsignal", "severity": sev,
			"timestamp": m.Time.UTC().Format(time.RFC3339), "component": in.Service, "class": "outage reports",
			"custom_details": map[string]any{"incident_id": in.ID, "services": in.Services, "peak_authors": in.PeakAuthors,
				"confidence": in.Confidence, "top_codes": in.TopCodes, "regions": in.Regions, "details": details(in)},
		}
	}
	if c := m.Source; c != nil {
		action, dedup, payload = sourcePagerDuty(m)
	}
	body := map[string]any{"routing_key": routingKey, "event_action": action, "dedup_key": dedup}
	if action == "trigger" {
		body["payload"] = payload
		if externalURL != "" {
			body["links"] = []any{map[string]string{"href": externalURL, "text": "downsignal"}}
		}
	}
	return body
}

// sourcePagerDuty is a stall as a PagerDuty alert of its own: a trigger,
// then a resolve with the same dedup_key, one key per stall.
func sourcePagerDuty(m Message) (action, dedup string, payload map[string]any) {
	c := m.Source
	action = "trigger"
	if c.Type == EventSourceRecovered {
		action = "resolve"
	}
	payload = map[string]any{
		"summary": clip(headline(m), 1024), "source": "downsignal", "severity": "error",
		"timestamp": m.Time.UTC().Format(time.RFC3339), "component": c.Source, "class": "source health",
		"custom_details": sourceDataOf(c),
	}
	return action, "downsignal-" + c.stallID(), payload
}
