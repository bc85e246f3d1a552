package index

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the index's Prometheus metrics; nil records nothing.
type Metrics struct {
	indexed   prometheus.Counter
	deleted   prometheus.Counter
	invalid   prometheus.Counter
	batchSecs prometheus.Histogram
	parts     prometheus.Gauge
}

// NewMetrics registers the index's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		indexed: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "downsignal", Subsystem: "index", Name: "posts_indexed_total",
			Help: "Posts written to the index (a redelivered post counts again).",
		}),
		deleted: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "downsignal", Subsystem: "index", Name: "posts_deleted_total",
			Help: "Post deletions applied to the index.",
		}),
		invalid: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "downsignal", Subsystem: "index", Name: "invalid_records_total",
			Help: "downsignal.signals records that did not decode and were skipped.",
		}),
		batchSecs: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "downsignal", Subsystem: "index", Name: "batch_seconds",
			Help:    "Time to make one batch durable in the counters and the index.",
			Buckets: prometheus.ExponentialBuckets(0.002, 2, 12),
		}),
	}
	m.parts = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: "downsignal", Subsystem: "index", Name: "partitions",
		Help: "Day partitions open.",
	})
	reg.MustRegister(m.indexed, m.deleted, m.invalid, m.batchSecs, m.parts)
	return m
}

func (m *Metrics) batch(indexed, deleted int, d time.Duration) {
	if m == nil {
		return
	}
	m.indexed.Add(float64(indexed))
	m.deleted.Add(float64(deleted))
	m.batchSecs.Observe(d.Seconds())
}

func (m *Metrics) invalidRecord() {
	if m != nil {
		m.invalid.Inc()
	}
}

func (m *Metrics) setPartitions(n int) {
	if m != nil {
		m.parts.Set(float64(n))
	}
}
