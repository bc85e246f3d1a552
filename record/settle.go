package record

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// SettleVersion is the version of Settle written to downsignal.notify-state.
const SettleVersion = 1

// SettleStatuses are the final states of a webhook delivery.
var SettleStatuses = []string{"delivered", "failed", "superseded"}

// Settle is one record of downsignal.notify-state (schema version 1): a
// webhook delivery that the notifier owning its incident settled. Every
// serve replica reads the topic and marks its own copy of the delivery
// settled, so the replica that takes over the incident after a failover
// neither sends it again nor sends anything older after it. The key is the
// delivery id (the webhook-id), so the topic can be compacted.
type Settle struct {
	V          int    `json:"v"`
	DeliveryID string `json:"delivery_id"`
	EndpointID string `json:"endpoint_id"`
	// Type is the event type (incident.firing, ...).
	Type string `json:"type"`
	// Subject and Seq place the delivery in its endpoint's queue: the
	// incident's id and change number.
	Subject string    `json:"subject"`
	Seq     int       `json:"seq"`
	Status  string    `json:"status"`
	At      time.Time `json:"at"`
}

// Validate checks a settle's fields.
func (s *Settle) Validate() error {
	switch {
	case s.DeliveryID == "" || s.EndpointID == "":
		return fmt.Errorf("settle without delivery_id or endpoint_id")
	case !slices.Contains(SettleStatuses, s.Status):
		return fmt.Errorf("settle %s: status %q, want one of %v", s.DeliveryID, s.Status, SettleStatuses)
	case s.Subject == "":
		return fmt.Errorf("settle %s without subject", s.DeliveryID)
	case s.At.IsZero():
		return fmt.Errorf("settle %s without time", s.DeliveryID)
	}
	return nil
}

// DecodeSettle decodes and validates one downsignal.notify-state record.
func DecodeSettle(b []byte) (Settle, error) {
	var s Settle
	if err := json.Unmarshal(b, &s); err != nil {
		return Settle{}, fmt.Errorf("decode settle: %w", err)
	}
	if s.V != SettleVersion {
		return Settle{}, fmt.Errorf("decode settle: unsupported schema version %d", s.V)
	}
	if err := s.Validate(); err != nil {
		return Settle{}, fmt.Errorf("decode settle: %w", err)
	}
	return s, nil
}

// Key is the Kafka record key: the delivery id.
func (s *Settle) Key() []byte { return []byte(s.DeliveryID) }

// Marshal encodes the settle for Kafka.
func (s *Settle) Marshal() ([]byte, error) { return json.Marshal(s) }
