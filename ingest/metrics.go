package ingest

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/downsignal/downsignal/health"
	"github.com/downsignal/downsignal/record"
)

// Metrics are the metrics every source and the Stage share. A nil *Metrics
// records nothing, which keeps tests and tools free of registries they do
// not need. A protocol with metrics of its own (the relay's error frames,
// say) registers them in its package.
//
// Every label value comes from a fixed set: source is jetstream, firehose or
// replay; kinds and reasons are constants of the source packages and of
// this one.
type Metrics struct {
	events       *prometheus.CounterVec
	records      *prometheus.CounterVec
	decodeErrors *prometheus.CounterVec
	reconnects   *prometheus.CounterVec
	lagSeconds   *prometheus.GaugeVec
	produced     prometheus.Counter
	produceSecs  prometheus.Histogram
	produceErrs  prometheus.Counter
	inflight     prometheus.Gauge
	buffered     prometheus.Gauge
	cursor       *prometheus.GaugeVec
	lastPost     prometheus.Gauge

	// health follows the source's sessions and posts for GET /v1/status;
	// nil follows nothing.
	health *health.Source
}

// EventUnknown is the events_total kind of a message that did not parse far
// enough to have a kind of its own (ingest/wsconn counts the messages it
// skips for their size under the same name).
const EventUnknown = "unknown"

// NewMetrics registers ingest's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "downsignal", Subsystem: "ingest", Name: "events_total",
			Help: "Network events read from a source, by kind (commit, identity, account, sync, info, error, unknown).",
		}, []string{"source", "kind"}),
		records: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "downsignal", Subsystem: "ingest", Name: "records_total",
			Help: "Normalized events emitted, by kind (post, delete, account, reset); rate(kind=post) is posts/s.",
		}, []string{"source", "kind"}),
		decodeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "downsignal", Subsystem: "ingest", Name: "decode_errors_total",
			Help: "Messages or records a source could not decode and skipped, by reason (frame, record, json, oversize, zstd).",
		}, []string{"source", "reason"}),
		reconnects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "downsignal", Subsystem: "ingest", Name: "reconnects_total",
			Help: "Connections to a live source that ended and were retried, by reason (dial, read, stall, error_frame).",
		}, []string{"source", "reason"}),
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
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "downsignal", Subsystem: "ingest", Name: "inflight_batches",
			Help: "Batches sent to Kafka and not yet acknowledged.",
		}),
		buffered: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "downsignal", Subsystem: "ingest", Name: "buffered_items",
			Help: "Items read from the source and waiting for Kafka; at the buffer size the source is slowed.",
		}),
		cursor: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "downsignal", Subsystem: "ingest", Name: "saved_cursor",
			Help: "The last cursor saved after Kafka acknowledged everything before it.",
		}, []string{"source"}),
	}
	m.lastPost = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: "downsignal", Subsystem: "ingest", Name: "last_event_timestamp_seconds",
		Help: "Wall clock (unix seconds) when the source last delivered a post; time() minus it is how long the stream has been silent.",
	})
	reg.MustRegister(m.events, m.records, m.decodeErrors, m.reconnects,
		m.lagSeconds, m.produced, m.produceSecs, m.produceErrs, m.inflight, m.buffered, m.cursor, m.lastPost)
	return m
}

// Follow makes m report the source's sessions and posts to h as well.
func (m *Metrics) Follow(h *health.Source) {
	if m != nil {
		m.health = h
	}
}

// SessionStarted implements wsconn.Observer: a connection is open.
func (m *Metrics) SessionStarted(string) {
	if m != nil {
		m.health.SessionStarted()
	}
}

// SessionEnded implements wsconn.Observer: a connection ended with err.
func (m *Metrics) SessionEnded(_ string, err error) {
	if m != nil {
		m.health.SessionEnded(err)
	}
}

// posts records posts read now, with their event times in source order.
func (m *Metrics) posts(times []time.Time) {
	if m == nil || len(times) == 0 {
		return
	}
	m.lastPost.SetToCurrentTime()
	m.health.Posts(times)
}

// finished records that a finite source was read to its end and Kafka
// acknowledged all of it.
func (m *Metrics) finished() {
	if m != nil {
		m.health.Finished()
	}
}

// Event counts a message read from the network, by kind.
func (m *Metrics) Event(source, kind string) {
	if m != nil {
		m.events.WithLabelValues(source, kind).Inc()
	}
}

// Record counts an event emitted.
func (m *Metrics) Record(source string, kind record.Kind) {
	if m != nil {
		m.records.WithLabelValues(source, string(kind)).Inc()
	}
}

// DecodeError counts a message or record skipped because it did not decode.
func (m *Metrics) DecodeError(source, reason string) {
	if m != nil {
		m.decodeErrors.WithLabelValues(source, reason).Inc()
	}
}

// Reconnect counts a connection that ended and is retried, by reason.
func (m *Metrics) Reconnect(source, reason string) {
	if m != nil {
		m.reconnects.WithLabelValues(source, reason).Inc()
	}
}

// Lag sets how far behind the wall clock the newest event read is.
func (m *Metrics) Lag(source string, t time.Time) {
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

func (m *Metrics) setInflight(n int) {
	if m != nil {
		m.inflight.Set(float64(n))
	}
}

func (m *Metrics) setBuffered(n int) {
	if m != nil {
		m.buffered.Set(float64(n))
	}
}

func (m *Metrics) savedCursor(source string, c int64) {
	if m != nil {
		m.cursor.WithLabelValues(source).Set(float64(c))
	}
}
