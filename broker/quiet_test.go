package broker

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/downsignal/downsignal/record"
)

// syncBuffer is a log destination tests read while the code writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func testTopic(t *testing.T, brokers []string, name string, partitions int) {
	t.Helper()
	spec := TopicSpec{Name: name, Partitions: partitions, ReplicationFactor: 1, Retention: time.Hour, MaxMessageBytes: maxBatchBytes}
	if err := EnsureTopics(context.Background(), brokers, []TopicSpec{spec}); err != nil {
		t.Fatal(err)
	}
}

// A broker that answers each fetch 300ms late (the embedded broker's one
// goroutine busy, a GC pause during an index merge) must not make an idle
// reader time out, redial and log.
func TestIdleReaderIsQuietWhenBrokerIsSlow(t *testing.T) {
	e := startBroker(t, t.TempDir(), "127.0.0.1:0")
	defer e.Close()
	brokers := []string{e.Addr()}
	testTopic(t, brokers, "test.idle", 3)
	write(t, brokers, "test.idle", 30, 0)

	e.cluster.ControlKey(int16(kmsg.Fetch), func(kmsg.Request) (kmsg.Response, error, bool) {
		e.cluster.KeepControl()
		e.cluster.SleepControl(func() { time.Sleep(300 * time.Millisecond) })
		return nil, nil, false
	})

	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	r := NewReader(ReaderOptions{Brokers: brokers, Topic: "test.idle", GroupID: "idle", Logger: logger})
	c := &collector{}
	cons, err := NewConsumer(ConsumerOptions[string]{Reader: r, Decode: decodeString, Handle: c.handle, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cons.Run(ctx) }()
	deadline := time.Now().Add(30 * time.Second)
	for len(c.values()) < 30 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := len(c.values()); got != 30 {
		t.Fatalf("consumed %d of 30 records", got)
	}
	// The topic is idle now: a few seconds of empty long polls.
	time.Sleep(3 * time.Second)
	cancel()
	if err := <-done; err != nil {
		t.Errorf("consumer run: %v", err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("close reader: %v", err)
	}
	if n := strings.Count(logs.String(), "i/o timeout"); n > 0 {
		t.Errorf("idle reader logged %d i/o timeouts against a broker 300ms slow:\n%s", n, truncate(logs.String(), 2000))
	}
}

// A shutdown that comes after Handle made a batch durable must still commit
// it: otherwise every SIGTERM redelivers the last batch and logs a failure.
func TestCommitAfterShutdownBeganDuringHandle(t *testing.T) {
	e := startBroker(t, t.TempDir(), "127.0.0.1:0")
	defer e.Close()
	brokers := []string{e.Addr()}
	const topic, group = "test.shutdown", "g-shutdown"
	testTopic(t, brokers, topic, 1)
	write(t, brokers, topic, 50, 0)

	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	r := NewReader(ReaderOptions{Brokers: brokers, Topic: topic, GroupID: group, Logger: logger})
	defer r.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var handled int
	cons, err := NewConsumer(ConsumerOptions[string]{
		Reader: r, Decode: decodeString, BatchSize: 50, Linger: time.Second, Logger: logger,
		Handle: func(_ context.Context, batch []record.Delivery[string]) error {
			handled += len(batch)
			cancel() // SIGTERM arrives while the batch is being made durable
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := cons.Run(ctx); err != nil {
		t.Fatalf("consumer run: %v", err)
	}
	if handled != 50 {
		t.Fatalf("handled %d records, want 50", handled)
	}
	committed, err := CommittedOffsets(context.Background(), brokers, group, topic)
	if err != nil {
		t.Fatal(err)
	}
	if committed[0] != 50 {
		t.Errorf("committed offset %d after a durable batch of 50, want 50", committed[0])
	}
	if strings.Contains(logs.String(), "commit offsets failed") {
		t.Errorf("logged a failed commit for durable work:\n%s", logs.String())
	}
}
