package detect

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the detector's Prometheus metrics; nil records nothing.
// No label carries a service name: incidents are few and listed by the API.
type Metrics struct {
	records        prometheus.Counter
	invalid        prometheus.Counter
	events         *prometheus.CounterVec
	suppressedMins *prometheus.CounterVec
	open           prometheus.Gauge
	watermark      prometheus.Gauge
	batchSecs      prometheus.Histogram
}

// NewMetrics registers the detector's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		records: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "downsignal", Subsystem: "alert", Name: "records_applied_total",
			Help: "downsignal.signals records applied by the detector (skipped redeliveries excluded).",
		}),
		invalid: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "downsignal", Subsystem: "alert", Name: "invalid_records_total",
			Help: "downsignal.signals records that did not decode and were skipped.",
		}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "downsignal", Subsystem: "alert", Name: "incident_transitions_total",
			Help: "Incident transitions: pending, expired (pending never confirmed), firing, updated, resolved.",
		}, []string{"transition"}),
		suppressedMins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "downsignal", Subsystem: "alert", Name: "suppressed_minutes_total",
			Help: "Minutes in which new incidents were suppressed, by reason (ingest_gap, global_spike).",
		}, []string{"reason"}),
		open: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "downsignal", Subsystem: "alert", Name: "open_incidents",
			Help: "Incidents pending or firing.",
		}),
		watermark: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "downsignal", Subsystem: "alert", Name: "watermark_seconds",
			Help: "Event time (unix seconds) up to which every partition has been read.",
		}),
		batchSecs: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "downsignal", Subsystem: "alert", Name: "batch_seconds",
			Help:    "Time to apply, evaluate and persist one batch.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
	}
	reg.MustRegister(m.records, m.invalid, m.events, m.suppressedMins, m.open, m.watermark, m.batchSecs)
	return m
}

func (m *Metrics) batch(applied int, d time.Duration, watermark int64, open int) {
	if m == nil {
		return
	}
	m.records.Add(float64(applied))
	m.batchSecs.Observe(d.Seconds())
	m.watermark.Set(float64(watermark))
	m.open.Set(float64(open))
}

func (m *Metrics) setOpen(n int) {
	if m != nil {
		m.open.Set(float64(n))
	}
}

func (m *Metrics) event(typ string) {
	if m == nil {
		return
	}
	if len(typ) > 9 && typ[:9] == "incident." {
		typ = typ[9:]
	}
	m.events.WithLabelValues(typ).Inc()
}

func (m *Metrics) suppressed(reason string) {
	if m != nil {
		m.suppressedMins.WithLabelValues(reason).Inc()
	}
}

func (m *Metrics) invalidRecord() {
	if m != nil {
		m.invalid.Inc()
	}
}
