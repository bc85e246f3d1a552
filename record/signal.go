package record

import (
	"encoding/json"
	"fmt"
)

// SignalVersion is the version of Signal written to downsignal.signals.
const SignalVersion = 1

// Signal is one record of downsignal.signals (schema version 1): the ingest
// event as it arrived, and for posts what the classifier found in it.
// Delete and account events pass through with no Result, so everything
// downstream sees them in the same per-author order as the posts.
type Signal struct {
	V      int     `json:"v"`
	Event  Event   `json:"event"`
	Result *Result `json:"result,omitempty"`
}

// DecodeSignal decodes and validates one downsignal.signals record.
func DecodeSignal(b []byte) (Signal, error) {
	var s Signal
	if err := json.Unmarshal(b, &s); err != nil {
		return Signal{}, fmt.Errorf("decode signal: %w", err)
	}
	if s.V != SignalVersion {
		return Signal{}, fmt.Errorf("decode signal: unsupported schema version %d", s.V)
	}
	if err := s.Event.Validate(); err != nil {
		return Signal{}, fmt.Errorf("decode signal: %w", err)
	}
	if s.Event.Kind == KindPost && s.Result == nil {
		return Signal{}, fmt.Errorf("decode signal: post %s without result", s.Event.URI)
	}
	return s, nil
}

// Result is what the classifier says about a post. Its JSON form is a
// public contract: it is stored in signals, indexed, and served by the API.
type Result struct {
	Outage     bool         `json:"outage"`            // is this a report that a service is failing now
	Score      float64      `json:"score"`             // 0..1 confidence that it is an outage report
	Intent     string       `json:"intent"`            // "outage", "recovery" or "none"
	Services   []ServiceHit `json:"services"`          // never nil; each service once, in order of first mention
	ErrorCodes []ErrorCode  `json:"error_codes"`       // never nil
	Regions    []Region     `json:"regions,omitempty"` // places the post names
}

// Intents.
const (
	IntentOutage   = "outage"
	IntentRecovery = "recovery"
	IntentNone     = "none"
)

// ServiceHit is a service named in a post.
type ServiceHit struct {
	ID     string `json:"id"`               // stable slug, e.g. "outlook"
	Name   string `json:"name"`             // canonical name, e.g. "Outlook"
	Parent string `json:"parent,omitempty"` // canonical name of the parent, e.g. "Microsoft 365"
	// Group is the canonical name of the service an outage of this one is
	// grouped under (the catalog's Group): Outlook's and Teams' is
	// "Microsoft 365", Microsoft 365's is itself, and never a vendor.
	Group    string `json:"group,omitempty"`
	Category string `json:"category,omitempty"`
	Matched  string `json:"matched"` // the text as it appeared in the post
}

// ErrorCode is an error code quoted in a post.
type ErrorCode struct {
	Code    string `json:"code"`   // normalized, e.g. "451 4.3.2", "HTTP 503", "AADSTS50058", "0x80070005"
	Family  string `json:"family"` // smtp, http, aadsts, caa, hresult, aws, cloudflare, playstation, xbox, nintendo
	Meaning string `json:"meaning,omitempty"`
}

// Region is a place named in a post.
type Region struct {
	Name string `json:"name"`           // "North America", "Chicago", "us-east-1", "Germany"
	Kind string `json:"kind"`           // continent, country, city, cloud-region
	Code string `json:"code,omitempty"` // ISO country code or cloud region id where it has one
}

// Key is the Kafka record key: the author DID, as for the event.
func (s *Signal) Key() []byte { return s.Event.Key() }

// Marshal encodes the signal for Kafka.
func (s *Signal) Marshal() ([]byte, error) { return json.Marshal(s) }
