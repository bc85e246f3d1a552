package broker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/downsignal/downsignal/record"
)

// The one rule for bad input: a record that does not decode is counted,
// and handed to Handle marked Invalid with its position, in partition order
// with the others; the group's offsets then move past it like past any
// other record.
func TestConsumerHandsOnUndecodableRecords(t *testing.T) {
	e := startBroker(t, t.TempDir(), "127.0.0.1:0")
	defer e.Close()
	brokers := []string{e.Addr()}
	const topic = "test.invalid"
	if err := EnsureTopics(context.Background(), brokers, []TopicSpec{{Name: topic, Partitions: 2, ReplicationFactor: 1, Retention: time.Hour, MaxMessageBytes: maxBatchBytes}}); err != nil {
		t.Fatal(err)
	}
	p := NewProducer(WriterOptions{Brokers: brokers, Topic: topic})
	var recs []Record
	for i := range 30 {
		v := fmt.Sprintf("ok-%02d", i)
		if i%5 == 0 {
			v = fmt.Sprintf("bad-%02d", i)
		}
		recs = append(recs, Record{Key: []byte(fmt.Sprint(i % 3)), Value: []byte(v)})
	}
	if err := p.Produce(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	p.Close()

	var mu sync.Mutex
	var got []record.Delivery[string]
	var invalid atomic.Int32
	r := NewReader(ReaderOptions{Brokers: brokers, Topic: topic, GroupID: "g"})
	defer r.Close()
	c, err := NewConsumer(ConsumerOptions[string]{
		Reader: r,
		Decode: func(b []byte) (string, error) {
			if strings.HasPrefix(string(b), "bad") {
				return "", errors.New("undecodable")
			}
			return string(b), nil
		},
		Handle: func(_ context.Context, batch []record.Delivery[string]) error {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, batch...)
			return nil
		},
		OnInvalid: func() { invalid.Add(1) },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		committed, err := CommittedOffsets(context.Background(), brokers, "g", topic)
		end, err2 := EndOffsets(context.Background(), brokers, topic)
		if err == nil && err2 == nil && CaughtUp(committed, end) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("group not committed to the end within 30s (%v %v): invalid records must move offsets", err, err2)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	mu.Lock()
	defer mu.Unlock()
	if len(got) != 30 || invalid.Load() != 6 {
		t.Fatalf("handled %d records, %d counted invalid; want all 30 handed on, the 6 bad ones counted", len(got), invalid.Load())
	}
	last := map[int]int64{}
	for _, d := range got {
		if d.Invalid != (d.Value == "") {
			t.Errorf("partition %d offset %d: invalid %v with value %q", d.Partition, d.Offset, d.Invalid, d.Value)
		}
		if o, ok := last[d.Partition]; ok && d.Offset != o+1 {
			t.Errorf("partition %d: offset %d after %d, want every record in order", d.Partition, d.Offset, o)
		}
		last[d.Partition] = d.Offset
	}
}

// Retry tries until the work succeeds; once ctx ends it makes one more
// attempt under a context of its own, and reports ErrShutdown if that
// fails too.
func TestRetry(t *testing.T) {
	fail := errors.New("broker away")
	t.Run("until it succeeds", func(t *testing.T) {
		n := 0
		err := Retry(context.Background(), RetryOptions{What: "work"}, func(context.Context) error {
			if n++; n < 3 {
				return fail
			}
			return nil
		})
		if err != nil || n != 3 {
			t.Errorf("err %v after %d attempts, want nil after 3", err, n)
		}
	})
	t.Run("one last attempt after shutdown", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		var live []bool
		err := Retry(ctx, RetryOptions{What: "work", Drain: time.Second}, func(actx context.Context) error {
			live = append(live, actx.Err() == nil)
			cancel()
			return fail
		})
		var shut *ErrShutdown
		if !errors.As(err, &shut) || !errors.Is(err, fail) {
			t.Errorf("err %v, want an ErrShutdown wrapping the last failure", err)
		}
		if !slices.Equal(live, []bool{true, true}) {
			t.Errorf("attempts with a live context: %v, want two (the first, and the bounded one after shutdown)", live)
		}
	})
	t.Run("the last attempt can succeed", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		n := 0
		err := Retry(ctx, RetryOptions{What: "work"}, func(actx context.Context) error {
			n++
			if _, ok := actx.Deadline(); !ok {
				return errors.New("no drain deadline")
			}
			return nil
		})
		if err != nil || n != 1 {
			t.Errorf("err %v after %d attempts, want the drained attempt to succeed", err, n)
		}
	})
}
