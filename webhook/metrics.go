package webhook

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the delivery metrics; nil records nothing. Labels carry
// formats and outcomes, never endpoint URLs or ids.
type Metrics struct {
	attempts  *prometheus.CounterVec
	enqueued  prometheus.Counter
	disabled  *prometheus.CounterVec
	pending   prometheus.Gauge
	duration  prometheus.Histogram
	breakerOn prometheus.Counter
	moot      prometheus.Counter
	applied   prometheus.Counter
}

// NewMetrics registers the delivery metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "downsignal", Subsystem: "webhook", Name: "attempts_total",
			Help: "Delivery attempts by format and outcome (success, retry, gone, failed).",
		}, []string{"format", "outcome"}),
		enqueued: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "downsignal", Subsystem: "webhook", Name: "deliveries_enqueued_total",
			Help: "Deliveries put in the outbox.",
		}),
		disabled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "downsignal", Subsystem: "webhook", Name: "endpoints_disabled_total",
			Help: "Endpoints disabled automatically, by reason (gone, failing).",
		}, []string{"reason"}),
		pending: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "downsignal", Subsystem: "webhook", Name: "outbox_pending",
			Help: "Deliveries waiting in the outbox.",
		}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "downsignal", Subsystem: "webhook", Name: "attempt_seconds",
			Help:    "Duration of one delivery attempt.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2.5, 10),
		}),
		breakerOn: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "downsignal", Subsystem: "webhook", Name: "breaker_opened_total",
			Help: "Times an endpoint's circuit breaker opened.",
		}),
		moot: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "downsignal", Subsystem: "webhook", Name: "superseded_total",
			Help: "Deliveries settled unsent because a later change of their incident made them moot.",
		}),
		applied: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "downsignal", Subsystem: "webhook", Name: "settled_elsewhere_total",
			Help: "Deliveries marked settled because the replica that owns their incident settled them (read from downsignal.notify-state).",
		}),
	}
	reg.MustRegister(m.attempts, m.enqueued, m.disabled, m.pending, m.duration, m.breakerOn, m.moot, m.applied)
	return m
}

func (m *Metrics) attempt(format Format, outcome string, d time.Duration) {
	if m == nil {
		return
	}
	m.attempts.WithLabelValues(string(format), outcome).Inc()
	m.duration.Observe(d.Seconds())
}

func (m *Metrics) enqueue(n int) {
	if m != nil {
		m.enqueued.Add(float64(n))
	}
}

func (m *Metrics) disable(reason string) {
	if m != nil {
		m.disabled.WithLabelValues(reason).Inc()
	}
}

func (m *Metrics) setPending(n int) {
	if m != nil {
		m.pending.Set(float64(n))
	}
}

func (m *Metrics) breakerOpened() {
	if m != nil {
		m.breakerOn.Inc()
	}
}

func (m *Metrics) superseded() {
	if m != nil {
		m.moot.Inc()
	}
}

func (m *Metrics) settlesApplied(n int) {
	if m != nil && n > 0 {
		m.applied.Add(float64(n))
	}
}
