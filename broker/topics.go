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
	// NotifyStateTopic carries the webhook deliveries the one notifier
	// settled (record.Settle), keyed by delivery id and compacted, so the
	// replica that takes an incident over knows what was sent.
	NotifyStateTopic = "downsignal.notify-state"
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
	// SegmentBytes is the size at which a partition's log rolls to a new
	// file; 0 leaves the broker's default. Retention deletes whole files,
	// so a partition's disk use overshoots its retention by up to one
	// segment.
	SegmentBytes int64
	// Compact keeps the last record of each key (and still deletes records
	// older than Retention) instead of deleting by age alone.
	Compact bool
}

// TopicOptions sizes the topics. Zero values take the defaults.
type TopicOptions struct {
	Partitions        int           // default 6
	ReplicationFactor int           // default 1 (3 is right for a real cluster)
	Retention         time.Duration // default 7 days
	SegmentBytes      int64         // default: the broker's
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
	specs := make([]TopicSpec, 0, 4)
	for _, name := range []string{PostsTopic, SignalsTopic, IncidentsTopic} {
		specs = append(specs, TopicSpec{
			Name:              name,
			Partitions:        o.Partitions,
			ReplicationFactor: o.ReplicationFactor,
			Retention:         o.Retention,
			MaxMessageBytes:   maxBatchBytes,
			SegmentBytes:      o.SegmentBytes,
		})
	}
	// One partition: every serve replica reads it whole, in order. Its
	// records matter as long as the deliveries they settle can still be
	// retried or fanned out, which the topics' retention bounds.
	return append(specs, TopicSpec{
		Name:              NotifyStateTopic,
		Partitions:        1,
		ReplicationFactor: o.ReplicationFactor,
		Retention:         o.Retention,
		MaxMessageBytes:   maxBatchBytes,
		SegmentBytes:      o.SegmentBytes,
		Compact:           true,
	})
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
			ConfigEntries: append([]kafka.ConfigEntry{
				{ConfigName: "cleanup.policy", ConfigValue: s.cleanupPolicy()},
				{ConfigName: "max.message.bytes", ConfigValue: strconv.Itoa(s.MaxMessageBytes)},
			}, s.retentionConfigs()...),
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

func (s TopicSpec) cleanupPolicy() string {
	if s.Compact {
		return "compact,delete"
	}
	return "delete"
}

// retentionConfigs are the topic configs that bound its size.
func (s TopicSpec) retentionConfigs() []kafka.ConfigEntry {
	c := []kafka.ConfigEntry{{ConfigName: "retention.ms", ConfigValue: strconv.FormatInt(s.Retention.Milliseconds(), 10)}}
	if s.SegmentBytes > 0 {
		c = append(c, kafka.ConfigEntry{ConfigName: "segment.bytes", ConfigValue: strconv.FormatInt(s.SegmentBytes, 10)})
	}
	return c
}

// SetRetention sets the retention (and segment size) of existing topics to
// their specs'. EnsureTopics leaves existing topics alone; the embedded
// broker, which downsignal owns, calls this too so that a changed
// --topic-retention holds after a restart.
func SetRetention(ctx context.Context, brokers []string, specs []TopicSpec) error {
	if len(brokers) == 0 {
		return errors.New("set retention: no brokers")
	}
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second}
	req := &kafka.IncrementalAlterConfigsRequest{}
	for _, s := range specs {
		res := kafka.IncrementalAlterConfigsRequestResource{ResourceType: kafka.ResourceTypeTopic, ResourceName: s.Name}
		for _, c := range s.retentionConfigs() {
			res.Configs = append(res.Configs, kafka.IncrementalAlterConfigsRequestConfig{
				Name: c.ConfigName, Value: c.ConfigValue, ConfigOperation: kafka.ConfigOperationSet,
			})
		}
		req.Resources = append(req.Resources, res)
	}
	res, err := client.IncrementalAlterConfigs(ctx, req)
	if err != nil {
		return fmt.Errorf("set retention: %w", err)
	}
	for _, r := range res.Resources {
		if r.Error != nil {
			return fmt.Errorf("set retention of %s: %w", r.ResourceName, r.Error)
		}
	}
	return nil
}

// EndOffsets returns, per partition, the offset the next record written to
// topic will get. A consumer has seen everything written so far once its
// position reaches these offsets.
func EndOffsets(ctx context.Context, brokers []string, topic string) (map[int]int64, error) {
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second}
	parts, err := partitionsOf(ctx, client, topic)
	if err != nil {
		return nil, err
	}
	reqs := make([]kafka.OffsetRequest, 0, len(parts))
	for _, p := range parts {
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

// OffsetRange returns the first offset still in a partition of topic
// (retention and compaction move it) and the offset the next record will
// get. first == end: the partition holds nothing to read, whatever it held.
func OffsetRange(ctx context.Context, brokers []string, topic string, partition int) (first, end int64, err error) {
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second}
	res, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{
		Topics: map[string][]kafka.OffsetRequest{topic: {kafka.FirstOffsetOf(partition), kafka.LastOffsetOf(partition)}},
	})
	if err != nil {
		return 0, 0, fmt.Errorf("list offsets %s/%d: %w", topic, partition, err)
	}
	for _, p := range res.Topics[topic] {
		if p.Partition != partition {
			continue
		}
		if p.Error != nil {
			return 0, 0, fmt.Errorf("list offsets %s/%d: %w", topic, partition, p.Error)
		}
		return p.FirstOffset, p.LastOffset, nil
	}
	return 0, 0, fmt.Errorf("list offsets %s/%d: partition missing", topic, partition)
}

// partitionsOf asks the cluster for topic's partitions.
func partitionsOf(ctx context.Context, client *kafka.Client, topic string) ([]kafka.Partition, error) {
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
	return meta.Topics[0].Partitions, nil
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
	end, err := EndOffsets(ctx, brokers, topic)
	if err != nil {
		return nil, err
	}
	return committedOffsets(ctx, brokers, group, topic, end)
}

// committedOffsets asks for the group's offsets of the partitions of topic
// that are the keys of partsOf.
func committedOffsets(ctx context.Context, brokers []string, group, topic string, partsOf map[int]int64) (map[int]int64, error) {
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second}
	parts := make([]int, 0, len(partsOf))
	for p := range partsOf {
		parts = append(parts, p)
	}
	res, err := client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: parts}})
	if err != nil {
		return nil, fmt.Errorf("offset fetch %s/%s: %w", group, topic, err)
	}
	out := make(map[int]int64, len(parts))
	if errors.Is(res.Error, kafka.GroupIdNotFound) {
		// Some brokers answer so for a group that never committed.
		for _, p := range parts {
			out[p] = -1
		}
		return out, nil
	}
	if res.Error != nil {
		return nil, fmt.Errorf("offset fetch %s/%s: %w", group, topic, res.Error)
	}
	for _, p := range res.Topics[topic] {
		if p.Error != nil {
			return nil, fmt.Errorf("offset fetch %s/%s/%d: %w", group, topic, p.Partition, p.Error)
		}
		out[p.Partition] = p.CommittedOffset
	}
	return out, nil
}

// GroupReached reports whether the group's committed offsets on topic
// reach end (EndOffsets of an earlier moment) in every partition that has
// records. It asks only for the committed offsets, so polling it costs one
// request.
func GroupReached(ctx context.Context, brokers []string, group, topic string, end map[int]int64) (bool, error) {
	committed, err := committedOffsets(ctx, brokers, group, topic, end)
	if err != nil {
		return false, err
	}
	return CaughtUp(committed, end), nil
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
	committed, err := committedOffsets(ctx, brokers, group, topic, end)
	if err != nil {
		return 0, err
	}
	var lag int64
	for p, off := range end {
		lag += max(off-max(committed[p], 0), 0)
	}
	return lag, nil
}
