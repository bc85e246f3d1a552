package record

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// ChangeVersion is the version of Change written to downsignal.incidents.
const ChangeVersion = 1

// ChangeTypes are the incident change types a Change may carry.
var ChangeTypes = []string{"incident.firing", "incident.updated", "incident.resolved"}

// Change is one record of downsignal.incidents (schema version 1): one
// incident change as a detector made it. Every serve replica's detector
// makes the same changes from the same signals and produces them all, so
// the topic holds a change once per replica; (IncidentID, Seq, Type) is
// its identity, from which notifiers derive the same webhook-ids, and the
// key (the incident id) keeps an incident's changes in one partition, in
// order.
type Change struct {
	V          int    `json:"v"`
	Type       string `json:"type"`
	IncidentID string `json:"incident_id"`
	// Seq is the change's number within its incident: firing 1, then each
	// update and the resolve.
	Seq  int       `json:"seq"`
	Time time.Time `json:"time"`
	// Silenced changes are recorded but not notified.
	Silenced bool `json:"silenced,omitempty"`
	// Incident is the incident after the change, as the detector's API
	// shows it (a JSON object; package detect owns its schema).
	Incident json.RawMessage `json:"incident"`
}

// Validate checks a change's fields.
func (c *Change) Validate() error {
	switch {
	case !slices.Contains(ChangeTypes, c.Type):
		return fmt.Errorf("change type %q: want one of %v", c.Type, ChangeTypes)
	case c.IncidentID == "":
		return fmt.Errorf("change without incident_id")
	case c.Seq < 1:
		return fmt.Errorf("change %s: seq %d, want 1 or more", c.IncidentID, c.Seq)
	case c.Time.IsZero():
		return fmt.Errorf("change %s/%d without time", c.IncidentID, c.Seq)
	case !bytes.HasPrefix(bytes.TrimSpace(c.Incident), []byte("{")):
		return fmt.Errorf("change %s/%d: incident is not a JSON object", c.IncidentID, c.Seq)
	}
	return nil
}

// DecodeChange decodes and validates one downsignal.incidents record.
func DecodeChange(b []byte) (Change, error) {
	var c Change
	if err := json.Unmarshal(b, &c); err != nil {
		return Change{}, fmt.Errorf("decode change: %w", err)
	}
	if c.V != ChangeVersion {
		return Change{}, fmt.Errorf("decode change: unsupported schema version %d", c.V)
	}
	if err := c.Validate(); err != nil {
		return Change{}, fmt.Errorf("decode change: %w", err)
	}
	return c, nil
}

// Key is the Kafka record key: the incident id.
func (c *Change) Key() []byte { return []byte(c.IncidentID) }

// Marshal encodes the change for Kafka.
func (c *Change) Marshal() ([]byte, error) { return json.Marshal(c) }
