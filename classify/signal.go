package classify

import (
	"encoding/json"
	"fmt"

	"github.com/downsignal/downsignal/ingest"
)

// SignalSchemaVersion is the version of Signal written to downsignal.signals.
const SignalSchemaVersion = 1

// Signal is one record of downsignal.signals (schema version 1): the ingest
// event as it arrived, and for posts what the classifier found in it.
// Delete and account events pass through with no Result, so everything
// downstream sees them in the same per-author order as the posts.
type Signal struct {
	V      int          `json:"v"`
	Event  ingest.Event `json:"event"`
	Result *Result      `json:"result,omitempty"`
}

// DecodeSignal decodes and validates one downsignal.signals record.
func DecodeSignal(b []byte) (Signal, error) {
	var s Signal
	if err := json.Unmarshal(b, &s); err != nil {
		return Signal{}, fmt.Errorf("decode signal: %w", err)
	}
	if s.V != SignalSchemaVersion {
		return Signal{}, fmt.Errorf("decode signal: unsupported schema version %d", s.V)
	}
	if err := s.Event.Validate(); err != nil {
		return Signal{}, fmt.Errorf("decode signal: %w", err)
	}
	if s.Event.Kind == ingest.KindPost && s.Result == nil {
		return Signal{}, fmt.Errorf("decode signal: post %s without result", s.Event.URI)
	}
	return s, nil
}
