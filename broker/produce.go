package broker

import (
	"context"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"
)

// Record is one encoded record to produce.
type Record struct {
	Key, Value []byte
}

// Encodable is a record of one of downsignal's topics (record.Event,
// record.Signal): it names its key and encodes itself.
type Encodable interface {
	Key() []byte
	Marshal() ([]byte, error)
}

// Encode appends v's record to dst.
func Encode[T Encodable](dst []Record, v T) ([]Record, error) {
	b, err := v.Marshal()
	if err != nil {
		return dst, fmt.Errorf("encode record: %w", err)
	}
	return append(dst, Record{Key: v.Key(), Value: b}), nil
}

// Producer writes records to one topic with the settings of NewWriter.
// It is safe for concurrent use.
type Producer struct {
	w *kafka.Writer
}

// NewProducer returns a producer for o.Topic.
func NewProducer(o WriterOptions) *Producer { return &Producer{w: NewWriter(o)} }

// Produce writes recs and returns once every in-sync replica acknowledged
// them, or the first error. It does not retry: callers wrap it in Retry,
// or return the error to the Consumer, which retries the whole batch.
func (p *Producer) Produce(ctx context.Context, recs []Record) error {
	if len(recs) == 0 {
		return nil
	}
	msgs := make([]kafka.Message, len(recs))
	for i, r := range recs {
		msgs[i] = kafka.Message{Key: r.Key, Value: r.Value}
	}
	return p.w.WriteMessages(ctx, msgs...)
}

// Close flushes and closes the writer.
func (p *Producer) Close() error { return p.w.Close() }

// ReadAll reads every record of topic from the first offset to the end
// offsets of the moment, partition by partition (in order within each).
// It is for tests and inspection, not for stages, which consume in groups.
func ReadAll(ctx context.Context, brokers []string, topic string) ([]Record, error) {
	ends, err := EndOffsets(ctx, brokers, topic)
	if err != nil {
		return nil, err
	}
	var out []Record
	for p := range len(ends) {
		end := ends[p]
		if end == 0 {
			continue
		}
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: topic, Partition: p, MaxWait: 100 * time.Millisecond})
		for {
			m, err := r.ReadMessage(ctx)
			if err != nil {
				r.Close()
				return nil, fmt.Errorf("read %s partition %d: %w", topic, p, err)
			}
			out = append(out, Record{Key: m.Key, Value: m.Value})
			if m.Offset >= end-1 {
				break
			}
		}
		r.Close()
	}
	return out, nil
}
