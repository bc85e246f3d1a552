package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	comatproto "github.com/bluesky-social/indigo/api/atproto"
	"github.com/gorilla/websocket"

	"github.com/downsignal/downsignal/record"
)

// DefaultRelayURL is Bluesky's public relay.
const DefaultRelayURL = "wss://bsky.network"

// subscribeReposPath is the XRPC endpoint of the relay firehose.
const subscribeReposPath = "/xrpc/com.atproto.sync.subscribeRepos"

// CommitVerifier checks a #commit's signature and MST proof. A commit that
// fails is counted, logged and skipped.
type CommitVerifier interface {
	VerifyCommit(ctx context.Context, c *comatproto.SyncSubscribeRepos_Commit) error
}

// FirehoseOptions configures the relay firehose source.
type FirehoseOptions struct {
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

// Firehose follows a relay's com.atproto.sync.subscribeRepos stream and
// emits the posts, post deletes and account changes in it.
//
// Cursors are relay sequence numbers. The relay resends the events after a
// cursor, so the last event of a frame carries the frame's seq and the
// others seq-1: a restart after any of them re-reads the whole frame
// (duplicates, never a gap).
type Firehose struct {
	o    FirehoseOptions
	url  *url.URL
	name string
	log  *slog.Logger
	warn *limitedLog // bad input warnings
	gate *resyncGate
}

// NewFirehose validates the options.
func NewFirehose(o FirehoseOptions) (*Firehose, error) {
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
	if o.StallTimeout <= 0 {
		o.StallTimeout = time.Minute
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 2 * time.Minute
	}
	if o.MaxBackoff < o.MinBackoff {
		return nil, fmt.Errorf("firehose: max backoff %s below min backoff %s", o.MaxBackoff, o.MinBackoff)
	}
	if o.MaxFrameBytes <= 0 {
		o.MaxFrameBytes = MaxFrameBytes
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	// Relay sequence numbers mean nothing to another relay: the cursor is
	// kept per relay host.
	return &Firehose{o: o, url: u, name: "firehose:" + u.Host, log: o.Logger, warn: newLimitedLog(o.Logger, 10), gate: newResyncGate(o.ResyncLimits)}, nil
}

// Name implements Source: "firehose:<relay host>".
func (f *Firehose) Name() string { return f.name }

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

// Run implements Source. It reconnects with jittered exponential backoff
// until ctx ends, resuming after the last frame it emitted.
func (f *Firehose) Run(ctx context.Context, cursor int64, emit Emit) error {
	bo := newBackoff(f.o.MinBackoff, f.o.MaxBackoff)
	for attempt := 1; ; attempt++ {
		s := &firehoseSession{f: f, cursor: cursor}
		err := s.run(ctx, emit)
		cursor = s.cursor
		if ctx.Err() != nil {
			return ctx.Err()
		}
		reason := "read"
		var rerr *relayError
		switch {
		case errors.Is(err, errFutureCursor), errors.Is(err, errOutdatedCursor):
			// The relay refuses our cursor: it is another relay, or it lost
			// its history. Waiting cannot help; follow it live from now on.
			gap := "future_cursor"
			if errors.Is(err, errOutdatedCursor) {
				gap = "outdated_cursor"
			}
			f.o.Metrics.gap(sourceFirehose, gap)
			f.log.Error("relay refuses our cursor; resuming live, events in between are lost",
				"relay", f.url.Host, "cursor", cursor, "err", err)
			cursor = 0
			reason = "error_frame"
		case errors.As(err, &rerr):
			reason = "error_frame"
		case isTimeout(err):
			reason = "stall"
		case s.frames == 0 && !s.connected:
			reason = "dial"
		}
		f.o.Metrics.reconnect(sourceFirehose, reason)
		if s.frames > 0 {
			bo.reset() // the session worked; this is a fresh failure
			attempt = 1
		}
		wait := bo.next()
		f.log.Warn("relay connection ended; reconnecting", "relay", f.url.Host, "reason", reason,
			"frames", s.frames, "cursor", cursor, "attempt", attempt, "retry_in", wait.Round(time.Millisecond), "err", err)
		if err := sleep(ctx, wait); err != nil {
			return err
		}
	}
}

const sourceFirehose = "firehose"

// firehoseSession is one connection to the relay.
type firehoseSession struct {
	f         *Firehose
	cursor    int64 // seq of the last frame emitted
	frames    int64
	connected bool
	dec       FrameDecoder
}

func (s *firehoseSession) run(ctx context.Context, emit Emit) error {
	f := s.f
	u := *f.url
	q := u.Query()
	if s.cursor > 0 {
		q.Set("cursor", strconv.FormatInt(s.cursor, 10))
	}
	u.RawQuery = q.Encode()

	dialer := websocket.Dialer{HandshakeTimeout: 15 * time.Second, ReadBufferSize: 64 << 10}
	hdr := http.Header{"User-Agent": []string{"downsignal"}}
	conn, resp, err := dialer.DialContext(ctx, u.String(), hdr)
	if err != nil {
		if resp != nil {
			return fmt.Errorf("dial %s: %w (http %d)", f.url.Host, err, resp.StatusCode)
		}
		return fmt.Errorf("dial %s: %w", f.url.Host, err)
	}
	defer conn.Close()
	s.connected = true
	f.log.Info("relay connected", "relay", f.url.Host, "cursor", s.cursor)
	// Closing the connection is the only way to interrupt a blocked read.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	var buf bytes.Buffer
	for {
		mt, b, err := readMessage(conn, &buf, f.o.MaxFrameBytes, f.o.StallTimeout)
		switch {
		case errors.Is(err, errOversize):
			f.o.Metrics.event(sourceFirehose, FrameUnknown)
			f.o.Metrics.decodeError(sourceFirehose, "oversize")
			f.warn.Warn("skip relay frame", "after_seq", s.cursor, "err", err)
			continue
		case isTimeout(err):
			return fmt.Errorf("no frame for %s: %w", f.o.StallTimeout, err)
		case err != nil:
			return fmt.Errorf("read: %w", err)
		}
		s.frames++
		if mt != websocket.BinaryMessage {
			f.o.Metrics.event(sourceFirehose, FrameUnknown)
			f.o.Metrics.decodeError(sourceFirehose, "frame")
			f.warn.Warn("skip relay frame", "after_seq", s.cursor, "err", "text message on a binary stream", "bytes", len(b))
			continue
		}
		if err := s.handle(ctx, b, emit); err != nil {
			return err
		}
	}
}

// handle decodes one frame and emits what it carries.
func (s *firehoseSession) handle(ctx context.Context, b []byte, emit Emit) error {
	f := s.f
	m := f.o.Metrics
	fr, err := s.dec.Decode(b, sourceFirehose)
	m.event(sourceFirehose, fr.Type)
	if err != nil {
		m.decodeError(sourceFirehose, "frame")
		f.warn.Warn("skip relay frame", "type", fr.Type, "seq", fr.Seq, "after_seq", s.cursor, "bytes", len(b), "err", err)
		fr.Events = nil
	}
	for _, oe := range fr.OpErrors {
		m.decodeError(sourceFirehose, "record")
		f.warn.Warn("skip relay op", "seq", fr.Seq, "err", oe)
	}

	switch fr.Type {
	case FrameError:
		m.relayError(sourceFirehose, fr.Name)
		switch fr.Name {
		case relayFutureCursor:
			return errFutureCursor
		case relayOutdatedCursor:
			// Normally an #info; as an error the relay refuses our cursor
			// outright, and asking again with it would loop.
			return errOutdatedCursor
		case relayConsumerTooSlow:
			f.log.Error("relay dropped us for reading too slowly; reconnecting from our cursor",
				"relay", f.url.Host, "cursor", s.cursor, "msg", fr.Message)
		}
		return &relayError{name: fr.Name, msg: fr.Message}
	case FrameInfo:
		if fr.Name == relayOutdatedCursor {
			// The relay no longer holds the events after our cursor and
			// starts from its oldest one: those events are lost to us.
			m.relayError(sourceFirehose, fr.Name)
			m.gap(sourceFirehose, "outdated_cursor")
			f.log.Error("relay cursor outdated: events between our cursor and the relay's oldest are lost",
				"relay", f.url.Host, "cursor", s.cursor, "msg", fr.Message)
		} else {
			f.log.Info("relay info", "name", fr.Name, "msg", fr.Message)
		}
		return nil
	case FrameUnknown:
		if err == nil {
			f.log.Debug("skip unknown relay frame type", "type", fr.Name)
		}
	}
	if fr.Seq <= 0 {
		return nil
	}

	if fr.Type == FrameCommit && f.o.Verifier != nil && len(fr.Events) > 0 {
		if err := f.o.Verifier.VerifyCommit(ctx, fr.Commit); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			m.verifyFailure(sourceFirehose)
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

	var lastTime time.Time
	for i := range fr.Events {
		ev := &fr.Events[i]
		it := Item{Event: ev, Cursor: fr.Seq - 1}
		if i == len(fr.Events)-1 {
			it.Cursor = fr.Seq
		}
		m.record(sourceFirehose, ev.Kind)
		lastTime = ev.Time
		if err := emit(ctx, it); err != nil {
			return err
		}
	}
	if len(fr.Events) == 0 {
		if err := emit(ctx, Item{Cursor: fr.Seq}); err != nil {
			return err
		}
	}
	if fr.Commit != nil {
		lastTime = relayTime(fr.Commit.Time, lastTime)
	}
	m.lag(sourceFirehose, lastTime)
	s.cursor = max(s.cursor, fr.Seq)
	return nil
}

// resync answers a #sync: it fetches the account's repository and returns
// its posts and a reset event, in that order. A failed or refused fetch is
// counted, logged and skipped; only the end of ctx is an error. The events
// carry the #sync's position, so a crash before Kafka has them fetches the
// repository again after the restart.
func (f *Firehose) resync(ctx context.Context, e *comatproto.SyncSubscribeRepos_Sync) ([]record.Event, error) {
	m := f.o.Metrics
	now := time.Now()
	if !f.gate.allow(e.Did, now) {
		m.resync(sourceFirehose, "skipped")
		f.warn.Warn("relay #sync not answered: repository fetched recently or fetch rate reached", "did", e.Did, "seq", e.Seq)
		return nil, nil
	}
	fctx, cancel := context.WithTimeout(ctx, f.gate.o.Timeout)
	recs, err := f.o.Resync.RepoPosts(fctx, e.Did)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		m.resync(sourceFirehose, "failed")
		f.gate.failed(e.Did)
		f.warn.Warn("relay #sync not answered: repository fetch failed", "did", e.Did, "seq", e.Seq, "err", record.Bounded(err.Error()))
		return nil, nil
	}
	evs, errs := resetEvents(e.Did, relayTime(e.Time, now.UTC()), recs, sourceFirehose)
	for _, err := range errs {
		m.decodeError(sourceFirehose, "record")
		f.warn.Warn("skip repository record", "seq", e.Seq, "err", record.Bounded(err.Error()))
	}
	if len(evs) == 0 {
		m.resync(sourceFirehose, "failed")
		return nil, nil
	}
	m.resync(sourceFirehose, "done")
	f.log.Info("relay #sync answered: repository fetched", "did", e.Did, "seq", e.Seq, "posts", len(evs)-1, "records", len(recs))
	return evs, nil
}
