package index

import (
	"context"
	"errors"
	"log/slog"

	"github.com/segmentio/kafka-go"

	"github.com/downsignal/downsignal/classify"
)

// Stage feeds batches of downsignal.signals records into an Index.
type Stage struct {
	index   *Index
	log     *slog.Logger
	metrics *Metrics
}

// NewStage returns the Kafka handler of the index stage.
func NewStage(x *Index, logger *slog.Logger) (*Stage, error) {
	if x == nil {
		return nil, errors.New("index stage: nil index")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Stage{index: x, log: logger, metrics: x.metrics}, nil
}

// Handle applies one batch and returns once it is durable. Records that do
// not decode are counted, logged and skipped.
func (s *Stage) Handle(ctx context.Context, batch []kafka.Message) error {
	changes := make([]change, 0, len(batch))
	for _, m := range batch {
		sig, err := classify.DecodeSignal(m.Value)
		if err != nil {
			s.metrics.invalidRecord()
			s.log.Warn("skip invalid signal record", "partition", m.Partition, "offset", m.Offset, "err", err)
			continue
		}
		changes = append(changes, change{partition: m.Partition, offset: m.Offset, sig: sig})
	}
	return s.index.apply(ctx, changes)
}
