package broker

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/segmentio/kafka-go"
)

// TailOptions configures Tail.
type TailOptions struct {
	Brokers   []string
	Topic     string
	Partition int
	// Batch is the most records handed over at once. Default 500.
	Batch  int
	Logger *slog.Logger
}

// TailRecord is one record read by Tail.
type TailRecord struct {
	Offset     int64
	Key, Value []byte
}

// Tail reads one partition from its first offset and follows it until ctx
// ends, handing records to handle in batches, in order. It belongs to no
// consumer group and commits nothing: it is for small state topics every
// process reads whole at start (downsignal.notify-state). A failing
// handle gets the same batch again (Retry), so it must be idempotent.
func Tail(ctx context.Context, o TailOptions, handle func(ctx context.Context, recs []TailRecord) error) error {
	if o.Batch <= 0 {
		o.Batch = 500
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:        o.Brokers,
		Topic:          o.Topic,
		Partition:      o.Partition,
		MinBytes:       1,
		MaxBytes:       4 << 20,
		MaxWait:        1250 * time.Millisecond,
		StartOffset:    kafka.FirstOffset,
		ReadBackoffMin: 50 * time.Millisecond,
		ReadBackoffMax: 2 * time.Second,
		MaxAttempts:    10,
		ErrorLogger:    errorLogger(o.Logger),
	})
	defer r.Close()
	for {
		m, err := fetchRetrying(ctx, r, o.Logger, "topic", o.Topic)
		if err != nil {
			return fmt.Errorf("tail %s: %w", o.Topic, err)
		}
		if ctx.Err() != nil {
			return nil
		}
		batch := []TailRecord{{Offset: m.Offset, Key: m.Key, Value: m.Value}}
		batch = fill(ctx, r, batch, o.Batch)
		what := fmt.Sprintf("handle %d records of %s from offset %d", len(batch), o.Topic, batch[0].Offset)
		if err := Retry(ctx, RetryOptions{What: what, Logger: o.Logger}, func(ctx context.Context) error {
			return handle(ctx, batch)
		}); err != nil {
			return nil // shutting down: read again at the next start
		}
	}
}

// fill adds the records the reader already has, waiting at most a few
// milliseconds for each, up to n in all.
func fill(ctx context.Context, r *kafka.Reader, batch []TailRecord, n int) []TailRecord {
	for len(batch) < n {
		fctx, cancel := context.WithTimeout(ctx, 5*time.Millisecond)
		m, err := r.FetchMessage(fctx)
		cancel()
		if err != nil {
			return batch
		}
		batch = append(batch, TailRecord{Offset: m.Offset, Key: m.Key, Value: m.Value})
	}
	return batch
}
