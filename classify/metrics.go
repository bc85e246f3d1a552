package classify

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the classify stage's Prometheus metrics (the stage is wired in package app); nil records nothing.
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

// Classified counts one classified post.
func (m *Metrics) Classified(outage bool) {
	if m == nil {
		return
	}
	if outage {
		m.posts.WithLabelValues("true").Inc()
	} else {
		m.posts.WithLabelValues("false").Inc()
	}
}

// Invalid counts one downsignal.posts record that did not decode.
func (m *Metrics) Invalid() {
	if m != nil {
		m.invalidRecs.Inc()
	}
}
