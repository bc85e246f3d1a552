package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/downsignal/downsignal/broker"
	"github.com/downsignal/downsignal/detect"
	"github.com/downsignal/downsignal/internal/boltkv"
	"github.com/downsignal/downsignal/record"
)

var (
	bucketPublish = []byte("publish")
	keyCursor     = []byte("cursor")
)

// Log is the detector's ordered log of incident changes.
type Log interface {
	EventsAfter(seq uint64, n int) ([]detect.Event, error)
	Notify() <-chan struct{}
	InstanceID() string
}

// Producer writes records to downsignal.incidents and returns once they
// are acknowledged (broker.Producer).
type Producer interface {
	Produce(ctx context.Context, recs []broker.Record) error
}

// PublisherOptions configures a Publisher.
type PublisherOptions struct {
	// Path of the bbolt file holding the cursor.
	Path     string
	Log      Log
	Producer Producer
	Logger   *slog.Logger
	Metrics  *Metrics
	// Poll bounds the wait between looks at the log when no notification
	// comes. Default 1s.
	Poll time.Duration
	// Batch is how many changes are produced at once. Default 200.
	Batch int
}

// Publisher produces a detector's incident changes to downsignal.incidents.
type Publisher struct {
	o   PublisherOptions
	db  *bolt.DB
	cur cursor
}

type cursor struct {
	Source string `json:"source"`
	Seq    uint64 `json:"seq"`
}

// OpenPublisher opens (or creates) the cursor's store. It starts nothing:
// Run publishes.
func OpenPublisher(o PublisherOptions) (*Publisher, error) {
	if o.Path == "" || o.Log == nil || o.Producer == nil {
		return nil, errors.New("notify: publisher needs a path, a log and a producer")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if o.Batch <= 0 {
		o.Batch = 200
	}
	db, err := bolt.Open(o.Path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("notify: open %s: %w", o.Path, err)
	}
	p := &Publisher{o: o, db: db}
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketPublish)
		if err != nil {
			return err
		}
		_, err = boltkv.GetJSON(b, keyCursor, &p.cur)
		return err
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("notify: read cursor: %w", err)
	}
	return p, nil
}

// Close closes the store.
func (p *Publisher) Close() error { return p.db.Close() }

// Run publishes new changes until ctx ends.
func (p *Publisher) Run(ctx context.Context) error {
	for {
		notify := p.o.Log.Notify()
		if err := p.publish(ctx); err != nil {
			var shut *broker.ErrShutdown
			if errors.As(err, &shut) || ctx.Err() != nil {
				return nil // published again after a restart
			}
			p.o.Logger.Error("publish incident changes", "err", err)
		}
		t := time.NewTimer(p.o.Poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-notify:
		case <-t.C:
		}
		t.Stop()
	}
}

// publish produces everything after the cursor, a batch at a time, saving
// the cursor after each acknowledged batch.
func (p *Publisher) publish(ctx context.Context) error {
	if inst := p.o.Log.InstanceID(); p.cur.Source != inst {
		p.cur = cursor{Source: inst} // a new detector store numbers from 1 again
	}
	for {
		evs, err := p.o.Log.EventsAfter(p.cur.Seq, p.o.Batch)
		if err != nil || len(evs) == 0 {
			return err
		}
		recs := make([]broker.Record, 0, len(evs))
		for i := range evs {
			c, err := changeOf(&evs[i])
			if err != nil {
				// Our own detector's record: a bug, which must not stop
				// every later change from being published.
				p.o.Logger.Error("incident change not published", "seq", evs[i].Seq, "err", err)
				continue
			}
			if recs, err = broker.Encode(recs, &c); err != nil {
				return err
			}
		}
		what := fmt.Sprintf("produce %d incident changes", len(recs))
		if err := broker.Retry(ctx, broker.RetryOptions{What: what, Logger: p.o.Logger}, func(ctx context.Context) error {
			return p.o.Producer.Produce(ctx, recs)
		}); err != nil {
			return err
		}
		next := cursor{Source: p.cur.Source, Seq: evs[len(evs)-1].Seq}
		if err := p.db.Update(func(tx *bolt.Tx) error { return boltkv.PutJSON(tx.Bucket(bucketPublish), keyCursor, next) }); err != nil {
			return fmt.Errorf("save cursor: %w", err)
		}
		p.cur = next
		p.o.Metrics.publish(len(recs))
	}
}

// changeOf is the record of one detector event.
func changeOf(ev *detect.Event) (record.Change, error) {
	in, err := json.Marshal(&ev.Incident)
	if err != nil {
		return record.Change{}, fmt.Errorf("encode incident %s: %w", ev.Incident.ID, err)
	}
	c := record.Change{V: record.ChangeVersion, Type: ev.Type, IncidentID: ev.Incident.ID, Seq: ev.Incident.Seq,
		Time: ev.Time, Silenced: ev.Silenced, Incident: in}
	if err := c.Validate(); err != nil {
		return record.Change{}, fmt.Errorf("incident change %d: %w", ev.Seq, err)
	}
	return c, nil
}
