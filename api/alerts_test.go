package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/downsignal/downsignal/catalog"
	"github.com/downsignal/downsignal/detect"
	"github.com/downsignal/downsignal/webhook"
)

// alertServer is the API over a real detector store and webhook outbox.
func alertServer(t *testing.T, token string) *Server {
	t.Helper()
	dir := t.TempDir()
	e, err := detect.Open(detect.Options{Path: filepath.Join(dir, "alerts.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	d, err := webhook.Open(webhook.Options{Path: filepath.Join(dir, "webhooks.db"), Source: e,
		Guard: webhook.NewGuard([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")})})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	cat, err := catalog.Load()
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{Addr: "127.0.0.1:0", Catalog: cat, Alerts: e, Webhooks: d, AdminToken: token,
		Now: func() time.Time { return time.Date(2026, 1, 22, 20, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func do(t *testing.T, s *Server, method, path, token, body string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	s.srv.Handler.ServeHTTP(rec, req)
	checkAnswer(t, s, req.Pattern, rec.Code, rec.Body.Bytes())
	var out map[string]any
	if rec.Body.Len() > 0 {
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("%s %s: body %q: %v", method, path, rec.Body.String(), err)
		}
	}
	return rec.Code, out
}

func TestIncidentAndSilenceEndpoints(t *testing.T) {
	s := alertServer(t, "tok")
	tests := []struct {
		method, path, token, body string
		want                      int
	}{
		{"GET", "/v1/incidents", "", "", 200},
		{"GET", "/v1/incidents?state=firing&service=outlook&since=-2h&limit=5", "", "", 200},
		{"GET", "/v1/incidents?sevice=outlook", "", "", 400},
		{"GET", "/v1/incidents?state=asleep", "", "", 400},
		{"GET", "/v1/incidents?service=myspace", "", "", 400},
		{"GET", "/v1/incidents?limit=0", "", "", 400},
		{"GET", "/v1/incidents/nope", "", "", 404},
		{"GET", "/v1/silences", "", "", 200},
		{"POST", "/v1/silences", "", `{"service":"Teams","duration":"1h"}`, 401},
		{"POST", "/v1/silences", "wrong", `{"service":"Teams","duration":"1h"}`, 401},
		{"POST", "/v1/silences", "tok", `{"service":"Teams","duration":"1h"}`, 201},
		{"POST", "/v1/silences", "tok", `{"service":"Teams","duration":"-1h"}`, 400},
		{"POST", "/v1/silences", "tok", `{"service":"Teams","starts_at":"2026-01-22T20:00:00Z","ends_at":"2026-01-22T19:00:00Z"}`, 400},
		{"POST", "/v1/silences", "tok", `{"service":"Teams","duration":"1h","mood":"calm"}`, 400},
		{"POST", "/v1/silences", "tok", `{"service":"Teams"`, 400},
		{"DELETE", "/v1/silences/sil_nope", "tok", "", 404},
	}
	for _, tt := range tests {
		if code, body := do(t, s, tt.method, tt.path, tt.token, tt.body); code != tt.want {
			t.Errorf("%s %s (token %q, body %s): %d %v, want %d", tt.method, tt.path, tt.token, tt.body, code, body, tt.want)
		}
	}
	if code, _ := do(t, alertServer(t, ""), "POST", "/v1/silences", "tok", `{"service":"Teams","duration":"1h"}`); code != http.StatusForbidden {
		t.Errorf("without a configured token: %d, want 403", code)
	}
}

func TestWebhookEndpoints(t *testing.T) {
	s := alertServer(t, "tok")
	if code, _ := do(t, s, "GET", "/v1/webhooks", "", ""); code != http.StatusUnauthorized {
		t.Errorf("list without token: %d, want 401", code)
	}
	for _, body := range []string{`{"url":"http://10.0.0.1/x"}`, `{"url":"http://127.0.0.1:9/x","format":"fax"}`, `{"format":"slack"}`, `{"url":"http://127.0.0.1:9/x","secret":"plain"}`, `{"url":"http://127.0.0.1:9/x","services":["Myspace"]}`} {
		if code, out := do(t, s, "POST", "/v1/webhooks", "tok", body); code != http.StatusBadRequest {
			t.Errorf("create %s: %d %v, want 400", body, code, out)
		}
	}
	code, ep := do(t, s, "POST", "/v1/webhooks", "tok", `{"url":"http://127.0.0.1:9/x","format":"discord","services":["hotmail"],"min_severity":"major"}`)
	if code != http.StatusCreated || !strings.HasPrefix(ep["secret"].(string), "whsec_") || ep["services"].([]any)[0] != "Outlook" {
		t.Fatalf("create: %d %v", code, ep)
	}
	id := ep["id"].(string)
	code, list := do(t, s, "GET", "/v1/webhooks", "tok", "")
	hooks, _ := list["webhooks"].([]any)
	if code != 200 || len(hooks) != 1 || hooks[0].(map[string]any)["secret"] != nil || hooks[0].(map[string]any)["secrets"] != nil {
		t.Errorf("list: %d %v, want one endpoint without secrets", code, list)
	}
	for _, tt := range []struct {
		method, path, body string
		want               int
	}{
		{"PATCH", "/v1/webhooks/" + id, `{"min_severity":"critical"}`, 200},
		{"PATCH", "/v1/webhooks/" + id, `{"secret":"whsec_AAAA"}`, 400},
		{"PATCH", "/v1/webhooks/nope", `{"enabled":false}`, 404},
		{"GET", "/v1/webhooks/" + id + "/secret", "", 200},
		{"POST", "/v1/webhooks/" + id + "/rotate-secret", `{"grace":"720h"}`, 400},
		{"POST", "/v1/webhooks/" + id + "/rotate-secret", "", 200},
		{"POST", "/v1/webhooks/" + id + "/test", "", 202},
		{"GET", "/v1/webhooks/" + id + "/deliveries?status=lost", "", 400},
		{"GET", "/v1/webhooks/" + id + "/deliveries", "", 200},
		{"POST", "/v1/webhooks/" + id + "/deliveries/msg_nope/redeliver", "", 404},
		{"POST", "/v1/webhooks/" + id + "/replay", `{}`, 400},
		{"POST", "/v1/webhooks/" + id + "/replay", `{"since":"2026-01-22T00:00:00Z"}`, 202},
		{"DELETE", "/v1/webhooks/" + id, "", 204},
		{"DELETE", "/v1/webhooks/" + id, "", 404},
	} {
		if code, out := do(t, s, tt.method, tt.path, "tok", tt.body); code != tt.want {
			t.Errorf("%s %s %s: %d %v, want %d", tt.method, tt.path, tt.body, code, out, tt.want)
		}
	}
}
