package ingest

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are ingest's Prometheus metrics. A nil *Metrics records nothing,
// which keeps tests and tools free of registries they do not need.
type Metrics struct {
	events       *prometheus.CounterVec
	decodeErrors *prometheus.CounterVec
	reconnects   *prometheus.CounterVec
	lagSeconds   *prometheus.GaugeVec
	produced     prometheus.Counter
	produceSecs  prometheus.Histogram
	produceErrs  prometheus.Counter
	cursor       *prometheus.GaugeVec
}

// NewMetrics registers ingest's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "downsignal", Subsystem: "ingest", Name: "events_total",
			Help: "Events read from a source, by source and kind (post, delete, account, ignored).",
		}, []string{"source", "kind"}),
		decodeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "downsignal", Subsystem: "ingest", Name: "decode_errors_total",
			Help: "Messages a source could not decode and skipped.",
		}, []string{"source"}),
		reconnects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "downsignal", Subsystem: "ingest", Name: "reconnects_total",
			Help: "Connections to a live source that ended and were retried.",
		}, []string{"source"}),
		lagSeconds: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "downsignal", Subsystem: "ingest", Name: "cursor_lag_seconds",
			Help: "Wall clock minus the event time of the newest event read.",
		}, []string{"source"}),
		produced: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "downsignal", Subsystem: "ingest", Name: "produced_total",
			Help: "Events acknowledged by Kafka.",
		}),
		produceSecs: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "downsignal", Subsystem: "ingest", Name: "produce_seconds",
			Help:    "Time for Kafka to acknowledge one batch.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
		produceErrs: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "downsignal", Subsystem: "ingest", Name: "produce_errors_total",
			Help: "Batches Kafka did not acknowledge (they are retried).",
		}),
		cursor: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "downsignal", Subsystem: "ingest", Name: "saved_cursor",
			Help: "The last cursor saved after Kafka acknowledged everything before it.",
		}, []string{"source"}),
	}
	reg.MustRegister(m.events, m.decodeErrors, m.reconnects, m.lagSeconds, m.produced, m.produceSecs, m.produceErrs, m.cursor)
	return m
}

func (m *Metrics) event(source, kind string) {
	if m != nil {
		m.events.WithLabelValues(source, kind).Inc()
	}
}

func (m *Metrics) decodeError(source string) {
	if m != nil {
		m.decodeErrors.WithLabelValues(source).Inc()
	}
}

func (m *Metrics) reconnect(source string) {
	if m != nil {
		m.reconnects.WithLabelValues(source).Inc()
	}
}

func (m *Metrics) lag(source string, t time.Time) {
	if m != nil && !t.IsZero() {
		m.lagSeconds.WithLabelValues(source).Set(time.Since(t).Seconds())
	}
}

func (m *Metrics) producedBatch(n int, d time.Duration, err error) {
	if m == nil {
		return
	}
	if err != nil {
		m.produceErrs.Inc()
		return
	}
	m.produced.Add(float64(n))
	m.produceSecs.Observe(d.Seconds())
}

func (m *Metrics) savedCursor(source string, c int64) {
	if m != nil {
		m.cursor.WithLabelValues(source).Set(float64(c))
	}
}
