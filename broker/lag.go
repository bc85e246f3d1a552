package broker

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Hop is one consuming stage of a process: its name, the topic it reads and
// its consumer group.
type Hop struct{ Stage, Topic, Group string }

// lagCollector reports each hop's Lag at scrape time. It asks Kafka rather
// than counting in the consumer, so the figure is the whole group's, right
// after a rebalance or after a member died, whichever member a scrape reaches.
type lagCollector struct {
	brokers []string
	hops    []Hop
	log     *slog.Logger
	desc    *prometheus.Desc
}

// NewLagCollector returns a collector of downsignal_consumer_lag_records,
// one series per hop. A hop whose offsets Kafka does not answer within 5 s
// is left out of that scrape (and logged), so the gap shows in Prometheus
// instead of a stale figure.
func NewLagCollector(brokers []string, hops []Hop, logger *slog.Logger) prometheus.Collector {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &lagCollector{
		brokers: brokers, hops: hops, log: logger,
		desc: prometheus.NewDesc("downsignal_consumer_lag_records",
			"Records of the topic the stage's consumer group has not committed yet (end offsets minus committed offsets, all partitions), read from Kafka at scrape time.",
			[]string{"stage", "topic", "group"}, nil),
	}
}

func (c *lagCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *lagCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, h := range c.hops {
		lag, err := Lag(ctx, c.brokers, h.Group, h.Topic)
		if err != nil {
			c.log.Warn("consumer lag unknown", "stage", h.Stage, "group", h.Group, "err", err)
			continue
		}
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(lag), h.Stage, h.Topic, h.Group)
	}
}
