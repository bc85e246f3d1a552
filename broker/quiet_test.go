package broker

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

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
//
// The broker is a kfake cluster of its own whose connections answer every
// request 300ms late (kfake's own sleeping controls race with each other
// under -race).
func TestIdleReaderIsQuietWhenBrokerIsSlow(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.ListenFn(func(network, addr string) (net.Listener, error) {
		l, err := net.Listen(network, addr)
		return slowListener{l, 300 * time.Millisecond}, err
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	brokers := cluster.ListenAddrs()
	testTopic(t, brokers, "test.idle", 3)
	write(t, brokers, "test.idle", 30, 0)

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

// slowListener's connections answer each request late: the first write
// after a read waits.
type slowListener struct {
	net.Listener
	delay time.Duration
}

func (l slowListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &slowConn{Conn: c, delay: l.delay}, nil
}

type slowConn struct {
	net.Conn
	delay time.Duration
	mu    sync.Mutex
	asked bool
}

func (c *slowConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.mu.Lock()
		c.asked = true
		c.mu.Unlock()
	}
	return n, err
}

func (c *slowConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	late := c.asked
	c.asked = false
	c.mu.Unlock()
	if late {
		time.Sleep(c.delay)
	}
	return c.Conn.Write(p)
}
