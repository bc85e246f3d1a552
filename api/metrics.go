package api

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the API's Prometheus metrics. Route labels are the mux's
// patterns, a fixed set.
type metrics struct {
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	rateLimited prometheus.Counter
	refused     prometheus.Counter
}

func newMetrics() *metrics {
	return &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "downsignal", Subsystem: "api", Name: "requests_total",
			Help: "HTTP requests by route and status class.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "downsignal", Subsystem: "api", Name: "request_seconds",
			Help:    "HTTP request duration by route.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}, []string{"route"}),
		rateLimited: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "downsignal", Subsystem: "api", Name: "rate_limited_total",
			Help: "Requests refused with 429 by the per-client rate limit.",
		}),
		refused: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "downsignal", Subsystem: "api", Name: "unauthorized_total",
			Help: "State-changing requests refused for a missing or wrong admin token.",
		}),
	}
}

func (m *metrics) register(reg prometheus.Registerer) error {
	var errs []error
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.rateLimited, m.refused} {
		errs = append(errs, reg.Register(c))
	}
	return errors.Join(errs...)
}

var codeClass = [...]string{"1xx", "1xx", "2xx", "3xx", "4xx", "5xx"}

func (m *metrics) observe(route string, status int, secs float64) {
	if route == "" {
		route = "unmatched"
	}
	class := "5xx"
	if i := status / 100; i >= 1 && i < len(codeClass) {
		class = codeClass[i]
	}
	m.requests.WithLabelValues(route, class).Inc()
	m.duration.WithLabelValues(route).Observe(secs)
}
