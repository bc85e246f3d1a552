package ingest_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/downsignal/downsignal/broker"
	"github.com/downsignal/downsignal/ingest"
	"github.com/downsignal/downsignal/ingest/firehose"
	"github.com/downsignal/downsignal/ingest/ingesttest"
	"github.com/downsignal/downsignal/record"
)

// newFirehose is a firehose source following relay, quick to reconnect.
func newFirehose(t *testing.T, relay *ingesttest.Relay, o firehose.Options) *firehose.Source {
	t.Helper()
	o.URL = relay.URL()
	o.MinBackoff, o.MaxBackoff = 10*time.Millisecond, 50*time.Millisecond
	o.Logger = ingesttest.Logger(t, slog.LevelDebug)
	f, err := firehose.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// readTopic returns every record of downsignal.posts, decoded.
func readTopic(t *testing.T, addr string) []record.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	recs, err := broker.ReadAll(ctx, []string{addr}, broker.PostsTopic)
	if err != nil {
		t.Fatal(err)
	}
	var out []record.Event
	for i, m := range recs {
		ev, err := record.DecodeEvent(m.Value)
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if string(m.Key) != ev.DID {
			t.Errorf("record key %q, want the author %q", m.Key, ev.DID)
		}
		out = append(out, ev)
	}
	return out
}

// stageRun is a Stage running in the background.
type stageRun struct {
	stage  *ingest.Stage
	cancel context.CancelFunc
	done   chan error
}

func startStage(t *testing.T, o ingest.StageOptions) *stageRun {
	t.Helper()
	if o.Logger == nil {
		o.Logger = ingesttest.Logger(t, slog.LevelInfo)
	}
	s, err := ingest.NewStage(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &stageRun{stage: s, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- s.Run(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop cancels the stage and returns what Run returned.
func (r *stageRun) stop(t *testing.T) error {
	t.Helper()
	if r.cancel == nil {
		return nil
	}
	r.cancel()
	r.cancel = nil
	select {
	case err := <-r.done:
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("stage did not stop within 30s")
		return nil
	}
}

func newWriter(t *testing.T, addr string) *broker.Producer {
	t.Helper()
	w := broker.NewProducer(broker.WriterOptions{Brokers: []string{addr}, Topic: broker.PostsTopic})
	t.Cleanup(func() { w.Close() })
	return w
}

func savedCursor(t *testing.T, c ingest.FileCursors, name string) int64 {
	t.Helper()
	v, _, err := c.Load(name)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestStageResumesAfterKillWithoutGap kills ingest while Kafka is down and
// posts it already read are unacknowledged: the saved cursor must not pass
// them, so the restarted ingest produces them. Nothing the relay sent is
// missing from the topic afterwards.
func TestStageResumesAfterKillWithoutGap(t *testing.T) {
	brokerDir := t.TempDir()
	emb := startBroker(t, brokerDir)
	addr := emb.Addr()
	relay := ingesttest.NewRelay()
	defer relay.Close()
	alice := ingesttest.MustAccount(t, "did:plc:alice")
	cursors := ingest.FileCursors{Dir: t.TempDir()}
	fh := newFirehose(t, relay, firehose.Options{})

	first := startStage(t, ingest.StageOptions{Source: fh, Producer: newWriter(t, addr), Cursors: cursors,
		SaveEvery: 20 * time.Millisecond, FlushTimeout: 300 * time.Millisecond})
	ingesttest.WaitFor(t, "a client", 5*time.Second, func() bool { return relay.Clients() == 1 })
	want := ingesttest.Posts(t, relay, alice, "3a", 50)
	ingesttest.WaitFor(t, "the cursor to reach 50", 10*time.Second, func() bool { return savedCursor(t, cursors, fh.Name()) == 50 })

	emb.Close() // Kafka goes away; ingest keeps reading into its buffer
	want = append(want, ingesttest.Posts(t, relay, alice, "3b", 50)...)
	time.Sleep(300 * time.Millisecond)
	if err := first.stop(t); err == nil {
		t.Error("stage stopped cleanly although Kafka never acknowledged its last posts")
	}
	killedAt := savedCursor(t, cursors, fh.Name())
	if killedAt != 50 {
		t.Errorf("cursor saved at %d while Kafka acknowledged only up to 50", killedAt)
	}

	want = append(want, ingesttest.Posts(t, relay, alice, "3c", 50)...) // while ingest is down
	emb2, err := broker.StartEmbedded(broker.EmbeddedOptions{DataDir: brokerDir, Addr: addr})
	if err != nil {
		t.Fatal(err)
	}
	defer emb2.Close()
	startStage(t, ingest.StageOptions{Source: newFirehose(t, relay, firehose.Options{}), Producer: newWriter(t, addr), Cursors: cursors, SaveEvery: 20 * time.Millisecond})
	ingesttest.WaitFor(t, "the cursor to reach the relay's last seq", 20*time.Second, func() bool { return savedCursor(t, cursors, fh.Name()) == relay.Seq() })

	evs := readTopic(t, addr)
	if got := ingesttest.PostURIs(evs); !slices.Equal(got, ingesttest.Sorted(want)) {
		t.Fatalf("topic holds %d distinct posts, want %d", len(got), len(want))
	}
	t.Logf("%d records for %d posts: %d duplicates, no gap", len(evs), len(want), len(evs)-len(want))
	if cs := relay.Cursors(); cs[len(cs)-1] != "50" {
		t.Errorf("restart resumed from cursor %q, want 50", cs[len(cs)-1])
	}
}

// gatedProducer is the real Kafka writer behind a gate: while the gate is
// shut, every produce waits, as with a Kafka that has stopped keeping up.
type gatedProducer struct {
	ingest.Producer
	gate chan struct{}
}

func (g *gatedProducer) Produce(ctx context.Context, msgs []broker.Record) error {
	select {
	case <-g.gate:
	case <-ctx.Done():
		return ctx.Err()
	}
	return g.Producer.Produce(ctx, msgs)
}

func TestStageSlowKafkaSlowsTheSource(t *testing.T) {
	emb := startBroker(t, t.TempDir())
	relay := ingesttest.NewRelay()
	defer relay.Close()
	relay.SetQueueLimit(1 << 20)
	alice := ingesttest.MustAccount(t, "did:plc:alice")
	reg := prometheus.NewRegistry()
	metrics := ingest.NewMetrics(reg)
	cursors := ingest.FileCursors{Dir: t.TempDir()}
	fh := newFirehose(t, relay, firehose.Options{Metrics: firehose.NewMetrics(reg, metrics)})
	gp := &gatedProducer{Producer: newWriter(t, emb.Addr()), gate: make(chan struct{})}

	const buffer, batch = 32, 8
	startStage(t, ingest.StageOptions{Source: fh, Producer: gp, Cursors: cursors, Buffer: buffer, BatchSize: batch, Metrics: metrics, SaveEvery: 20 * time.Millisecond})
	ingesttest.WaitFor(t, "a client", 5*time.Second, func() bool { return relay.Clients() == 1 })
	want := ingesttest.Posts(t, relay, alice, "3a", 300)

	read := func() float64 {
		return ingesttest.MetricValue(t, reg, "downsignal_ingest_events_total", "source", "firehose", "kind", "commit")
	}
	ingesttest.WaitFor(t, "the buffer to fill", 5*time.Second, func() bool { return read() >= buffer })
	time.Sleep(300 * time.Millisecond)
	// The source holds one item in emit, the buffer holds buffer, and the
	// stage three batches: one encoded and waiting, one queued, one in
	// the producer.
	if n := read(); n > buffer+3*batch+1 {
		t.Errorf("the source read %v frames while Kafka accepted nothing; the bound is %d", n, buffer+3*batch+1)
	}
	if c := savedCursor(t, cursors, fh.Name()); c != 0 {
		t.Errorf("cursor saved at %d before Kafka acknowledged anything", c)
	}

	close(gp.gate) // Kafka catches up
	ingesttest.WaitFor(t, "every post produced", 20*time.Second, func() bool { return savedCursor(t, cursors, fh.Name()) == relay.Seq() })
	if got := ingesttest.PostURIs(readTopic(t, emb.Addr())); !slices.Equal(got, ingesttest.Sorted(want)) {
		t.Errorf("topic holds %d posts, want %d", len(got), len(want))
	}
}

// TestTwoIngestWorkers runs two ingest workers on the same relay and
// broker, as an operator does for availability: every post is produced by
// both (duplicates downstream absorbs by at-URI), and when one worker dies
// the other keeps the stream complete.
func TestTwoIngestWorkers(t *testing.T) {
	emb := startBroker(t, t.TempDir())
	relay := ingesttest.NewRelay()
	defer relay.Close()
	alice := ingesttest.MustAccount(t, "did:plc:alice")

	var workers []*stageRun
	var names []string
	var dirs []ingest.FileCursors
	for range 2 {
		fh := newFirehose(t, relay, firehose.Options{})
		c := ingest.FileCursors{Dir: t.TempDir()}
		workers = append(workers, startStage(t, ingest.StageOptions{Source: fh, Producer: newWriter(t, emb.Addr()), Cursors: c, SaveEvery: 20 * time.Millisecond}))
		names, dirs = append(names, fh.Name()), append(dirs, c)
	}
	ingesttest.WaitFor(t, "two clients", 5*time.Second, func() bool { return relay.Clients() == 2 })
	want := ingesttest.Posts(t, relay, alice, "3a", 40)
	ingesttest.WaitFor(t, "both workers to produce everything", 10*time.Second, func() bool {
		return savedCursor(t, dirs[0], names[0]) == relay.Seq() && savedCursor(t, dirs[1], names[1]) == relay.Seq()
	})
	if err := workers[0].stop(t); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	want = append(want, ingesttest.Posts(t, relay, alice, "3b", 40)...)
	ingesttest.WaitFor(t, "the surviving worker to produce everything", 10*time.Second, func() bool { return savedCursor(t, dirs[1], names[1]) == relay.Seq() })

	evs := readTopic(t, emb.Addr())
	if got := ingesttest.PostURIs(evs); !slices.Equal(got, ingesttest.Sorted(want)) {
		t.Fatalf("topic holds %d distinct posts, want %d", len(got), len(want))
	}
	counts := map[string]int{}
	for _, ev := range evs {
		counts[ev.URI]++
	}
	for i, u := range ingesttest.Sorted(want) {
		if n := counts[u]; (i < 40 && n != 2) || (i >= 40 && n != 1) {
			t.Errorf("%s produced %d times", u, n)
		}
	}
}

// TestStageFollowsACursorReset: a cursor saved against another relay is
// refused (FutureCursor); the source follows the relay live and the saved
// cursor must follow it back down, or every restart would lose the events
// since the last one.
func TestStageFollowsACursorReset(t *testing.T) {
	emb := startBroker(t, t.TempDir())
	relay := ingesttest.NewRelay()
	defer relay.Close()
	alice := ingesttest.MustAccount(t, "did:plc:alice")
	cursors := ingest.FileCursors{Dir: t.TempDir()}
	fh := newFirehose(t, relay, firehose.Options{})
	if err := cursors.Save(fh.Name(), 1_000_000, ""); err != nil {
		t.Fatal(err)
	}
	startStage(t, ingest.StageOptions{Source: fh, Producer: newWriter(t, emb.Addr()), Cursors: cursors, SaveEvery: 20 * time.Millisecond})
	ingesttest.WaitFor(t, "a live connection", 5*time.Second, func() bool { return len(relay.Cursors()) == 2 && relay.Clients() == 1 })
	ingesttest.Posts(t, relay, alice, "3a", 3)
	ingesttest.WaitFor(t, "the cursor to follow the relay", 10*time.Second, func() bool { return savedCursor(t, cursors, fh.Name()) == relay.Seq() })
}
