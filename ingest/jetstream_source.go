package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"strconv"
	"time"

	"github.com/gorilla/websocket"
)

// DefaultJetstreamURL is Bluesky's public Jetstream v1 endpoint.
const DefaultJetstreamURL = "wss://jetstream2.us-east.bsky.network/subscribe"

// JetstreamOptions configures the live Jetstream source.
type JetstreamOptions struct {
	URL string
	// Rewind is subtracted from the saved cursor on (re)connect: Jetstream
	// delivers at least once and a few seconds of overlap closes any gap.
	Rewind time.Duration
	// StallTimeout reconnects when no message arrives for this long.
	StallTimeout time.Duration
	// MinBackoff and MaxBackoff bound the jittered reconnect delay.
	MinBackoff, MaxBackoff time.Duration
	Logger                 *slog.Logger
	Metrics                *Metrics
}

// Jetstream follows a Jetstream v1 endpoint for app.bsky.feed.post events
// (account events bypass the collection filter and come too).
type Jetstream struct {
	o   JetstreamOptions
	log *slog.Logger
}

// NewJetstream validates the options.
func NewJetstream(o JetstreamOptions) (*Jetstream, error) {
	if o.URL == "" {
		o.URL = DefaultJetstreamURL
	}
	u, err := url.Parse(o.URL)
	if err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
		return nil, fmt.Errorf("jetstream: url %q must be ws:// or wss://", o.URL)
	}
	if o.Rewind <= 0 {
		o.Rewind = 5 * time.Second
	}
	if o.StallTimeout <= 0 {
		o.StallTimeout = time.Minute
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = time.Second
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = 2 * time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Jetstream{o: o, log: o.Logger}, nil
}

// Name implements Source.
func (j *Jetstream) Name() string { return "jetstream" }

// Run implements Source. It reconnects forever with jittered exponential
// backoff, logging one line per failed attempt, until ctx ends.
func (j *Jetstream) Run(ctx context.Context, cursor int64, emit Emit) error {
	backoff := j.o.MinBackoff
	for attempt := 1; ; attempt++ {
		start := time.Now()
		last, err := j.session(ctx, cursor, emit)
		if last > cursor {
			cursor = last
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		j.o.Metrics.reconnect("jetstream")
		if time.Since(start) > 30*time.Second {
			backoff, attempt = j.o.MinBackoff, 1 // the session was healthy; start over
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		j.log.Error("jetstream connection failed; retrying", "url", j.o.URL, "attempt", attempt, "retry_in", wait.Round(time.Millisecond), "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		backoff = min(backoff*2, j.o.MaxBackoff)
	}
}

// session runs one connection and returns the last cursor it emitted.
func (j *Jetstream) session(ctx context.Context, cursor int64, emit Emit) (int64, error) {
	u, _ := url.Parse(j.o.URL)
	q := u.Query()
	q.Set("wantedCollections", PostCollection)
	if cursor > 0 {
		q.Set("cursor", strconv.FormatInt(cursor-j.o.Rewind.Microseconds(), 10))
	}
	u.RawQuery = q.Encode()

	dialer := websocket.Dialer{HandshakeTimeout: 15 * time.Second}
	conn, resp, err := dialer.DialContext(ctx, u.String(), nil)
	if err != nil {
		if resp != nil {
			return cursor, fmt.Errorf("dial: %w (http %d)", err, resp.StatusCode)
		}
		return cursor, fmt.Errorf("dial: %w", err)
	}
	defer conn.Close()
	conn.SetReadLimit(maxLineBytes)
	j.log.Info("jetstream connected", "url", j.o.URL, "cursor", cursor)

	// Closing the connection is the only way to interrupt ReadMessage.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	for {
		if err := conn.SetReadDeadline(time.Now().Add(j.o.StallTimeout)); err != nil {
			return cursor, err
		}
		_, b, err := conn.ReadMessage()
		if err != nil {
			var ne interface{ Timeout() bool }
			if errors.As(err, &ne) && ne.Timeout() {
				return cursor, fmt.Errorf("no message for %s: %w", j.o.StallTimeout, err)
			}
			return cursor, fmt.Errorf("read: %w", err)
		}
		ev, timeUS, err := DecodeJetstream(b, "jetstream")
		it := Item{Cursor: timeUS}
		switch {
		case err == nil:
			it.Event = &ev
			j.o.Metrics.event("jetstream", string(ev.Kind))
			j.o.Metrics.lag("jetstream", ev.Time)
		case errors.Is(err, ErrIgnored):
			j.o.Metrics.event("jetstream", "ignored")
		default:
			j.o.Metrics.decodeError("jetstream")
			j.log.Warn("skip jetstream message", "bytes", len(b), "err", err)
			if timeUS == 0 {
				continue
			}
		}
		if err := emit(ctx, it); err != nil {
			return cursor, err
		}
		if timeUS > cursor {
			cursor = timeUS
		}
	}
}
