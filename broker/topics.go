package broker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"
)

// Topic names. They are part of the deployment contract: a user running
// stages on separate machines points them all at the same names.
const (
	PostsTopic   = "downsignal.posts"
	SignalsTopic = "downsignal.signals"
	// IncidentsTopic carries incident changes (record.Change) from every
	// serve replica's detector, keyed by incident, to the one notifier.
	IncidentsTopic = "downsignal.incidents"
)

// TopicSpec describes one topic downsignal creates.
type TopicSpec struct {
	Name              string
	Partitions        int
	ReplicationFactor int
	Retention         time.Duration
	// MaxMessageBytes caps one record batch; it must stay at or above the
	// writers' BatchBytes.
	MaxMessageBytes int
}

// TopicOptions sizes the topics. Zero values take the defaults.
type TopicOptions struct {
	Partitions        int           // default 6
	ReplicationFactor int           // default 1 (3 is right for a real cluster)
	Retention         time.Duration // default 7 days
}

// Topics returns the specs of every topic the pipeline uses.
func Topics(o TopicOptions) []TopicSpec {
	if o.Partitions <= 0 {
		o.Partitions = 6
	}
	if o.ReplicationFactor <= 0 {
		o.ReplicationFactor = 1
	}
	if o.Retention <= 0 {
		o.Retention = 7 * 24 * time.Hour
	}
	specs := make([]TopicSpec, 0, 3)
	for _, name := range []string{PostsTopic, SignalsTopic, IncidentsTopic} {
		specs = append(specs, TopicSpec{
			Name:              name,
			Partitions:        o.Partitions,
			ReplicationFactor: o.ReplicationFactor,
			Retention:         o.Retention,
			MaxMessageBytes:   maxBatchBytes,
		})
	}
	return specs
}

// EnsureTopics creates the topics that do not exist yet. Existing topics are
// left as they are (their partition counts are not changed behind an
// operator's back).
func EnsureTopics(ctx context.Context, brokers []string, specs []TopicSpec) error {
	if len(brokers) == 0 {
		return errors.New("ensure topics: no brokers")
	}
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second}
	req := &kafka.CreateTopicsRequest{}
	for _, s := range specs {
		req.Topics = append(req.Topics, kafka.TopicConfig{
			Topic:             s.Name,
			NumPartitions:     s.Partitions,
			ReplicationFactor: s.ReplicationFactor,
			ConfigEntries: []kafka.ConfigEntry{
				{ConfigName: "retention.ms", ConfigValue: strconv.FormatInt(s.Retention.Milliseconds(), 10)},
				{ConfigName: "cleanup.policy", ConfigValue: "delete"},
				{ConfigName: "max.message.bytes", ConfigValue: strconv.Itoa(s.MaxMessageBytes)},
			},
		})
	}
	res, err := client.CreateTopics(ctx, req)
	if err != nil {
		return fmt.Errorf("create topics: %w", err)
	}
	for name, err := range res.Errors {
		if err != nil && !errors.Is(err, kafka.TopicAlreadyExists) {
			return fmt.Errorf("create topic %s: %w", name, err)
		}
	}
	return nil
}

// EndOffsets returns, per partition, the offset the next record written to
// topic will get. A consumer has seen everything written so far once its
// position reaches these offsets.
func EndOffsets(ctx context.Context, brokers []string, topic string) (map[int]int64, error) {
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second}
	meta, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return nil, fmt.Errorf("metadata %s: %w", topic, err)
	}
	if len(meta.Topics) != 1 || meta.Topics[0].Error != nil {
		if len(meta.Topics) == 1 {
			return nil, fmt.Errorf("metadata %s: %w", topic, meta.Topics[0].Error)
		}
		return nil, fmt.Errorf("metadata %s: topic missing", topic)
	}
	reqs := make([]kafka.OffsetRequest, 0, len(meta.Topics[0].Partitions))
	for _, p := range meta.Topics[0].Partitions {
		reqs = append(reqs, kafka.LastOffsetOf(p.ID))
	}
	res, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{
		Topics: map[string][]kafka.OffsetRequest{topic: reqs},
	})
	if err != nil {
		return nil, fmt.Errorf("list offsets %s: %w", topic, err)
	}
	out := make(map[int]int64, len(reqs))
	for _, p := range res.Topics[topic] {
		if p.Error != nil {
			return nil, fmt.Errorf("list offsets %s/%d: %w", topic, p.Partition, p.Error)
		}
		out[p.Partition] = p.LastOffset
	}
	return out, nil
}

// Reachable dials the first broker that answers, for readiness checks.
func Reachable(ctx context.Context, brokers []string) error {
	var d net.Dialer
	var errs []error
	for _, b := range brokers {
		conn, err := d.DialContext(ctx, "tcp", b)
		if err == nil {
			return conn.Close()
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// CommittedOffsets returns a group's committed offsets on topic, per
// partition (-1 where it committed nothing).
func CommittedOffsets(ctx context.Context, brokers []string, group, topic string) (map[int]int64, error) {
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second}
	end, err := EndOffsets(ctx, brokers, topic)
	if err != nil {
		return nil, err
	}
	parts := make([]int, 0, len(end))
	for p := range end {
		parts = append(parts, p)
	}
	res, err := client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: parts}})
	if err != nil {
		return nil, fmt.Errorf("offset fetch %s/%s: %w", group, topic, err)
	}
	if res.Error != nil {
		return nil, fmt.Errorf("offset fetch %s/%s: %w", group, topic, res.Error)
	}
	out := make(map[int]int64, len(parts))
	for _, p := range res.Topics[topic] {
		if p.Error != nil {
			return nil, fmt.Errorf("offset fetch %s/%s/%d: %w", group, topic, p.Partition, p.Error)
		}
		out[p.Partition] = p.CommittedOffset
	}
	return out, nil
}

// CaughtUp reports whether committed offsets reach end in every partition
// that has records.
func CaughtUp(committed, end map[int]int64) bool {
	for p, off := range end {
		if off > 0 && committed[p] < off {
			return false
		}
	}
	return true
}

// Lag is how many records of topic the group has not committed yet, over
// every partition. A partition the group never committed counts whole.
func Lag(ctx context.Context, brokers []string, group, topic string) (int64, error) {
	end, err := EndOffsets(ctx, brokers, topic)
	if err != nil {
		return 0, err
	}
	committed, err := CommittedOffsets(ctx, brokers, group, topic)
	if err != nil {
		return 0, err
	}
	var lag int64
	for p, off := range end {
		lag += max(off-max(committed[p], 0), 0)
	}
	return lag, nil
}
