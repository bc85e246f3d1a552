package broker

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

// The embedded broker must hold a topic to its retention: records older
// than retention.ms leave memory (the start offset moves past them) and
// their segment files leave the disk, so a week of records cannot pile up.
func TestEmbeddedHoldsTopicsToRetention(t *testing.T) {
	e, err := StartEmbedded(EmbeddedOptions{DataDir: t.TempDir(), Addr: "127.0.0.1:0", RetentionCheck: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	brokers := []string{e.Addr()}
	const topic = "test.retention"
	const segment = 4 << 10
	spec := TopicSpec{Name: topic, Partitions: 1, ReplicationFactor: 1, Retention: 2 * time.Second, MaxMessageBytes: maxBatchBytes, SegmentBytes: segment}
	if err := EnsureTopics(context.Background(), brokers, []TopicSpec{spec}); err != nil {
		t.Fatal(err)
	}
	base, err := e.DiskBytes()
	if err != nil {
		t.Fatal(err)
	}

	// 20 incompressible records every 100ms for 6s: 3 retention windows.
	const perRound, rounds = 20, 60
	w := NewWriter(WriterOptions{Brokers: brokers, Topic: topic})
	defer w.Close()
	var maxRecords, maxDisk, written int64
	for i := range rounds {
		msgs := make([]kafka.Message, perRound)
		for j := range msgs {
			msgs[j] = kafka.Message{Key: []byte("k"), Value: []byte(rand.Text() + rand.Text() + rand.Text() + rand.Text())}
		}
		if err := w.WriteMessages(context.Background(), msgs...); err != nil {
			t.Fatal(err)
		}
		written += perRound
		time.Sleep(100 * time.Millisecond)
		if i < rounds/2 {
			continue // the first window and a half fill up
		}
		r := e.Retained(topic)
		disk, err := e.DiskBytes()
		if err != nil {
			t.Fatal(err)
		}
		maxRecords, maxDisk = max(maxRecords, r.Records), max(maxDisk, disk-base)
	}
	end := e.Retained(topic)
	total, err := e.DiskBytes()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %d records; last half: at most %d retained, %d bytes on disk; now %d records, %d bytes", written, maxRecords, maxDisk, end.Records, end.Bytes)
	// Within retention + a check interval + a write round (2.3s) come at
	// most 23 rounds; a slow machine writes fewer, never more.
	if limit := int64(25 * perRound); maxRecords > limit {
		t.Errorf("retained up to %d records after the retention window, want at most %d of the %d written", maxRecords, limit, written)
	}
	if maxRecords == 0 {
		t.Errorf("retained nothing: the test wrote nothing the broker kept")
	}
	// Disk holds the retained batches, the active segment and one being
	// emptied, each segment with a small index; not the 60 rounds written.
	perRecord := end.Bytes / max(end.Records, 1)
	if limit := 25*perRound*perRecord + 3*segment + 4<<10; maxDisk > limit {
		t.Errorf("disk reached %d bytes after the retention window, want at most %d (%d bytes a record; %d bytes now)", maxDisk, limit, perRecord, total-base)
	}
}

// SetRetention changes an existing topic's retention: EnsureTopics alone
// would keep the one it was created with.
func TestSetRetentionShortensAnExistingTopic(t *testing.T) {
	e, err := StartEmbedded(EmbeddedOptions{DataDir: t.TempDir(), Addr: "127.0.0.1:0", RetentionCheck: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	brokers := []string{e.Addr()}
	const topic = "test.set-retention"
	spec := TopicSpec{Name: topic, Partitions: 2, ReplicationFactor: 1, Retention: time.Hour, MaxMessageBytes: maxBatchBytes}
	if err := EnsureTopics(context.Background(), brokers, []TopicSpec{spec}); err != nil {
		t.Fatal(err)
	}
	write(t, brokers, topic, 50, 0)
	time.Sleep(500 * time.Millisecond)
	if got := e.Retained(topic).Records; got != 50 {
		t.Fatalf("retained %d records under a 1h retention, want 50", got)
	}
	spec.Retention = 300 * time.Millisecond
	spec.SegmentBytes = 1 << 10
	if err := EnsureTopics(context.Background(), brokers, []TopicSpec{spec}); err != nil {
		t.Fatal(err)
	}
	if err := SetRetention(context.Background(), brokers, []TopicSpec{spec}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for e.Retained(topic).Records > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("still %d records 10s after retention became 300ms", e.Retained(topic).Records)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
