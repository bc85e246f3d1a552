package notify

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the notifier's metrics; nil records nothing.
type Metrics struct {
	published prometheus.Counter
}

// NewMetrics registers the metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		published: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "downsignal", Subsystem: "notify", Name: "changes_published_total",
			Help: "Incident changes produced to downsignal.incidents and acknowledged.",
		}),
	}
	reg.MustRegister(m.published)
	return m
}

func (m *Metrics) publish(n int) {
	if m != nil {
		m.published.Add(float64(n))
	}
}
