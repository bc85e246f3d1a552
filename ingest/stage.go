package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/downsignal/downsignal/broker"
	"github.com/downsignal/downsignal/record"
)

// Producer writes records to Kafka and returns once they are acknowledged.
// *broker.Producer is the real one.
type Producer interface {
	Produce(ctx context.Context, recs []broker.Record) error
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
	// identity is an Identified source's input identity, saved with every
	// cursor; set once in Run before anything saves.
	identity string
	// times are the event times of the posts in the batch being encoded,
	// for the source's health; reused batch to batch.
	times []time.Time
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
//
// Three goroutines form a pipeline with bounded queues: the source fills
// the item buffer; Run collects and encodes batches; one producer sends
// them to Kafka one at a time, in order (so one author's create, delete and
// account changes stay in order), and saves the cursor of the last batch
// Kafka acknowledged, at most every SaveEvery and also while the stream is
// idle. Encoding the next batch overlaps producing the previous one.
func (s *Stage) Run(ctx context.Context) error {
	name := s.o.Source.Name()
	cursor, err := s.startCursor(name)
	if err != nil {
		return fmt.Errorf("ingest %s: %w", name, err)
	}
	s.log.Info("ingest starting", "source", name, "cursor", cursor)

	// The source stops when ctx ends, or when Run gives up early.
	srcCtx, stopSource := context.WithCancel(ctx)
	defer stopSource()
	items := make(chan Item, s.o.Buffer)
	srcErr := make(chan error, 1)
	go func() {
		defer close(items)
		srcErr <- s.o.Source.Run(srcCtx, cursor, func(ctx context.Context, it Item) error {
			select {
			case items <- it:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()

	batches := make(chan encodedBatch, 1)
	// Record slices go back and forth between encoder and producer.
	free := make(chan []broker.Record, 3)
	prodErr := make(chan error, 1)
	prodDone := make(chan struct{})
	go func() {
		defer close(prodDone)
		prodErr <- s.produceLoop(ctx, name, cursor, batches, free)
	}()

	batch := make([]Item, 0, s.o.BatchSize)
	producing := true
	for {
		batch = collect(items, batch[:0], s.o.BatchSize)
		s.o.Metrics.setBuffered(len(items))
		if len(batch) == 0 {
			break // the source ended and everything it sent is in a batch
		}
		if !producing {
			continue // Kafka failed on shutdown: drop, the cursor did not pass these
		}
		var msgs []broker.Record
		select {
		case msgs = <-free:
		default:
			msgs = make([]broker.Record, 0, s.o.BatchSize)
		}
		select {
		case batches <- s.encode(batch, msgs):
		case <-prodDone:
			producing = false
			stopSource()
		}
	}
	close(batches)
	perr := <-prodErr
	err = <-srcErr
	switch {
	case perr != nil:
		return fmt.Errorf("ingest %s: %w", name, perr)
	case err == nil:
		s.log.Info("source exhausted", "source", name)
		s.o.Metrics.finished()
		close(s.done)
		<-ctx.Done()
		return nil
	case ctx.Err() != nil:
		return nil
	default:
		return fmt.Errorf("ingest %s: %w", name, err)
	}
}

// startCursor loads the saved cursor and, for an Identified source, keeps
// it only if it was saved in the input the source reads now. Otherwise the
// input starts over, said at WARN, and the reset is saved at once so the
// warning is not repeated on every start until a batch is acknowledged.
func (s *Stage) startCursor(name string) (int64, error) {
	cursor, saved, err := s.o.Cursors.Load(name)
	if err != nil {
		return 0, err
	}
	src, ok := s.o.Source.(Identified)
	if !ok {
		return cursor, nil
	}
	if s.identity, err = src.Identity(); err != nil {
		return 0, err
	}
	if saved == s.identity {
		return cursor, nil
	}
	if cursor != 0 {
		s.log.Warn("input changed since its cursor was saved; reading it from the start",
			"source", name, "saved_cursor", cursor, "saved_identity", saved, "identity", s.identity)
	}
	if err := s.o.Cursors.Save(name, 0, s.identity); err != nil {
		return 0, err
	}
	return 0, nil
}

// encodedBatch is a batch ready for Kafka: its records, and the cursor to
// save once Kafka acknowledged them (and every batch before).
type encodedBatch struct {
	msgs      []broker.Record
	cursor    int64
	hasCursor bool
}

// produceLoop produces batches in order and saves the cursor behind them.
func (s *Stage) produceLoop(ctx context.Context, name string, cursor int64, batches <-chan encodedBatch, free chan<- []broker.Record) error {
	saved, acked := cursor, cursor
	tick := time.NewTicker(s.o.SaveEvery)
	defer tick.Stop()
	for {
		select {
		case b, ok := <-batches:
			if !ok {
				s.save(name, acked, &saved)
				return nil
			}
			s.o.Metrics.setInflight(1)
			err := s.produce(ctx, b.msgs)
			s.o.Metrics.setInflight(0)
			if err != nil {
				// Not acknowledged: keep the old cursor so a restart re-reads it.
				s.save(name, acked, &saved)
				return err
			}
			if b.hasCursor {
				// Not max: a source may move its cursor back (Jetstream's
				// rewind, a relay that refused a future cursor). The last
				// item's cursor is always a safe place to resume from.
				acked = b.cursor
			}
			clear(b.msgs) // let the records' bytes go
			select {
			case free <- b.msgs[:0]:
			default:
			}
		case <-tick.C:
			s.save(name, acked, &saved)
		}
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

// encode turns a batch into Kafka records. An event that does not encode
// (it cannot happen with Event's plain fields) is logged and skipped.
func (s *Stage) encode(batch []Item, msgs []broker.Record) encodedBatch {
	eb := encodedBatch{msgs: msgs}
	if n := len(batch); n > 0 && batch[n-1].Cursor > 0 {
		eb.cursor, eb.hasCursor = batch[n-1].Cursor, true
	}
	s.times = s.times[:0]
	defer func() { s.o.Metrics.posts(s.times) }()
	for _, it := range batch {
		if it.Event == nil {
			continue
		}
		if it.Event.Kind == record.KindPost {
			s.times = append(s.times, it.Event.Time)
		}
		var err error
		if eb.msgs, err = broker.Encode(eb.msgs, it.Event); err != nil {
			s.log.Error("skip event that does not encode", "uri", record.Bounded(it.Event.URI), "err", err)
		}
	}
	return eb
}

// produce writes one batch, retrying until Kafka acknowledges it. Once ctx
// ends it makes one last bounded attempt, so events already read are not
// thrown away on a clean shutdown.
func (s *Stage) produce(ctx context.Context, msgs []broker.Record) error {
	if len(msgs) == 0 {
		return nil
	}
	err := broker.Retry(ctx, broker.RetryOptions{
		What:   fmt.Sprintf("produce %d events", len(msgs)),
		Drain:  s.o.FlushTimeout,
		Logger: s.log,
	}, func(ctx context.Context) error {
		start := time.Now()
		err := s.o.Producer.Produce(ctx, msgs)
		s.o.Metrics.producedBatch(len(msgs), time.Since(start), err)
		return err
	})
	if shut, ok := errors.AsType[*broker.ErrShutdown](err); ok {
		return fmt.Errorf("flush %d events on shutdown: %w", len(msgs), shut.Err)
	}
	return err
}

func (s *Stage) save(name string, cursor int64, saved *int64) {
	if cursor == *saved {
		return
	}
	if err := s.o.Cursors.Save(name, cursor, s.identity); err != nil {
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
