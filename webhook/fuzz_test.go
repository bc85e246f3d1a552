package webhook

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 22, 19, 33, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0}, {"0", 0}, {"-5", 0}, {"120", 2 * time.Minute}, {" 7 ", 7 * time.Second},
		{"99999999999", 7 * 24 * time.Hour}, {"Thu, 22 Jan 2026 19:35:00 GMT", 2 * time.Minute},
		{"Thu, 22 Jan 2026 19:00:00 GMT", 0}, {"soon", 0},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	f.Add("120")
	f.Add("Thu, 22 Jan 2026 19:35:00 GMT")
	f.Fuzz(func(t *testing.T, v string) {
		if d := parseRetryAfter(v, time.Now()); d < 0 {
			t.Fatalf("negative %v", d)
		}
	})
}

// FuzzSpec feeds API bodies to endpoint validation: it must answer with
// ErrInvalid or a usable endpoint, never panic.
func FuzzSpec(f *testing.F) {
	f.Add(`{"url":"https://hooks.example.com/x","format":"slack","services":["Outlook"],"min_severity":"major"}`)
	f.Add(`{"url":"http://[::1]:80/","format":"pagerduty","routing_key":""}`)
	f.Add(`{"url":"https://x","secret":"whsec_AAAA"}`)
	f.Fuzz(func(t *testing.T, body string) {
		var s Spec
		if json.Unmarshal([]byte(body), &s) != nil {
			return
		}
		ep := &Endpoint{}
		err := s.apply(ep, true)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v is not ErrInvalid", err)
			}
			return
		}
		if ep.URL == "" || ep.CurrentSecret() == "" || ep.Format == "" {
			t.Fatalf("accepted an unusable endpoint %+v", ep)
		}
		if _, err := ParseSecret(ep.CurrentSecret()); err != nil {
			t.Fatalf("accepted secret does not parse: %v", err)
		}
	})
}
