package broker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/segmentio/kafka-go"
)

// Fetcher is the part of *kafka.Reader a Consumer uses.
type Fetcher interface {
	FetchMessage(ctx context.Context) (kafka.Message, error)
	CommitMessages(ctx context.Context, msgs ...kafka.Message) error
}

// ConsumerOptions configures a batch consumer.
type ConsumerOptions struct {
	Reader Fetcher
	// Handle processes one batch. It returns nil only once the batch's
	// effects are durable; the consumer then commits the batch's offsets.
	// An error makes the consumer retry the same batch, so Handle must be
	// idempotent. Records it cannot process at all (bad input) it counts
	// and skips itself.
	Handle func(ctx context.Context, batch []kafka.Message) error
	// BatchSize is the most records per batch. Default 1000.
	BatchSize int
	// Linger is how long a partial batch waits for more records. Default 20ms.
	Linger time.Duration
	// DrainTimeout bounds the last batch on shutdown. Default 15s.
	DrainTimeout time.Duration
	Logger       *slog.Logger
}

// Consumer reads records in batches, hands each batch to Handle and commits
// it afterwards: at-least-once, in partition order.
type Consumer struct {
	o   ConsumerOptions
	log *slog.Logger
}

// NewConsumer validates the options.
func NewConsumer(o ConsumerOptions) (*Consumer, error) {
	if o.Reader == nil || o.Handle == nil {
		return nil, errors.New("consumer: reader and handler are required")
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 1000
	}
	if o.Linger <= 0 {
		o.Linger = 20 * time.Millisecond
	}
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = 15 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Consumer{o: o, log: o.Logger}, nil
}

// Run consumes until ctx ends. The batch in hand when ctx ends is still
// handled and committed (within DrainTimeout).
func (c *Consumer) Run(ctx context.Context) error {
	msgs := make(chan kafka.Message, c.o.BatchSize)
	fetchErr := make(chan error, 1)
	go func() {
		defer close(msgs)
		fetchErr <- c.fetch(ctx, msgs)
	}()

	batch := make([]kafka.Message, 0, c.o.BatchSize)
	for {
		batch = c.collect(ctx, msgs, batch[:0])
		if len(batch) == 0 {
			break
		}
		if err := c.handle(ctx, batch); err != nil {
			return err
		}
	}
	if err := <-fetchErr; err != nil && ctx.Err() == nil {
		return err
	}
	return nil
}

func (c *Consumer) fetch(ctx context.Context, out chan<- kafka.Message) error {
	backoff := 100 * time.Millisecond
	for {
		m, err := c.o.Reader.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, io.EOF) {
				return fmt.Errorf("fetch: reader closed: %w", err)
			}
			c.log.Warn("fetch failed; retrying", "err", err, "retry_in", backoff)
			if !sleep(ctx, backoff) {
				return nil
			}
			backoff = min(backoff*2, 5*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		select {
		case out <- m:
		case <-ctx.Done():
			return nil
		}
	}
}

// collect waits for one record, then fills the batch with what arrives
// within Linger. After ctx ends it only drains what was already fetched.
func (c *Consumer) collect(ctx context.Context, msgs <-chan kafka.Message, batch []kafka.Message) []kafka.Message {
	m, ok := <-msgs
	if !ok {
		return batch
	}
	batch = append(batch, m)
	timer := time.NewTimer(c.o.Linger)
	defer timer.Stop()
	for len(batch) < c.o.BatchSize {
		select {
		case m, ok := <-msgs:
			if !ok {
				return batch
			}
			batch = append(batch, m)
		case <-timer.C:
			return batch
		case <-ctx.Done():
			return batch
		}
	}
	return batch
}

// handle runs Handle until it succeeds, then commits. After ctx ends it
// gets one bounded attempt so the batch in hand is not wasted.
func (c *Consumer) handle(ctx context.Context, batch []kafka.Message) error {
	backoff := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		hctx, cancel := ctx, context.CancelFunc(func() {})
		if ctx.Err() != nil {
			hctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), c.o.DrainTimeout)
		}
		err := c.o.Handle(hctx, batch)
		if err == nil {
			err = c.commit(hctx, batch)
			cancel()
			return err
		}
		cancel()
		if ctx.Err() != nil {
			// Not handled: it will be delivered again after a restart.
			c.log.Warn("batch not handled before shutdown", "records", len(batch), "err", err)
			return nil
		}
		c.log.Warn("handle batch failed; retrying", "records", len(batch), "attempt", attempt, "err", err)
		if !sleep(ctx, backoff) {
			return nil
		}
		backoff = min(backoff*2, 10*time.Second)
	}
}

func (c *Consumer) commit(ctx context.Context, batch []kafka.Message) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		// The first commit after a broker restart can fail on a stale
		// pooled connection; a retry goes through.
		if err = c.o.Reader.CommitMessages(ctx, batch...); err == nil {
			break
		}
		if !sleep(ctx, time.Duration(attempt+1)*200*time.Millisecond) {
			break
		}
	}
	if err != nil {
		// The work is durable; a lost commit only means a harmless redelivery.
		c.log.Warn("commit offsets failed; records will be redelivered", "records", len(batch), "err", err)
	}
	return nil
}

// sleep waits d with jitter; false when ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d/2 + rand.N(d/2+1))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
