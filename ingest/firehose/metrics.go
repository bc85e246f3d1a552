package firehose

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/downsignal/downsignal/ingest"
)

// Metrics are the firehose's Prometheus metrics: the ones every source
// shares (package ingest) and the relay's own (error frames, lost history,
// verification, #sync answers). A nil *Metrics records nothing.
//
// Relay error names are label values only when they are one of the names
// this package handles; "other" stands for anything a relay invents.
type Metrics struct {
	common      *ingest.Metrics
	relayErrors *prometheus.CounterVec
	gaps        *prometheus.CounterVec
	verifyFails *prometheus.CounterVec
	resyncs     *prometheus.CounterVec
}

// NewMetrics registers the firehose's metrics with reg. common are the
// metrics the firehose shares with the other sources and the Stage; they
// are registered once, by ingest.NewMetrics.
func NewMetrics(reg prometheus.Registerer, common *ingest.Metrics) *Metrics {
	m := &Metrics{
		common: common,
		relayErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "downsignal", Subsystem: "ingest", Name: "relay_errors_total",
			Help: "Error frames and cursor warnings from the relay (OutdatedCursor, FutureCursor, ConsumerTooSlow, other).",
		}, []string{"source", "error"}),
		gaps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "downsignal", Subsystem: "ingest", Name: "gaps_total",
			Help: "Times the source could not resume from the saved cursor and events were lost (outdated_cursor, future_cursor).",
		}, []string{"source", "reason"}),
		verifyFails: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "downsignal", Subsystem: "ingest", Name: "verify_failures_total",
			Help: "Relay commits skipped because their signature or MST proof did not verify.",
		}, []string{"source"}),
		resyncs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "downsignal", Subsystem: "ingest", Name: "resyncs_total",
			Help: "Relay #sync events answered by fetching the account's repository, by outcome (done, failed, skipped: rate limit or recently fetched).",
		}, []string{"source", "outcome"}),
	}
	reg.MustRegister(m.relayErrors, m.gaps, m.verifyFails, m.resyncs)
	return m
}

// shared returns the metrics every source shares (nil records nothing).
func (m *Metrics) shared() *ingest.Metrics {
	if m == nil {
		return nil
	}
	return m.common
}

func (m *Metrics) relayError(source, name string) {
	if m == nil {
		return
	}
	switch name {
	case relayOutdatedCursor, relayFutureCursor, relayConsumerTooSlow:
	default:
		name = "other"
	}
	m.relayErrors.WithLabelValues(source, name).Inc()
}

func (m *Metrics) gap(source, reason string) {
	if m != nil {
		m.gaps.WithLabelValues(source, reason).Inc()
	}
}

func (m *Metrics) verifyFailure(source string) {
	if m != nil {
		m.verifyFails.WithLabelValues(source).Inc()
	}
}

func (m *Metrics) resync(source, outcome string) {
	if m != nil {
		m.resyncs.WithLabelValues(source, outcome).Inc()
	}
}
