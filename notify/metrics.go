package notify

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the notifier's metrics; nil records nothing.
type Metrics struct {
	published prometheus.Counter
	owned     prometheus.Gauge
	settles   prometheus.Counter
	bad       prometheus.Counter
}

// NewMetrics registers the metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		published: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "downsignal", Subsystem: "notify", Name: "changes_published_total",
			Help: "Incident changes produced to downsignal.incidents and acknowledged.",
		}),
		owned: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "downsignal", Subsystem: "notify", Name: "owned_partitions",
			Help: "Partitions of downsignal.incidents this replica sends webhooks for (the notify group's assignment, once caught up on downsignal.notify-state).",
		}),
		settles: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "downsignal", Subsystem: "notify", Name: "settles_shared_total",
			Help: "Settled deliveries produced to downsignal.notify-state and acknowledged.",
		}),
		bad: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "downsignal", Subsystem: "notify", Name: "settles_invalid_total",
			Help: "Records of downsignal.notify-state that did not decode, skipped.",
		}),
	}
	reg.MustRegister(m.published, m.owned, m.settles, m.bad)
	return m
}

func (m *Metrics) publish(n int) {
	if m != nil {
		m.published.Add(float64(n))
	}
}

// SendsAll records that this process sends every incident's webhooks
// itself (run, or serve without a notify group): it owns all n
// partitions of downsignal.incidents as far as anyone watching can tell.
func (m *Metrics) SendsAll(n int) { m.setOwned(n) }

func (m *Metrics) setOwned(n int) {
	if m != nil {
		m.owned.Set(float64(n))
	}
}

func (m *Metrics) shared(n int) {
	if m != nil {
		m.settles.Add(float64(n))
	}
}

func (m *Metrics) invalid() {
	if m != nil {
		m.bad.Inc()
	}
}
