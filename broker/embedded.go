package broker

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// EmbeddedOptions configures the in-process broker.
type EmbeddedOptions struct {
	// DataDir holds the broker's log segments and committed offsets. They
	// survive a restart on the same directory.
	DataDir string
	// Addr is host:port to listen on. Port 0 picks a free port (tests).
	Addr string
	// RetentionCheck is how often the broker drops records older than
	// their topic's retention.ms. Default 5m.
	RetentionCheck time.Duration
	Logger         *slog.Logger
}

// Embedded is a single-node Kafka-protocol broker running inside this
// process (franz-go's kfake). It is the default for one machine; a real
// cluster replaces it through --brokers.
//
// What bounds it (kfake, read from its source): records live in segment
// files under DataDir; memory holds one index entry (72 bytes) per record
// batch still retained. Every RetentionCheck the broker moves a partition's
// start past the batches older than retention.ms, drops their index
// entries and deletes each segment file all of whose batches expired. It
// rolls a segment only by size (segment.bytes; it ignores segment.ms), so
// topics meant to shrink need a segment size well under what a partition
// receives within the retention: [TopicSpec.SegmentBytes].
type Embedded struct {
	cluster *kfake.Cluster
	addr    string
	dir     string
}

// StartEmbedded starts the broker and returns once it accepts connections.
func StartEmbedded(o EmbeddedOptions) (*Embedded, error) {
	if o.DataDir == "" {
		return nil, fmt.Errorf("embedded broker: empty data dir")
	}
	host, portStr, err := net.SplitHostPort(o.Addr)
	if err != nil {
		return nil, fmt.Errorf("embedded broker: listen address %q: %w", o.Addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return nil, fmt.Errorf("embedded broker: bad port in %q", o.Addr)
	}
	if o.RetentionCheck <= 0 {
		o.RetentionCheck = 5 * time.Minute
	}
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cluster, err := kfake.NewCluster(
		kfake.NumBrokers(1),
		kfake.Ports(port),
		// kfake always asks for 127.0.0.1; honour the host the operator chose.
		kfake.ListenFn(func(network, addr string) (net.Listener, error) {
			_, p, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			return net.Listen(network, net.JoinHostPort(host, p))
		}),
		kfake.DataDir(o.DataDir),
		kfake.ClusterID("downsignal-embedded"),
		kfake.BrokerConfigs(map[string]string{
			"log.cleaner.backoff.ms": strconv.FormatInt(o.RetentionCheck.Milliseconds(), 10),
			"message.max.bytes":      strconv.Itoa(maxBatchBytes + 1024),
			// Every offset commit appends to kfake's groups.log, which it
			// rewrites from the live state once it reaches this size
			// (default 10 MiB): a few MiB an hour of commits, bounded.
			"state.log.compact.bytes": strconv.Itoa(1 << 20),
		}),
		kfake.WithLogger(kfakeLogger{logger}),
	)
	if err != nil {
		return nil, fmt.Errorf("embedded broker: %w", err)
	}
	addrs := cluster.ListenAddrs()
	if len(addrs) != 1 {
		cluster.Close()
		return nil, fmt.Errorf("embedded broker: %d listeners, want 1", len(addrs))
	}
	return &Embedded{cluster: cluster, addr: addrs[0], dir: o.DataDir}, nil
}

// Addr is the host:port clients connect to.
func (e *Embedded) Addr() string { return e.addr }

// Close stops the broker and flushes its state to the data directory.
func (e *Embedded) Close() { e.cluster.Close() }

type kfakeLogger struct{ l *slog.Logger }

func (k kfakeLogger) Logf(level kfake.LogLevel, format string, args ...any) {
	switch level {
	case kfake.LogLevelError:
		k.l.Error(fmt.Sprintf(format, args...))
	case kfake.LogLevelWarn:
		k.l.Warn(fmt.Sprintf(format, args...))
	}
}

// Retained is what the broker holds of one topic: the records between the
// partitions' start and end offsets and their bytes.
type Retained struct {
	Records, Bytes int64
}

// Retained reports what the broker holds of topic now.
func (e *Embedded) Retained(topic string) Retained {
	var r Retained
	for _, p := range e.cluster.PartitionInfos(topic) {
		r.Records += p.HighWatermark - p.LogStartOffset
		r.Bytes += p.NumBytes
	}
	return r
}

// DiskBytes is the size of the files in the broker's data directory.
func (e *Embedded) DiskBytes() (int64, error) {
	var n int64
	err := filepath.WalkDir(e.dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // a segment deleted by retention while we walk
			}
			return err
		}
		if d.Type().IsRegular() {
			info, err := d.Info()
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				return err
			}
			n += info.Size()
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("embedded broker disk use: %w", err)
	}
	return n, nil
}
