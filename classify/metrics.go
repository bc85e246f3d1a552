package classify

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the classify stage's Prometheus metrics; nil records nothing.
type Metrics struct {
	posts       *prometheus.CounterVec
	invalidRecs prometheus.Counter
}

// NewMetrics registers the stage's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		posts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "downsignal", Subsystem: "classify", Name: "posts_total",
			Help: "Posts classified, by whether they were outage reports.",
		}, []string{"outage"}),
		invalidRecs: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "downsignal", Subsystem: "classify", Name: "invalid_records_total",
			Help: "downsignal.posts records that did not decode and were skipped.",
		}),
	}
	reg.MustRegister(m.posts, m.invalidRecs)
	return m
}

func (m *Metrics) classified(outage bool) {
	if m == nil {
		return
	}
	if outage {
		m.posts.WithLabelValues("true").Inc()
	} else {
		m.posts.WithLabelValues("false").Inc()
	}
}

func (m *Metrics) invalid() {
	if m != nil {
		m.invalidRecs.Inc()
	}
}
