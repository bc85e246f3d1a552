package firehose

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"time"

	comatproto "github.com/bluesky-social/indigo/api/atproto"

	"github.com/downsignal/downsignal/ingest"
	"github.com/downsignal/downsignal/ingest/wsconn"
	"github.com/downsignal/downsignal/record"
)

// DefaultRelayURL is Bluesky's public relay.
const DefaultRelayURL = "wss://bsky.network"

// subscribeReposPath is the XRPC endpoint of the relay firehose.
const subscribeReposPath = "/xrpc/com.atproto.sync.subscribeRepos"

// CommitVerifier checks a #commit's signature and MST proof. A commit that
// fails is counted, logged and skipped. Package firehose/verify is the real
// one.
type CommitVerifier interface {
	VerifyCommit(ctx context.Context, c *comatproto.SyncSubscribeRepos_Commit) error
}

// Options configures the relay firehose source.
type Options struct {
	// URL is the relay: wss://host, or the full subscribeRepos URL.
	// Default DefaultRelayURL.
	URL string
	// StallTimeout reconnects when no frame arrives for this long (the
	// relay sends several per second). Default 60s.
	StallTimeout time.Duration
	// MinBackoff and MaxBackoff bound the jittered reconnect delay.
	// Defaults 1s and 2m.
	MinBackoff, MaxBackoff time.Duration
	// MaxFrameBytes skips larger frames. Default MaxFrameBytes.
	MaxFrameBytes int
	// Verifier, when set, checks every commit before its posts are used.
	Verifier CommitVerifier
	// Resync, when set, answers a #sync by fetching the account's
	// repository: its posts are emitted again and a reset event removes the
	// ones it no longer holds. Without it a #sync is counted and skipped.
	Resync RepoFetcher
	// ResyncLimits bounds those fetches.
	ResyncLimits ResyncOptions
	Logger       *slog.Logger
	Metrics      *Metrics
}

// Source follows a relay's com.atproto.sync.subscribeRepos stream and
// emits the posts, post deletes and account changes in it.
//
// Cursors are relay sequence numbers. The relay resends the events after a
// cursor, so the last event of a frame carries the frame's seq and the
// others seq-1: a restart after any of them re-reads the whole frame
// (duplicates, never a gap).
type Source struct {
	o    Options
	url  *url.URL
	name string
	conn *wsconn.Client
	log  *slog.Logger
	m    *ingest.Metrics    // shared with the other sources
	warn *ingest.LimitedLog // bad input warnings
	gate *resyncGate
}

// New validates the options.
func New(o Options) (*Source, error) {
	if o.URL == "" {
		o.URL = DefaultRelayURL
	}
	u, err := url.Parse(o.URL)
	if err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
		return nil, fmt.Errorf("firehose: relay url %q must be ws:// or wss://", o.URL)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = subscribeReposPath
	}
	if o.MaxFrameBytes <= 0 {
		o.MaxFrameBytes = MaxFrameBytes
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	// Relay sequence numbers mean nothing to another relay: the cursor is
	// kept per relay host.
	f := &Source{o: o, url: u, name: "firehose:" + u.Host, log: o.Logger, m: o.Metrics.shared(),
		warn: ingest.NewLimitedLog(o.Logger, 10), gate: newResyncGate(o.ResyncLimits)}
	f.conn, err = wsconn.New(wsconn.Options{
		Source:          sourceLabel,
		URLs:            []*url.URL{u},
		StallTimeout:    o.StallTimeout,
		MinBackoff:      o.MinBackoff,
		MaxBackoff:      o.MaxBackoff,
		MaxMessageBytes: o.MaxFrameBytes,
		ReadBufferSize:  64 << 10,
		Metrics:         f.m,
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}

// Name implements ingest.Source: "firehose:<relay host>".
func (f *Source) Name() string { return f.name }

// sourceLabel is the source's name in metrics and events.
const sourceLabel = "firehose"

// Errors that end a session whose cursor the relay refuses.
var (
	errFutureCursor   = errors.New("relay: cursor is in the future")
	errOutdatedCursor = errors.New("relay: cursor is older than its history")
)

// relayError is an error frame from the relay; the relay closes the
// connection after it.
type relayError struct{ name, msg string }

func (e *relayError) Error() string {
	return fmt.Sprintf("relay error %s: %s", e.name, e.msg)
}

// Run implements ingest.Source. It reconnects with jittered exponential
// backoff until ctx ends, resuming after the last frame it emitted.
func (f *Source) Run(ctx context.Context, cursor int64, emit ingest.Emit) error {
	return f.conn.Run(ctx, &reader{f: f, cursor: cursor, emit: emit})
}

// reader is what one Run adds to the WebSocket connections: the cursor,
// the frame decoder and what the relay's error frames mean.
type reader struct {
	f      *Source
	cursor int64 // seq of the last frame emitted
	emit   ingest.Emit
	dec    FrameDecoder
}

// URL implements wsconn.Handler: the relay's URL with the cursor.
func (r *reader) URL(base *url.URL) string {
	u := *base
	q := u.Query()
	if r.cursor > 0 {
		q.Set("cursor", strconv.FormatInt(r.cursor, 10))
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// Connected implements wsconn.Handler.
func (r *reader) Connected(*url.URL) {
	r.f.log.Info("relay connected", "relay", r.f.url.Host, "cursor", r.cursor)
}

// Oversize implements wsconn.Handler.
func (r *reader) Oversize(err error) {
	r.f.warn.Warn("skip relay frame", "after_seq", r.cursor, "err", err)
}

// Ended implements wsconn.Handler. A relay that refuses our cursor is
// another relay, or lost its history: waiting cannot help, so the next
// session follows it live.
func (r *reader) Ended(e wsconn.Ended) string {
	f := r.f
	reason := e.Reason
	var rerr *relayError
	switch {
	case errors.Is(e.Err, errFutureCursor), errors.Is(e.Err, errOutdatedCursor):
		gap := "future_cursor"
		if errors.Is(e.Err, errOutdatedCursor) {
			gap = "outdated_cursor"
		}
		f.o.Metrics.gap(sourceLabel, gap)
		f.log.Error("relay refuses our cursor; resuming live, events in between are lost",
			"relay", f.url.Host, "cursor", r.cursor, "err", e.Err)
		r.cursor = 0
		reason = "error_frame"
	case errors.As(e.Err, &rerr):
		reason = "error_frame"
	}
	f.log.Warn("relay connection ended; reconnecting", "relay", f.url.Host, "reason", reason,
		"frames", e.Messages, "cursor", r.cursor, "attempt", e.Attempt, "retry_in", e.Wait.Round(time.Millisecond), "err", e.Err)
	return reason
}

// Message implements wsconn.Handler: it decodes one frame and emits what
// it carries.
func (r *reader) Message(ctx context.Context, b []byte, binary bool) error {
	f := r.f
	m := f.m
	if !binary {
		m.Event(sourceLabel, FrameUnknown)
		m.DecodeError(sourceLabel, "frame")
		f.warn.Warn("skip relay frame", "after_seq", r.cursor, "err", "text message on a binary stream", "bytes", len(b))
		return nil
	}
	fr, err := r.dec.Decode(b, sourceLabel)
	m.Event(sourceLabel, fr.Type)
	if err != nil {
		m.DecodeError(sourceLabel, "frame")
		f.warn.Warn("skip relay frame", "type", fr.Type, "seq", fr.Seq, "after_seq", r.cursor, "bytes", len(b), "err", err)
		fr.Events = nil
	}
	for _, oe := range fr.OpErrors {
		m.DecodeError(sourceLabel, "record")
		f.warn.Warn("skip relay op", "seq", fr.Seq, "err", oe)
	}

	if fr.Type == FrameError || fr.Type == FrameInfo {
		return r.control(&fr)
	}
	if fr.Type == FrameUnknown && err == nil {
		f.log.Debug("skip unknown relay frame type", "type", fr.Name)
	}
	if fr.Seq <= 0 {
		return nil
	}

	if fr.Type == FrameCommit && f.o.Verifier != nil && len(fr.Events) > 0 {
		if err := f.o.Verifier.VerifyCommit(ctx, fr.Commit); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			f.o.Metrics.verifyFailure(sourceLabel)
			f.warn.Warn("skip commit that fails verification", "seq", fr.Seq, "did", record.Bounded(fr.Commit.Repo), "err", record.Bounded(err.Error()))
			fr.Events = nil
		}
	}

	if fr.Sync != nil && f.o.Resync != nil {
		evs, err := f.resync(ctx, fr.Sync)
		if err != nil {
			return err
		}
		fr.Events = evs
	}

	return r.emitFrame(ctx, &fr)
}

// control handles an #info or error frame. An error frame ends the session
// (the relay closes the connection after it); the ones about our cursor
// end it with an error that Ended turns into a live restart.
func (r *reader) control(fr *Frame) error {
	f := r.f
	if fr.Type == FrameError {
		f.o.Metrics.relayError(sourceLabel, fr.Name)
		switch fr.Name {
		case relayFutureCursor:
			return errFutureCursor
		case relayOutdatedCursor:
			// Normally an #info; as an error the relay refuses our cursor
			// outright, and asking again with it would loop.
			return errOutdatedCursor
		case relayConsumerTooSlow:
			f.log.Error("relay dropped us for reading too slowly; reconnecting from our cursor",
				"relay", f.url.Host, "cursor", r.cursor, "msg", fr.Message)
		}
		return &relayError{name: fr.Name, msg: fr.Message}
	}
	if fr.Name == relayOutdatedCursor {
		// The relay no longer holds the events after our cursor and
		// starts from its oldest one: those events are lost to us.
		f.o.Metrics.relayError(sourceLabel, fr.Name)
		f.o.Metrics.gap(sourceLabel, "outdated_cursor")
		f.log.Error("relay cursor outdated: events between our cursor and the relay's oldest are lost",
			"relay", f.url.Host, "cursor", r.cursor, "msg", fr.Message)
	} else {
		f.log.Info("relay info", "name", fr.Name, "msg", fr.Message)
	}
	return nil
}

// emitFrame emits a frame's events, or only its position when it has
// none, and moves the cursor past it.
func (r *reader) emitFrame(ctx context.Context, fr *Frame) error {
	m := r.f.m
	var lastTime time.Time
	for i := range fr.Events {
		ev := &fr.Events[i]
		it := ingest.Item{Event: ev, Cursor: fr.Seq - 1}
		if i == len(fr.Events)-1 {
			it.Cursor = fr.Seq
		}
		m.Record(sourceLabel, ev.Kind)
		lastTime = ev.Time
		if err := r.emit(ctx, it); err != nil {
			return err
		}
	}
	if len(fr.Events) == 0 {
		if err := r.emit(ctx, ingest.Item{Cursor: fr.Seq}); err != nil {
			return err
		}
	}
	if fr.Commit != nil {
		lastTime = relayTime(fr.Commit.Time, lastTime)
	}
	m.Lag(sourceLabel, lastTime)
	r.cursor = max(r.cursor, fr.Seq)
	return nil
}
