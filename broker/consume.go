package broker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/downsignal/downsignal/record"
)

// Fetcher is the part of *kafka.Reader a Consumer uses.
type Fetcher interface {
	FetchMessage(ctx context.Context) (kafka.Message, error)
	CommitMessages(ctx context.Context, msgs ...kafka.Message) error
}

// ConsumerOptions configures a batch consumer of records decoded as T.
type ConsumerOptions[T any] struct {
	Reader Fetcher
	// Decode decodes and validates one record's value (record.DecodeEvent,
	// record.DecodeSignal).
	Decode func([]byte) (T, error)
	// Handle processes one batch. It returns nil only once the batch's
	// effects are durable; the consumer then commits the batch's offsets.
	// An error makes the consumer retry the same batch, so Handle must be
	// idempotent.
	//
	// A record that does not decode is bad input, and retrying cannot fix
	// it: the consumer counts it (OnInvalid), logs it (at most once every
	// 10 s, with the number left unlogged) and still hands it to Handle,
	// marked Invalid with a zero Value, so the stage moves its offsets
	// past it like past any other record. Every stage treats bad input
	// alike; none has to remember to.
	Handle func(ctx context.Context, batch []record.Delivery[T]) error
	// OnInvalid counts a record that did not decode. Optional.
	OnInvalid func()
	// BatchSize is the most records per batch. Default 1000.
	BatchSize int
	// Linger is how long a partial batch waits for more records. Default 20ms.
	Linger time.Duration
	// DrainTimeout bounds the last batch on shutdown. Default 15s.
	DrainTimeout time.Duration
	Logger       *slog.Logger
}

// Consumer reads records in batches, decodes them, hands each batch to
// Handle and commits it afterwards: at-least-once, in partition order.
type Consumer[T any] struct {
	o   ConsumerOptions[T]
	log *slog.Logger
	bad invalidLog
}

// NewConsumer validates the options.
func NewConsumer[T any](o ConsumerOptions[T]) (*Consumer[T], error) {
	if o.Reader == nil || o.Decode == nil || o.Handle == nil {
		return nil, errors.New("consumer: reader, decoder and handler are required")
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
	if o.OnInvalid == nil {
		o.OnInvalid = func() {}
	}
	return &Consumer[T]{o: o, log: o.Logger}, nil
}

// Run consumes until ctx ends. The batch in hand when ctx ends is still
// handled and committed (within DrainTimeout).
func (c *Consumer[T]) Run(ctx context.Context) error {
	msgs := make(chan kafka.Message, c.o.BatchSize)
	fetchErr := make(chan error, 1)
	go func() {
		defer close(msgs)
		fetchErr <- c.fetch(ctx, msgs)
	}()

	batch := make([]kafka.Message, 0, c.o.BatchSize)
	decoded := make([]record.Delivery[T], 0, c.o.BatchSize)
	for {
		batch = c.collect(ctx, msgs, batch[:0])
		if len(batch) == 0 {
			break
		}
		decoded = c.decode(batch, decoded[:0])
		if err := c.handle(ctx, batch, decoded); err != nil {
			return err
		}
	}
	if err := <-fetchErr; err != nil && ctx.Err() == nil {
		return err
	}
	return nil
}

func (c *Consumer[T]) decode(batch []kafka.Message, out []record.Delivery[T]) []record.Delivery[T] {
	for _, m := range batch {
		d := record.Delivery[T]{Position: record.Position{Partition: m.Partition, Offset: m.Offset, HighWaterMark: m.HighWaterMark}}
		v, err := c.o.Decode(m.Value)
		if err != nil {
			d.Invalid = true
			c.o.OnInvalid()
			c.bad.log(c.log, m, err)
		} else {
			d.Value = v
		}
		out = append(out, d)
	}
	return out
}

func (c *Consumer[T]) fetch(ctx context.Context, out chan<- kafka.Message) error {
	for {
		m, err := fetchRetrying(ctx, c.o.Reader, c.log)
		if err != nil || ctx.Err() != nil {
			return err
		}
		select {
		case out <- m:
		case <-ctx.Done():
			return nil
		}
	}
}

// fetchRetrying fetches the next record, retrying failures (a broker
// restarting, a rebalance) with backoff until ctx ends; then it returns a
// zero record and nil. A closed reader is an error.
func fetchRetrying(ctx context.Context, r interface {
	FetchMessage(context.Context) (kafka.Message, error)
}, log *slog.Logger, attrs ...any) (kafka.Message, error) {
	backoff := 100 * time.Millisecond
	for {
		m, err := r.FetchMessage(ctx)
		switch {
		case err == nil:
			return m, nil
		case ctx.Err() != nil:
			return kafka.Message{}, nil
		case errors.Is(err, io.EOF):
			return kafka.Message{}, fmt.Errorf("fetch: reader closed: %w", err)
		}
		log.Warn("fetch failed; retrying", append(attrs, "err", err, "retry_in", backoff)...)
		if !sleep(ctx, jitter(backoff)) {
			return kafka.Message{}, nil
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

// collect waits for one record, then fills the batch with what arrives
// within Linger. After ctx ends it only drains what was already fetched.
func (c *Consumer[T]) collect(ctx context.Context, msgs <-chan kafka.Message, batch []kafka.Message) []kafka.Message {
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
func (c *Consumer[T]) handle(ctx context.Context, batch []kafka.Message, decoded []record.Delivery[T]) error {
	err := Retry(ctx, RetryOptions{
		What:   fmt.Sprintf("handle batch of %d records", len(batch)),
		Drain:  c.o.DrainTimeout,
		Logger: c.log,
	}, func(ctx context.Context) error {
		if err := c.o.Handle(ctx, decoded); err != nil {
			return err
		}
		c.commit(ctx, batch)
		return nil
	})
	var shut *ErrShutdown
	if errors.As(err, &shut) {
		// Not handled: it will be delivered again after a restart.
		c.log.Warn("batch not handled before shutdown", "records", len(batch), "err", shut.Err)
		return nil
	}
	return err
}

// The commit runs under a context that shutdown does not cancel (bounded
// by DrainTimeout): the batch is durable, and a SIGTERM that arrives
// between Handle and the commit must not turn it into a redelivery.
func (c *Consumer[T]) commit(ctx context.Context, batch []kafka.Message) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.o.DrainTimeout)
	defer cancel()
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		// The first commit after a broker restart can fail on a stale
		// pooled connection; a retry goes through.
		if err = c.o.Reader.CommitMessages(ctx, batch...); err == nil {
			return
		}
		if !sleep(ctx, jitter(time.Duration(attempt+1)*200*time.Millisecond)) {
			break
		}
	}
	// The work is durable; a lost commit only means a harmless redelivery.
	c.log.Warn("commit offsets failed; records will be redelivered", "records", len(batch), "err", err)
}

// invalidLog logs undecodable records at most once every 10 s, so a topic
// full of garbage cannot flood the log; the metric counts every one.
type invalidLog struct {
	mu     sync.Mutex
	last   time.Time
	silent int
}

func (l *invalidLog) log(log *slog.Logger, m kafka.Message, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now := time.Now(); now.Sub(l.last) >= 10*time.Second {
		log.Warn("skip invalid record", "topic", m.Topic, "partition", m.Partition, "offset", m.Offset, "unlogged_before", l.silent, "err", err)
		l.last, l.silent = now, 0
		return
	}
	l.silent++
}
