package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/segmentio/kafka-go"
)

// MemberOptions configures Member.
type MemberOptions struct {
	Brokers []string
	Group   string
	Topic   string
	// SessionTimeout is how long the coordinator waits for a silent member
	// (a killed process) before it gives its partitions to the others.
	// Default 10s; brokers refuse less than their
	// group.min.session.timeout.ms (6s by default).
	SessionTimeout time.Duration
	// RebalanceTimeout is how long members get to hand over and rejoin
	// when the group changes. Default 30s.
	RebalanceTimeout time.Duration
	Logger           *slog.Logger
}

// Assignment is one generation of the group as one member sees it.
type Assignment struct {
	Generation int32
	MemberID   string
	// Partitions are this member's partitions of the topic, in order.
	Partitions []int
	// Total is how many partitions the topic has.
	Total int
	// Check asks the coordinator whether this generation is still the
	// group's: it commits offset 0 of one of the member's partitions (the
	// group reads nothing, so its offsets mean nothing), which the
	// coordinator refuses from a member it expelled. Nil without
	// partitions.
	Check func() error
}

// Member takes part in a consumer group that reads nothing: the group is
// used for what Kafka's coordinator decides, which member owns which
// partition of the topic. For each generation it calls hold with the
// member's share and a context that ends when the generation does (a
// member joined, left or died) or when ctx ends. The member does not join
// the next generation before hold returns, and the coordinator does not
// finish the next generation before every live member rejoined, so a
// member that still finishes work on its partitions when hold's context
// ends finishes it before another member is given them. A member cut off
// from Kafka sees its generation end (its heartbeat fails) before the
// coordinator's session timeout gives its partitions away. Member returns
// when ctx ends, leaving the group.
func Member(ctx context.Context, o MemberOptions, hold func(ctx context.Context, a Assignment)) error {
	if o.SessionTimeout <= 0 {
		o.SessionTimeout = 10 * time.Second
	}
	if o.RebalanceTimeout <= 0 {
		o.RebalanceTimeout = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	cfg := kafka.ConsumerGroupConfig{
		ID:                    o.Group,
		Brokers:               o.Brokers,
		Topics:                []string{o.Topic},
		HeartbeatInterval:     max(o.SessionTimeout/5, 500*time.Millisecond),
		SessionTimeout:        o.SessionTimeout,
		RebalanceTimeout:      o.RebalanceTimeout,
		JoinGroupBackoff:      time.Second,
		WatchPartitionChanges: true,
		StartOffset:           kafka.LastOffset,
		ErrorLogger:           errorLogger(o.Logger),
		// A heartbeat every fifth of the session that fails within half
		// of it ends the generation (hold's context) at most 0.7 of the
		// session after the last heartbeat the coordinator saw, before it
		// gives the partitions to another member: a member cut off from
		// Kafka stops before another starts.
		Timeout: max(o.SessionTimeout/2, time.Second),
	}
	cg, err := kafka.NewConsumerGroup(cfg)
	if err != nil {
		return fmt.Errorf("group %s: %w", o.Group, err)
	}
	defer cg.Close()
	for {
		// The group waits JoinGroupBackoff after a failed generation
		// before it reports the failure here and joins again.
		gen, err := cg.Next(ctx)
		switch {
		case ctx.Err() != nil || errors.Is(err, kafka.ErrGroupClosed):
			return nil
		case err != nil:
			o.Logger.Warn("group generation failed; joining again", "group", o.Group, "err", err)
			continue
		}
		a := Assignment{Generation: gen.ID, MemberID: gen.MemberID}
		if a.Total, err = partitionCount(ctx, o.Brokers, o.Topic); err != nil {
			// Without the count no key can be placed: hold nothing this
			// generation rather than guess.
			o.Logger.Warn("group generation without the topic's partition count", "group", o.Group, "err", err)
		} else {
			for _, p := range gen.Assignments[o.Topic] {
				a.Partitions = append(a.Partitions, p.ID)
			}
			slices.Sort(a.Partitions)
		}
		if len(a.Partitions) > 0 {
			fence := map[string]map[int]int64{o.Topic: {a.Partitions[0]: 0}}
			a.Check = func() error { return gen.CommitOffsets(fence) }
		}
		done := make(chan struct{})
		gen.Start(func(gctx context.Context) {
			defer close(done)
			hctx, cancel := context.WithCancel(ctx)
			defer cancel()
			stop := context.AfterFunc(gctx, cancel)
			defer stop()
			hold(hctx, a)
		})
		<-done
		if ctx.Err() != nil {
			return nil
		}
	}
}

// PartitionOf is the partition of a topic with n partitions that a record
// keyed key goes to with NewWriter's balancer.
func PartitionOf(key string, n int) int {
	if n <= 0 {
		return 0
	}
	parts := make([]int, n)
	for i := range parts {
		parts[i] = i
	}
	return (&kafka.Hash{}).Balance(kafka.Message{Key: []byte(key)}, parts...)
}

func partitionCount(ctx context.Context, brokers []string, topic string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	parts, err := partitionsOf(ctx, &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second}, topic)
	if err == nil && len(parts) == 0 {
		err = fmt.Errorf("metadata %s: no partitions", topic)
	}
	return len(parts), err
}
