package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
)

// Producer writes records to Kafka and returns once they are acknowledged.
// *kafka.Writer configured by package broker is the real one.
type Producer interface {
	WriteMessages(ctx context.Context, msgs ...kafka.Message) error
}

// StageOptions configures the ingest stage.
type StageOptions struct {
	Source   Source
	Producer Producer
	Cursors  CursorStore
	// BatchSize is the most events per produce call. Default 1000.
	BatchSize int
	// Buffer is how many items may wait between the source and Kafka; a
	// slow Kafka fills it and then slows the source. Default 8192.
	Buffer int
	// SaveEvery is the longest time between cursor saves. Default 1s.
	SaveEvery time.Duration
	// FlushTimeout bounds the final flush on shutdown. Default 15s.
	FlushTimeout time.Duration
	Logger       *slog.Logger
	Metrics      *Metrics
}

// Stage moves a source's events into downsignal.posts.
type Stage struct {
	o    StageOptions
	log  *slog.Logger
	done chan struct{}
}

// NewStage validates the options.
func NewStage(o StageOptions) (*Stage, error) {
	if o.Source == nil || o.Producer == nil || o.Cursors == nil {
		return nil, errors.New("ingest stage: source, producer and cursor store are required")
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 1000
	}
	if o.Buffer <= 0 {
		o.Buffer = 8192
	}
	if o.SaveEvery <= 0 {
		o.SaveEvery = time.Second
	}
	if o.FlushTimeout <= 0 {
		o.FlushTimeout = 15 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Stage{o: o, log: o.Logger, done: make(chan struct{})}, nil
}

// Exhausted is closed when a finite source (a replay) has been read to its
// end and Kafka acknowledged every event from it.
func (s *Stage) Exhausted() <-chan struct{} { return s.done }

// Run reads the source and produces its events until ctx ends or the
// source is exhausted. On shutdown it stops the source, produces what was
// already read and saves the cursor.
func (s *Stage) Run(ctx context.Context) error {
	name := s.o.Source.Name()
	cursor, err := s.o.Cursors.Load(name)
	if err != nil {
		return fmt.Errorf("ingest %s: %w", name, err)
	}
	s.log.Info("ingest starting", "source", name, "cursor", cursor)

	items := make(chan Item, s.o.Buffer)
	srcErr := make(chan error, 1)
	go func() {
		defer close(items)
		srcErr <- s.o.Source.Run(ctx, cursor, func(ctx context.Context, it Item) error {
			select {
			case items <- it:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()

	var (
		saved    = cursor
		acked    = cursor
		lastSave = time.Now()
		batch    = make([]Item, 0, s.o.BatchSize)
		msgs     = make([]kafka.Message, 0, s.o.BatchSize)
	)
	for {
		batch = collect(items, batch[:0], s.o.BatchSize)
		if len(batch) == 0 {
			break // the source ended and everything it sent is produced
		}
		var err error
		msgs, err = s.encode(batch, msgs[:0])
		if err != nil {
			return err
		}
		if err := s.produce(ctx, msgs); err != nil {
			// Not acknowledged: keep the old cursor so a restart re-reads it.
			s.save(name, acked, &saved)
			return err
		}
		for _, it := range batch {
			acked = max(acked, it.Cursor)
		}
		if time.Since(lastSave) >= s.o.SaveEvery {
			s.save(name, acked, &saved)
			lastSave = time.Now()
		}
	}
	s.save(name, acked, &saved)

	err = <-srcErr
	switch {
	case err == nil:
		s.log.Info("source exhausted", "source", name, "cursor", acked)
		close(s.done)
		<-ctx.Done()
		return nil
	case ctx.Err() != nil:
		return nil
	default:
		return fmt.Errorf("ingest %s: %w", name, err)
	}
}

// collect blocks for one item, then takes whatever else is ready, up to n.
func collect(items <-chan Item, batch []Item, n int) []Item {
	it, ok := <-items
	if !ok {
		return batch
	}
	batch = append(batch, it)
	for len(batch) < n {
		select {
		case it, ok := <-items:
			if !ok {
				return batch
			}
			batch = append(batch, it)
		default:
			return batch
		}
	}
	return batch
}

func (s *Stage) encode(batch []Item, msgs []kafka.Message) ([]kafka.Message, error) {
	for _, it := range batch {
		if it.Event == nil {
			continue
		}
		b, err := it.Event.Marshal()
		if err != nil {
			return nil, fmt.Errorf("encode event %s: %w", bounded(it.Event.URI), err)
		}
		msgs = append(msgs, kafka.Message{Key: it.Event.Key(), Value: b})
	}
	return msgs, nil
}

// produce writes one batch, retrying until Kafka acknowledges it. Once ctx
// ends it makes one last bounded attempt, so events already read are not
// thrown away on a clean shutdown.
func (s *Stage) produce(ctx context.Context, msgs []kafka.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	backoff := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		wctx, cancel := ctx, context.CancelFunc(func() {})
		if ctx.Err() != nil {
			wctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), s.o.FlushTimeout)
		}
		start := time.Now()
		err := s.o.Producer.WriteMessages(wctx, msgs...)
		cancel()
		s.o.Metrics.producedBatch(len(msgs), time.Since(start), err)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("flush %d events on shutdown: %w", len(msgs), err)
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		s.log.Warn("produce failed; retrying", "events", len(msgs), "attempt", attempt, "retry_in", wait, "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		backoff = min(backoff*2, 10*time.Second)
	}
}

func (s *Stage) save(name string, cursor int64, saved *int64) {
	if cursor == *saved {
		return
	}
	if err := s.o.Cursors.Save(name, cursor); err != nil {
		s.log.Error("save cursor", "source", name, "err", err)
		return
	}
	*saved = cursor
	s.o.Metrics.savedCursor(sourceLabel(name), cursor)
}

// sourceLabel bounds a source name for a metric label: "replay:/path" and
// "firehose:host" carry unbounded parts.
func sourceLabel(name string) string {
	if i := strings.IndexByte(name, ':'); i >= 0 {
		return name[:i]
	}
	return name
}
