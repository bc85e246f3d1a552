package broker

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"time"
)

// RetryOptions configures Retry.
type RetryOptions struct {
	// What names the work in log lines: "produce 1000 events".
	What string
	// Drain bounds the one attempt made after ctx ends. Default 15s.
	Drain time.Duration
	// Max is the longest wait between attempts. Default 10s.
	Max    time.Duration
	Logger *slog.Logger
}

// ErrShutdown wraps the last error of work that was not done before
// shutdown: it will be done again after a restart.
type ErrShutdown struct{ Err error }

func (e *ErrShutdown) Error() string { return "not done before shutdown: " + e.Err.Error() }
func (e *ErrShutdown) Unwrap() error { return e.Err }

// Retry runs attempt until it succeeds: this is how every stage treats a
// broker or a store that is briefly away (restarting, rebalancing, full).
// Waits grow from 100ms to Max with jitter. Once ctx ends, attempt gets one
// more try under a fresh Drain-bounded context, so work already in hand on
// a clean shutdown is finished rather than redone; if that fails too,
// Retry returns an *ErrShutdown.
func Retry(ctx context.Context, o RetryOptions, attempt func(ctx context.Context) error) error {
	if o.Drain <= 0 {
		o.Drain = 15 * time.Second
	}
	if o.Max <= 0 {
		o.Max = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	backoff := 100 * time.Millisecond
	for n := 1; ; n++ {
		draining := ctx.Err() != nil
		actx, cancel := ctx, context.CancelFunc(func() {})
		if draining {
			actx, cancel = context.WithTimeout(context.WithoutCancel(ctx), o.Drain)
		}
		err := attempt(actx)
		cancel()
		switch {
		case err == nil:
			return nil
		case draining:
			return &ErrShutdown{Err: err}
		case ctx.Err() != nil:
			// Shutdown cut this attempt short (or came while it failed):
			// the next turn is the bounded last attempt.
			continue
		}
		wait := jitter(backoff)
		o.Logger.Warn(o.What+" failed; retrying", "attempt", n, "retry_in", wait, "err", err)
		if !sleep(ctx, wait) {
			// Shutdown while waiting: the next turn is the last attempt.
			continue
		}
		backoff = min(backoff*2, o.Max)
	}
}

// jitter returns a wait between d/2 and d, so clients that failed together
// do not retry together.
func jitter(d time.Duration) time.Duration { return d/2 + rand.N(d/2+1) }

// sleep waits d; false when ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
