package wsconn

import (
	"context"
	"math/rand/v2"
	"time"
)

// backoff is the jittered, doubling delay between reconnect rounds. A
// source that was streaming a moment ago is usually back within seconds (a
// deploy, a restart, a network blip), and every second of waiting after it
// returns is a second of posts late; so for recent after its last good
// session the delay grows only to healthyMax. A source away longer than
// that, or never reached, backs off to max, sparing an endpoint that is
// really down.
type backoff struct {
	min, max, healthyMax, recent time.Duration
	cur                          time.Duration
	// lastHealthy is when the last session that read messages ended;
	// zero while there has been none.
	lastHealthy time.Time
}

func newBackoff(o Options) *backoff {
	return &backoff{min: o.MinBackoff, max: o.MaxBackoff, healthyMax: o.HealthyMaxBackoff, recent: o.HealthyWindow, cur: o.MinBackoff}
}

// next returns the delay to wait now (between half and all of the current
// step) and doubles the step, up to the cap that holds at now.
func (b *backoff) next(now time.Time) time.Duration {
	limit := b.max
	if !b.lastHealthy.IsZero() && now.Sub(b.lastHealthy) < b.recent {
		limit = b.healthyMax
	}
	cur := min(b.cur, limit)
	d := cur/2 + rand.N(cur/2+1)
	b.cur = min(cur*2, limit)
	return d
}

// healthy records a session that read messages and ended at now: the
// next failure is a fresh one.
func (b *backoff) healthy(now time.Time) {
	b.cur = b.min
	b.lastHealthy = now
}

// restart makes the next step the first one again.
func (b *backoff) restart() { b.cur = b.min }

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
