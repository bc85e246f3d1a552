package broker

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/segmentio/kafka-go"
)

// maxBatchBytes keeps a produced batch under the broker's default 1 MB
// message limit.
const maxBatchBytes = 1 << 20

// WriterOptions configures a producer.
type WriterOptions struct {
	Brokers []string
	Topic   string
	// BatchSize is the most records per partition batch. Default 1000.
	BatchSize int
	// BatchTimeout bounds how long a partly filled batch waits. Default 5ms:
	// kafka-go's 1 s default turns a synchronous writer into 1 record/s.
	BatchTimeout time.Duration
	Logger       *slog.Logger
}

// NewWriter returns a writer that waits for every in-sync replica before it
// reports success, hashes keys to partitions (records with one key stay in
// order) and compresses with snappy. It never creates topics.
func NewWriter(o WriterOptions) *kafka.Writer {
	if o.BatchSize <= 0 {
		o.BatchSize = 1000
	}
	if o.BatchTimeout <= 0 {
		o.BatchTimeout = 5 * time.Millisecond
	}
	w := &kafka.Writer{
		Addr:         kafka.TCP(o.Brokers...),
		Topic:        o.Topic,
		Balancer:     &kafka.Hash{},
		RequiredAcks: kafka.RequireAll,
		BatchSize:    o.BatchSize,
		BatchBytes:   maxBatchBytes,
		BatchTimeout: o.BatchTimeout,
		MaxAttempts:  10,
		Compression:  kafka.Snappy,
		WriteTimeout: 10 * time.Second,
	}
	if o.Logger != nil {
		w.ErrorLogger = errorLogger(o.Logger)
	}
	return w
}

// ReaderOptions configures a consumer-group reader.
type ReaderOptions struct {
	Brokers []string
	Topic   string
	GroupID string
	Logger  *slog.Logger
}

// NewReader returns a consumer-group reader that starts at the beginning of
// the topic when the group has no committed offset and commits only when
// told to (CommitMessages), so a stage commits after its output is durable.
//
// MaxWait is kafka-go's socket deadline for a fetch; it asks the broker to
// answer by MaxWait minus a round trip it assumes (a quarter of MaxWait
// below 1 s, else 1 s). 1250ms keeps the broker's long poll at 250ms, so
// Close stays quick, with a second of slack. 250ms left 62ms: a GC pause or
// the embedded broker busy during an index merge overran it, and every
// partition reader logged "i/o timeout" and redialled, idle topics too.
func NewReader(o ReaderOptions) *kafka.Reader {
	cfg := kafka.ReaderConfig{
		Brokers:               o.Brokers,
		Topic:                 o.Topic,
		GroupID:               o.GroupID,
		MinBytes:              1,
		MaxBytes:              16 << 20,
		MaxWait:               1250 * time.Millisecond,
		QueueCapacity:         1000,
		ReadBatchTimeout:      5 * time.Second,
		StartOffset:           kafka.FirstOffset,
		CommitInterval:        0,
		HeartbeatInterval:     2 * time.Second,
		SessionTimeout:        20 * time.Second,
		RebalanceTimeout:      20 * time.Second,
		JoinGroupBackoff:      time.Second,
		WatchPartitionChanges: true,
		ReadBackoffMin:        50 * time.Millisecond,
		ReadBackoffMax:        2 * time.Second,
		MaxAttempts:           10,
	}
	if o.Logger != nil {
		cfg.ErrorLogger = errorLogger(o.Logger)
	}
	return kafka.NewReader(cfg)
}

func errorLogger(l *slog.Logger) kafka.Logger {
	return kafka.LoggerFunc(func(format string, args ...any) {
		l.Warn("kafka client", "msg_detail", truncate(fmt.Sprintf(format, args...), 512))
	})
}

// truncate bounds a log field so a broker error cannot flood the log.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
