package classify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/segmentio/kafka-go"

	"github.com/downsignal/downsignal/ingest"
)

// Producer writes records and returns once they are acknowledged.
type Producer interface {
	WriteMessages(ctx context.Context, msgs ...kafka.Message) error
}

// StageOptions configures the Kafka stage.
type StageOptions struct {
	Classifier *Classifier
	Producer   Producer
	Logger     *slog.Logger
	Metrics    *Metrics
}

// Stage turns batches of downsignal.posts records into downsignal.signals
// records. It is stateless, so any number of workers can share a group.
type Stage struct {
	o   StageOptions
	log *slog.Logger
}

// NewStage validates the options.
func NewStage(o StageOptions) (*Stage, error) {
	if o.Classifier == nil || o.Producer == nil {
		return nil, errors.New("classify stage: classifier and producer are required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Stage{o: o, log: o.Logger}, nil
}

// Handle classifies one batch and returns once Kafka acknowledged every
// signal; the caller commits the input offsets only then. Records that do
// not decode are counted, logged and skipped: retrying cannot fix them.
func (s *Stage) Handle(ctx context.Context, batch []kafka.Message) error {
	out := make([]kafka.Message, 0, len(batch))
	for _, m := range batch {
		ev, err := ingest.DecodeEvent(m.Value)
		if err != nil {
			s.o.Metrics.invalid()
			s.log.Warn("skip invalid post record", "partition", m.Partition, "offset", m.Offset, "err", err)
			continue
		}
		sig := Signal{V: SignalSchemaVersion, Event: ev}
		if ev.Kind == ingest.KindPost {
			r := s.o.Classifier.Classify(Input{Text: ev.Text, Langs: ev.Langs})
			sig.Result = &r
			s.o.Metrics.classified(r.Outage)
		}
		b, err := json.Marshal(&sig)
		if err != nil {
			return fmt.Errorf("encode signal: %w", err)
		}
		out = append(out, kafka.Message{Key: ev.Key(), Value: b})
	}
	if len(out) == 0 {
		return nil
	}
	if err := s.o.Producer.WriteMessages(ctx, out...); err != nil {
		return fmt.Errorf("produce %d signals: %w", len(out), err)
	}
	return nil
}
