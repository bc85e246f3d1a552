package webhook

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/downsignal/downsignal/detect"
)

// Format is the body shape an endpoint receives.
type Format string

const (
	Native       Format = "native"
	Alertmanager Format = "alertmanager"
	Slack        Format = "slack"
	Teams        Format = "teams"
	Discord      Format = "discord"
	PagerDuty    Format = "pagerduty"
)

// Formats lists every format.
var Formats = []Format{Native, Alertmanager, Slack, Teams, Discord, PagerDuty}

// Endpoint is a registered receiver.
type Endpoint struct {
	ID          string `json:"id"`
	URL         string `json:"url"`
	Format      Format `json:"format"`
	Description string `json:"description,omitempty"`
	// Services filters by service (group or affected service); empty
	// means every service.
	Services []string `json:"services,omitempty"`
	// MinSeverity filters out smaller incidents; empty means all.
	MinSeverity detect.Severity `json:"min_severity,omitempty"`
	// EventTypes are the event types the endpoint takes (EventTypes);
	// empty means all of them, the source's health included. Services and
	// MinSeverity filter incidents only.
	EventTypes []string `json:"event_types,omitempty"`
	// RoutingKey is the PagerDuty integration key (pagerduty format).
	RoutingKey string `json:"routing_key,omitempty"`
	Enabled    bool   `json:"enabled"`
	// DisabledReason says why delivery stopped (410 Gone, long failure,
	// an operator).
	DisabledReason string    `json:"disabled_reason,omitempty"`
	DisabledAt     time.Time `json:"disabled_at,omitzero"`
	// Events are the endpoint's own happenings (endpoint.disabled), newest
	// last, at most 20.
	Events []EndpointEvent `json:"events,omitempty"`
	// FailingSince is when the current run of failed attempts began.
	FailingSince time.Time `json:"failing_since,omitzero"`
	// Origin is "api" or "config" (config-file and flag endpoints are
	// rewritten from the configuration at every start).
	Origin    string    `json:"origin"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Secrets   []Secret  `json:"secrets"`
}

// EndpointEvent is something that happened to an endpoint.
type EndpointEvent struct {
	Type   string    `json:"type"`
	At     time.Time `json:"at"`
	Reason string    `json:"reason,omitempty"`
}

// Secret is one signing secret. The current secret has no expiry; a
// rotated-out one signs alongside it until ExpiresAt.
type Secret struct {
	Key       string    `json:"key"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// SecretPrefix starts every secret.
const SecretPrefix = "whsec_"

// NewSecret returns a random 32-byte secret.
func NewSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return SecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// ParseSecret checks a whsec_ secret and returns its key bytes.
func ParseSecret(s string) ([]byte, error) {
	raw, ok := strings.CutPrefix(s, SecretPrefix)
	if !ok {
		return nil, fmt.Errorf("%w: secret must start with %s", ErrInvalid, SecretPrefix)
	}
	key, err := base64.StdEncoding.DecodeString(raw)
	if err != nil || len(key) < 24 || len(key) > 64 {
		return nil, fmt.Errorf("%w: secret must be %s and 24 to 64 bytes in base64", ErrInvalid, SecretPrefix)
	}
	return key, nil
}

// activeSecrets are the secrets that sign at now: the current one and
// rotated ones still in their grace period.
func (e *Endpoint) activeSecrets(now time.Time) []Secret {
	var out []Secret
	for _, s := range e.Secrets {
		if s.ExpiresAt.IsZero() || now.Before(s.ExpiresAt) {
			out = append(out, s)
		}
	}
	return out
}

// CurrentSecret is the secret new receivers should verify with.
func (e *Endpoint) CurrentSecret() string {
	for _, s := range e.Secrets {
		if s.ExpiresAt.IsZero() {
			return s.Key
		}
	}
	return ""
}

// EventTypes lists the event types an endpoint can take.
var EventTypes = []string{detect.EventFiring, detect.EventUpdated, detect.EventResolved, EventSourceStalled, EventSourceRecovered}

// takes reports whether the endpoint wants events of type typ.
func (e *Endpoint) takes(typ string) bool {
	return len(e.EventTypes) == 0 || slices.Contains(e.EventTypes, typ)
}

// matches reports whether the endpoint wants an incident's notifications.
func (e *Endpoint) matches(in *detect.Incident) bool {
	if e.MinSeverity != "" && in.Severity.Rank() < e.MinSeverity.Rank() {
		return false
	}
	if len(e.Services) == 0 {
		return true
	}
	for _, s := range e.Services {
		if strings.EqualFold(s, in.Service) || slices.ContainsFunc(in.Services, func(x string) bool { return strings.EqualFold(x, s) }) {
			return true
		}
	}
	return false
}

// ErrInvalid is an endpoint definition that cannot be used.
var ErrInvalid = errors.New("invalid endpoint")

// ErrNotFound is an unknown endpoint or delivery.
var ErrNotFound = errors.New("not found")

// Spec is what a user gives to create or change an endpoint. Nil fields
// of an update keep their value.
type Spec struct {
	URL         *string   `json:"url"`
	Format      *string   `json:"format"`
	Description *string   `json:"description"`
	Services    *[]string `json:"services"`
	MinSeverity *string   `json:"min_severity"`
	EventTypes  *[]string `json:"event_types"`
	RoutingKey  *string   `json:"routing_key"`
	Enabled     *bool     `json:"enabled"`
	// Secret sets the signing secret (create only); empty generates one.
	Secret *string `json:"secret"`
}

// apply validates s onto e (a copy of the stored endpoint, or a new one).
// Fields are checked in a fixed order and the first refusal is returned.
func (s *Spec) apply(e *Endpoint, creating bool) error {
	if err := s.applyTarget(e, creating); err != nil {
		return err
	}
	if err := s.applyFilters(e); err != nil {
		return err
	}
	if s.RoutingKey != nil {
		if len(*s.RoutingKey) > 128 {
			return fmt.Errorf("%w: routing_key longer than 128 bytes", ErrInvalid)
		}
		e.RoutingKey = *s.RoutingKey
	}
	if e.Format == PagerDuty && e.RoutingKey == "" {
		return fmt.Errorf("%w: the pagerduty format needs routing_key", ErrInvalid)
	}
	if s.Enabled != nil {
		e.Enabled = *s.Enabled
		if e.Enabled {
			e.DisabledReason, e.DisabledAt, e.FailingSince = "", time.Time{}, time.Time{}
		} else if e.DisabledReason == "" {
			e.DisabledReason, e.DisabledAt = "disabled by an operator", time.Now().UTC()
		}
	}
	return s.applySecret(e, creating)
}

// applyTarget sets where and in which format the endpoint receives.
func (s *Spec) applyTarget(e *Endpoint, creating bool) error {
	if s.URL != nil {
		u, err := url.Parse(*s.URL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || len(*s.URL) > 2048 {
			return fmt.Errorf("%w: url must be http(s)://host/... without credentials, at most 2048 bytes", ErrInvalid)
		}
		e.URL = u.String()
	}
	if creating && e.URL == "" {
		return fmt.Errorf("%w: url is required", ErrInvalid)
	}
	if s.Format != nil {
		f := Format(strings.ToLower(strings.TrimSpace(*s.Format)))
		if !slices.Contains(Formats, f) {
			return fmt.Errorf("%w: format %q: want one of native, alertmanager, slack, teams, discord, pagerduty", ErrInvalid, clip(*s.Format, 32))
		}
		e.Format = f
	}
	if e.Format == "" {
		e.Format = Native
	}
	return nil
}

// applyFilters sets the description and which incidents the endpoint wants.
func (s *Spec) applyFilters(e *Endpoint) error {
	if s.Description != nil {
		if len(*s.Description) > 512 {
			return fmt.Errorf("%w: description longer than 512 bytes", ErrInvalid)
		}
		e.Description = *s.Description
	}
	if s.Services != nil {
		if len(*s.Services) > 100 {
			return fmt.Errorf("%w: more than 100 services", ErrInvalid)
		}
		var svcs []string
		for _, x := range *s.Services {
			if x = strings.TrimSpace(x); x == "" || len(x) > 128 {
				return fmt.Errorf("%w: empty or over-long service name", ErrInvalid)
			}
			svcs = append(svcs, x)
		}
		e.Services = svcs
	}
	if s.EventTypes != nil {
		var types []string
		for _, x := range *s.EventTypes {
			if !slices.Contains(EventTypes, x) {
				return fmt.Errorf("%w: event type %q: want one of %s", ErrInvalid, clip(x, 32), strings.Join(EventTypes, ", "))
			}
			if !slices.Contains(types, x) {
				types = append(types, x)
			}
		}
		e.EventTypes = types
	}
	if s.MinSeverity != nil {
		if *s.MinSeverity == "" {
			e.MinSeverity = ""
		} else if sev, ok := detect.ParseSeverity(*s.MinSeverity); ok {
			e.MinSeverity = sev
		} else {
			return fmt.Errorf("%w: min_severity %q: want minor, major or critical", ErrInvalid, clip(*s.MinSeverity, 32))
		}
	}
	return nil
}

// applySecret sets the signing secret, which only a creation may give,
// and generates one for a new endpoint that has none.
func (s *Spec) applySecret(e *Endpoint, creating bool) error {
	if s.Secret != nil {
		if !creating {
			return fmt.Errorf("%w: change a secret by rotating it", ErrInvalid)
		}
		if *s.Secret != "" {
			if _, err := ParseSecret(*s.Secret); err != nil {
				return err
			}
			e.Secrets = []Secret{{Key: *s.Secret}}
		}
	}
	if creating && len(e.Secrets) == 0 {
		e.Secrets = []Secret{{Key: NewSecret()}}
	}
	return nil
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

func newID(prefix string) string { return prefix + strings.ToLower(rand.Text()[:20]) }
