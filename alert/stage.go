package alert

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/downsignal/downsignal/classify"
)

// Stage feeds batches of downsignal.signals records into an Engine.
type Stage struct {
	engine *Engine
	log    *slog.Logger
	now    func() time.Time
}

// NewStage returns the Kafka handler of the alert stage.
func NewStage(e *Engine, logger *slog.Logger) (*Stage, error) {
	if e == nil {
		return nil, errors.New("alert stage: nil engine")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Stage{engine: e, log: logger, now: time.Now}, nil
}

// Handle applies one batch and returns once it is durable. Records that do
// not decode are counted, logged and skipped.
func (s *Stage) Handle(ctx context.Context, batch []kafka.Message) error {
	changes := make([]Change, 0, len(batch))
	for _, m := range batch {
		sig, err := classify.DecodeSignal(m.Value)
		if err != nil {
			s.engine.metrics.invalidRecord()
			s.log.Warn("skip invalid signal record", "partition", m.Partition, "offset", m.Offset, "err", err)
			// Still a record of the partition: it moves its offset.
			changes = append(changes, Change{Partition: m.Partition, Offset: m.Offset, HighWaterMark: m.HighWaterMark, Signal: skipSignal})
			continue
		}
		changes = append(changes, Change{Partition: m.Partition, Offset: m.Offset, HighWaterMark: m.HighWaterMark, Signal: sig})
	}
	return s.engine.Apply(ctx, changes, s.now())
}

// skipSignal stands for a record that did not decode: an account event
// changes nothing but the offset.
var skipSignal = classify.Signal{}
