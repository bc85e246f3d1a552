package broker

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/downsignal/downsignal/record"
)

func startBroker(t *testing.T, dir, addr string) *Embedded {
	t.Helper()
	e, err := StartEmbedded(EmbeddedOptions{DataDir: dir, Addr: addr})
	if err != nil {
		t.Fatalf("start embedded broker: %v", err)
	}
	return e
}

func TestEnsureTopicsIsIdempotent(t *testing.T) {
	e := startBroker(t, t.TempDir(), "127.0.0.1:0")
	defer e.Close()
	ctx := context.Background()
	specs := Topics(TopicOptions{Partitions: 3})
	if n := specs[len(specs)-1]; n.Name != NotifyStateTopic || n.Partitions != 1 || !n.Compact {
		t.Fatalf("last spec %+v, want the one-partition compacted %s", n, NotifyStateTopic)
	}
	for i := 0; i < 2; i++ {
		if err := EnsureTopics(ctx, []string{e.Addr()}, specs); err != nil {
			t.Fatalf("ensure topics (call %d): %v", i+1, err)
		}
	}
	for _, s := range specs {
		end, err := EndOffsets(ctx, []string{e.Addr()}, s.Name)
		if err != nil {
			t.Fatalf("end offsets %s: %v", s.Name, err)
		}
		if len(end) != s.Partitions {
			t.Errorf("%s has %d partitions, want %d", s.Name, len(end), s.Partitions)
		}
	}
}

func TestEnsureTopicsNeedsBrokers(t *testing.T) {
	if err := EnsureTopics(context.Background(), nil, Topics(TopicOptions{})); err == nil {
		t.Fatal("no brokers: got nil error")
	}
}

func write(t *testing.T, brokers []string, topic string, n, from int) {
	t.Helper()
	w := NewWriter(WriterOptions{Brokers: brokers, Topic: topic})
	defer w.Close()
	msgs := make([]kafka.Message, n)
	for i := range msgs {
		msgs[i] = kafka.Message{Key: []byte(fmt.Sprintf("k%d", (from+i)%7)), Value: []byte(fmt.Sprintf("v%06d", from+i))}
	}
	if err := w.WriteMessages(context.Background(), msgs...); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// collector records what a consumer handled; it can fail on demand.
type collector struct {
	mu       sync.Mutex
	seen     []string
	failures int // fail this many calls before succeeding
	calls    int
}

func (c *collector) handle(_ context.Context, batch []record.Delivery[string]) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	if c.failures > 0 {
		c.failures--
		return errors.New("not durable yet")
	}
	for _, d := range batch {
		c.seen = append(c.seen, d.Value)
	}
	return nil
}

func (c *collector) values() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.seen)
}

func decodeString(b []byte) (string, error) { return string(b), nil }

// consume runs a consumer in group until it handled want values.
func consume(t *testing.T, brokers []string, topic, group string, c *collector, want int) {
	t.Helper()
	r := NewReader(ReaderOptions{Brokers: brokers, Topic: topic, GroupID: group})
	cons, err := NewConsumer(ConsumerOptions[string]{Reader: r, Decode: decodeString, Handle: c.handle, BatchSize: 50})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cons.Run(ctx) }()
	deadline := time.Now().Add(30 * time.Second)
	for len(c.values()) < want {
		if time.Now().After(deadline) {
			t.Fatalf("consumed %d of %d within 30s", len(c.values()), want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Offsets are committed once a batch is handled; wait for the commit
	// of everything before stopping.
	for {
		committed, err := CommittedOffsets(context.Background(), brokers, group, topic)
		end, err2 := EndOffsets(context.Background(), brokers, topic)
		if err == nil && err2 == nil && CaughtUp(committed, end) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("offsets not committed within 30s: %v %v", err, err2)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("consumer run: %v", err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("close reader: %v", err)
	}
}

func TestConsumerRetriesAndCommitsAfterHandle(t *testing.T) {
	dir := t.TempDir()
	e := startBroker(t, dir, "127.0.0.1:0")
	addr := e.Addr()
	brokers := []string{addr}
	const topic = "test.consume"
	if err := EnsureTopics(context.Background(), brokers, []TopicSpec{{Name: topic, Partitions: 3, ReplicationFactor: 1, Retention: time.Hour, MaxMessageBytes: maxBatchBytes}}); err != nil {
		t.Fatal(err)
	}
	write(t, brokers, topic, 300, 0)

	c := &collector{failures: 2}
	consume(t, brokers, topic, "g1", c, 300)
	got := c.values()
	if len(got) != 300 {
		t.Fatalf("handled %d records, want 300 (failed batches must be retried, not skipped)", len(got))
	}
	if c.calls < 3 {
		t.Errorf("handler called %d times, want the failures retried", c.calls)
	}

	// Restart the broker on the same directory and port: records and the
	// group's committed offsets survive, so a new consumer sees only what
	// is written afterwards.
	e.Close()
	e = startBroker(t, dir, addr)
	defer e.Close()
	write(t, brokers, topic, 40, 300)
	c2 := &collector{}
	consume(t, brokers, topic, "g1", c2, 40)
	got2 := c2.values()
	slices.Sort(got2)
	want := make([]string, 40)
	for i := range want {
		want[i] = fmt.Sprintf("v%06d", 300+i)
	}
	if !slices.Equal(got2, want) {
		t.Fatalf("after broker restart the group handled %d records %v..., want exactly the 40 new ones", len(got2), head(got2))
	}
}

func head(s []string) []string {
	if len(s) > 5 {
		return s[:5]
	}
	return s
}

func TestStartEmbeddedRejectsBadOptions(t *testing.T) {
	for _, o := range []EmbeddedOptions{
		{DataDir: "", Addr: "127.0.0.1:0"},
		{DataDir: filepath.Join(t.TempDir(), "b"), Addr: "no-port"},
		{DataDir: filepath.Join(t.TempDir(), "b"), Addr: "127.0.0.1:99999"},
	} {
		if e, err := StartEmbedded(o); err == nil {
			e.Close()
			t.Errorf("StartEmbedded(%+v): want an error", o)
		}
	}
}
