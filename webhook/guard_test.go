package webhook_test

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/downsignal/downsignal/webhook"
)

func TestGuardRefusesPrivateAddressesAtRegistration(t *testing.T) {
	d, err := webhook.Open(webhook.Options{Path: filepath.Join(t.TempDir(), "w.db")}) // default guard
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, u := range []string{
		"http://127.0.0.1:8080/hook", "http://localhost/hook", "http://10.1.2.3/hook", "http://192.168.0.10/x",
		"http://169.254.169.254/latest/meta-data/", "http://[::1]/hook", "http://[fd00::1]/hook", "http://0.0.0.0/",
		"http://[::ffff:127.0.0.1]/hook", "http://100.64.0.1/cgnat",
	} {
		if _, err := d.Create(context.Background(), webhook.Spec{URL: str(u)}); !errors.Is(err, webhook.ErrInvalid) {
			t.Errorf("create %s: %v, want refused", u, err)
		}
	}
	for _, u := range []string{"ftp://example.com/x", "http://user:pw@8.8.8.8/", "not a url", "https:///nohost"} {
		if _, err := d.Create(context.Background(), webhook.Spec{URL: str(u)}); !errors.Is(err, webhook.ErrInvalid) {
			t.Errorf("create %s: %v, want invalid", u, err)
		}
	}
	// A public address literal is accepted (nothing is sent at creation).
	if _, err := d.Create(context.Background(), webhook.Spec{URL: str("https://8.8.8.8/hook")}); err != nil {
		t.Errorf("public address refused: %v", err)
	}
}

// The guard runs again when connecting: an endpoint stored while loopback
// was allowed (or a name that re-resolves to it) is refused at dial time.
func TestGuardRefusesPrivateAddressesAtConnect(t *testing.T) {
	rc := newReceiver(t, nil)
	path := filepath.Join(t.TempDir(), "w.db")
	d, stop := dispatcher(t, webhook.Options{Path: path})
	ep := create(t, d, strings.Replace(rc.URL, "127.0.0.1", "localhost", 1), "native")
	stop()

	d2, err := webhook.Open(webhook.Options{Path: path, Schedule: []time.Duration{0}, Poll: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d2.Run(ctx) }()
	defer func() { cancel(); <-done; d2.Close() }()
	if _, err := d2.SendTest(ep.ID); err != nil {
		t.Fatal(err)
	}
	del := waitStatus(t, d2, ep.ID, webhook.StatusFailed)
	if len(del.Attempts) != 1 || !strings.Contains(del.Attempts[0].Error, "prohibited") {
		t.Errorf("attempts %+v, want one refused by the guard", del.Attempts)
	}
	if n := len(rc.requests()); n != 0 {
		t.Errorf("receiver got %d requests, want none", n)
	}
}

func TestFiltersBySeverityAndService(t *testing.T) {
	rc := newReceiver(t, nil)
	src := newSource()
	d, _ := dispatcher(t, webhook.Options{Source: src})
	all := create(t, d, rc.URL+"/all", "native")
	major, err := d.Create(context.Background(), webhook.Spec{URL: str(rc.URL + "/critical"), MinSeverity: str("critical")})
	if err != nil {
		t.Fatal(err)
	}
	teams, err := d.Create(context.Background(), webhook.Spec{URL: str(rc.URL + "/teams"), Services: &[]string{"teams"}})
	if err != nil {
		t.Fatal(err)
	}
	gmail, err := d.Create(context.Background(), webhook.Spec{URL: str(rc.URL + "/gmail"), Services: &[]string{"Gmail"}})
	if err != nil {
		t.Fatal(err)
	}
	src.add(firing()) // major, Microsoft 365 with Outlook and Teams
	rc.wait(t, 2, 10*time.Second)
	time.Sleep(200 * time.Millisecond)
	got := map[string]int{}
	for _, r := range rc.requests() {
		got[r.header.Get("webhook-id")]++
	}
	if len(got) != 2 {
		t.Errorf("%d deliveries, want 2 (all and teams)", len(got))
	}
	for ep, want := range map[string]int{all.ID: 1, major.ID: 0, teams.ID: 1, gmail.ID: 0} {
		dels, _ := d.Deliveries(ep, "", 10)
		if len(dels) != want {
			t.Errorf("endpoint %s: %d deliveries, want %d", ep, len(dels), want)
		}
	}
	if _, err := d.Create(context.Background(), webhook.Spec{URL: str(rc.URL), MinSeverity: str("loud")}); !errors.Is(err, webhook.ErrInvalid) {
		t.Errorf("bad severity: %v", err)
	}
	if _, err := d.Create(context.Background(), webhook.Spec{URL: str(rc.URL), Format: str("pagerduty")}); !errors.Is(err, webhook.ErrInvalid) {
		t.Errorf("pagerduty without routing key: %v", err)
	}
}

func TestConfigureUpsertsAndKeepsSecrets(t *testing.T) {
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {})
	path := filepath.Join(t.TempDir(), "w.db")
	d, stop := dispatcher(t, webhook.Options{Path: path})
	cfg := []webhook.ConfigEndpoint{{Name: "ops", URL: rc.URL, Format: "slack"}, {Name: "pd", URL: rc.URL + "/pd", Format: "pagerduty", RoutingKey: "k"}}
	if err := d.Configure(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	ep, err := d.Endpoint(webhook.ConfigID("ops"))
	if err != nil {
		t.Fatal(err)
	}
	secret := ep.CurrentSecret()
	stop()
	d2, _ := dispatcher(t, webhook.Options{Path: path})
	if err := d2.Configure(context.Background(), cfg[:1]); err != nil {
		t.Fatal(err)
	}
	eps, _ := d2.Endpoints()
	if len(eps) != 1 || eps[0].CurrentSecret() != secret || eps[0].Format != webhook.Slack {
		t.Fatalf("after reconfigure: %+v, want only ops with its secret kept", eps)
	}
	if err := d2.Configure(context.Background(), []webhook.ConfigEndpoint{{Name: "x", URL: "http://169.254.169.254/"}}); err == nil {
		t.Error("configured metadata address accepted")
	}
}
