package deploy_test

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/downsignal/downsignal/detect/detecttest"
)

// external are metrics the rules read that downsignal does not export: the
// kubelet's volume statistics.
var external = map[string]bool{
	"kubelet_volume_stats_available_bytes": true,
	"kubelet_volume_stats_capacity_bytes":  true,
}

// exported runs the built binary's whole pipeline (downsignal run) over
// hours of a day with an outage, delivering its incident to a webhook
// receiver that fails once, and returns the names of every series /metrics
// then shows: what a Prometheus scraping a busy deployment sees.
func exported(t *testing.T) map[string]bool {
	t.Helper()
	var calls atomic.Int32
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rc.Close)
	day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -1)
	var buf strings.Builder
	for _, p := range detecttest.Day(detecttest.DayOptions{Date: day, Seed: 16, From: 12, To: 22, Surge: true}) {
		buf.WriteString(detecttest.JetstreamLine(p) + "\n")
	}
	capture := filepath.Join(t.TempDir(), "capture.jsonl")
	if err := os.WriteFile(capture, []byte(buf.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	p := stage(t, "run", "run", "--data-dir", t.TempDir(), "--broker-listen", freeAddr(t), "--source", "replay:"+capture,
		"--webhook", "native="+rc.URL, "--webhook-allow-net", "127.0.0.0/8", "--webhook-max-age", "0")
	names := map[string]bool{}
	// The incident is delivered at the second attempt, 5 s after the first.
	waitFor(t, 120*time.Second, "the incident delivered after one failed attempt, and a scrape showing it", func() (bool, string) {
		ss, err := scrape(p.addr)
		if err != nil {
			return false, err.Error()
		}
		for _, s := range ss {
			names[s.name] = true
		}
		_, delivered := sum(ss, "downsignal_webhook_attempts_total", `outcome="success"`)
		return delivered > 0 && names["downsignal_api_request_seconds_bucket"], fmt.Sprintf("receiver called %d times", calls.Load())
	})
	return names
}

// quiet are metrics downsignal declares but that the replay in exported
// never sets: each must still be declared in the code (declared).
var quiet = map[string]string{
	"downsignal_ingest_cursor_lag_seconds":        "set by the live sources (jetstream, firehose), not by a replay",
	"downsignal_webhook_endpoints_disabled_total": "counts only once an endpoint is disabled",
}

var declaration = regexp.MustCompile(`Namespace: "downsignal", Subsystem: "([a-z_]+)", Name: "([a-z_]+)"`)

// declared lists the metrics the repository's code declares.
func declared(t *testing.T) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		b, err := os.ReadFile(path)
		for _, m := range declaration.FindAllStringSubmatch(string(b), -1) {
			out["downsignal_"+m[1]+"_"+m[2]] = true
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var metricRef = regexp.MustCompile(`\b(?:downsignal|process|go|kubelet)_[a-z0-9_]+\b`)

// checkExpr reports a PromQL expression whose brackets do not balance or
// that reads a metric the binary does not export.
func checkExpr(t *testing.T, where, expr string, names map[string]bool) {
	t.Helper()
	if expr == "" {
		t.Errorf("%s: empty expression", where)
		return
	}
	depth := map[rune]int{}
	for _, r := range expr {
		switch r {
		case '(', '[', '{':
			depth[r]++
		case ')':
			depth['(']--
		case ']':
			depth['[']--
		case '}':
			depth['{']--
		}
	}
	for r, d := range depth {
		if d != 0 {
			t.Errorf("%s: unbalanced %c in %q", where, r, expr)
		}
	}
	refs := metricRef.FindAllString(expr, -1)
	if len(refs) == 0 {
		t.Errorf("%s: reads no metric: %q", where, expr)
	}
	for _, m := range refs {
		if !names[m] && !external[m] {
			t.Errorf("%s reads %s, which downsignal does not export", where, m)
		}
	}
}

// The Grafana dashboard and the Prometheus rules in deploy/ read only
// metrics that a running downsignal really exports, and parse.
func TestDashboardAndAlertsReadRealMetrics(t *testing.T) {
	names := exported(t)
	code := declared(t)
	for m, why := range quiet {
		if !code[m] {
			t.Errorf("%s (%s) is declared nowhere in the code", m, why)
		}
		names[m] = true
	}
	checkDashboard(t, names)
	checkRules(t, names)
}

func checkDashboard(t *testing.T, names map[string]bool) {
	t.Helper()
	var dash struct {
		UID    string `json:"uid"`
		Panels []struct {
			ID      int    `json:"id"`
			Type    string `json:"type"`
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	b, err := os.ReadFile("grafana/downsignal.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("grafana/downsignal.json: %v", err)
	}
	ids := map[int]bool{}
	queries := 0
	for _, p := range dash.Panels {
		if ids[p.ID] || p.Title == "" {
			t.Errorf("panel %d %q: ids must be unique and titles set", p.ID, p.Title)
		}
		ids[p.ID] = true
		if p.Type != "row" && len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, q := range p.Targets {
			queries++
			checkExpr(t, "dashboard panel "+p.Title, q.Expr, names)
		}
	}
	if dash.UID == "" || queries < 10 {
		t.Errorf("dashboard uid %q with %d queries: not the dashboard deploy/ describes", dash.UID, queries)
	}
}

func checkRules(t *testing.T, names map[string]bool) {
	t.Helper()

	var rules struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Expr        string            `yaml:"expr"`
				For         string            `yaml:"for"`
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	b, err := os.ReadFile("prometheus/alerts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&rules); err != nil {
		t.Fatalf("prometheus/alerts.yaml: %v", err)
	}
	alerts := map[string]bool{}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" || alerts[r.Alert] {
				t.Errorf("group %s: alert name %q empty or repeated", g.Name, r.Alert)
			}
			alerts[r.Alert] = true
			if _, err := time.ParseDuration(r.For); err != nil {
				t.Errorf("%s: for %q: %v", r.Alert, r.For, err)
			}
			if s := r.Labels["severity"]; s != "warning" && s != "critical" {
				t.Errorf("%s: severity %q, want warning or critical", r.Alert, s)
			}
			if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("%s: want a summary and a description", r.Alert)
			}
			checkExpr(t, "alert "+r.Alert, r.Expr, names)
		}
	}
	for _, want := range []string{"DownsignalSourceStalled", "DownsignalConsumerLagGrowing", "DownsignalWebhookFailures", "DownsignalDiskFilling"} {
		if !alerts[want] {
			t.Errorf("no alert %s", want)
		}
	}
}
