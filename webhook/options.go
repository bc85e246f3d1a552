package webhook

import (
	"errors"
	"log/slog"
	"time"

	"github.com/downsignal/downsignal/detect"
)

// Source is the event log deliveries come from (package alert's Engine).
type Source interface {
	EventsAfter(seq uint64, n int) ([]detect.Event, error)
	Notify() <-chan struct{}
	InstanceID() string
}

// DefaultSchedule is when attempts happen after an event: at once, then
// after each delay, about three days in all (Standard Webhooks' advice).
var DefaultSchedule = []time.Duration{0, 5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour,
	5 * time.Hour, 10 * time.Hour, 14 * time.Hour, 20 * time.Hour, 24 * time.Hour}

// Options configures a Dispatcher. Zero values take the defaults.
type Options struct {
	// Path of the bbolt file holding endpoints, outbox and delivery log.
	Path string
	// Source may be nil: then only test sends are delivered.
	Source  Source
	Logger  *slog.Logger
	Metrics *Metrics
	// Guard checks destinations; nil refuses every non-public address.
	Guard *Guard
	// Timeout of one attempt. Default 15s.
	Timeout time.Duration
	// Schedule of attempts (first entry is the delay of the first).
	Schedule []time.Duration
	// Jitter spreads each delay by up to this fraction either way. Default 0.2.
	Jitter float64
	// Workers is how many endpoints are delivered to at once. Default 4.
	Workers int
	// BreakerFailures in a row open an endpoint's circuit breaker for
	// BreakerCooldown (doubling while it keeps failing, at most 1h).
	// Defaults 5 and 1m.
	BreakerFailures int
	BreakerCooldown time.Duration
	// DisableAfter of continuous failure disables an endpoint. Default 5 days.
	DisableAfter time.Duration
	// MaxRetryAfter caps a receiver's Retry-After. Default 24h.
	MaxRetryAfter time.Duration
	// Retention of finished deliveries in the log. Default 30 days.
	Retention time.Duration
	// MaxAge skips incident changes whose event time is older than this
	// (wall clock) when they are fanned out, so a detector catching up on
	// days of backlog does not page anyone about them. 0 sends everything
	// (replays of recorded days need that).
	MaxAge time.Duration
	// ExternalURL links receivers back to this instance (Alertmanager
	// generatorURL, PagerDuty links).
	ExternalURL string
	// Poll bounds how long the dispatcher sleeps between looks at the
	// outbox and the event log. Default 1s.
	Poll time.Duration
	// Owner, when set, decides which replica sends the deliveries to
	// configured endpoints (share.go); nil sends everything.
	Owner Owner
	// Now is the wall clock; nil means time.Now.
	Now func() time.Time
}

func (o *Options) validate() error {
	if o.Path == "" {
		return errors.New("webhook: empty store path")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Guard == nil {
		o.Guard = NewGuard(nil)
	}
	if o.Timeout <= 0 {
		o.Timeout = 15 * time.Second
	}
	if len(o.Schedule) == 0 {
		o.Schedule = DefaultSchedule
	}
	for _, d := range o.Schedule {
		if d < 0 {
			return errors.New("webhook: negative delay in schedule")
		}
	}
	if o.Jitter < 0 || o.Jitter >= 1 {
		return errors.New("webhook: jitter must be in [0, 1)")
	}
	if o.Jitter == 0 {
		o.Jitter = 0.2
	}
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.BreakerFailures <= 0 {
		o.BreakerFailures = 5
	}
	if o.BreakerCooldown <= 0 {
		o.BreakerCooldown = time.Minute
	}
	if o.DisableAfter <= 0 {
		o.DisableAfter = 5 * 24 * time.Hour
	}
	if o.MaxRetryAfter <= 0 {
		o.MaxRetryAfter = 24 * time.Hour
	}
	if o.Retention <= 0 {
		o.Retention = 30 * 24 * time.Hour
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return nil
}
