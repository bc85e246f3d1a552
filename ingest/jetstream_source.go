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

	"github.com/gorilla/websocket"
	"github.com/klauspost/compress/zstd"

	"github.com/downsignal/downsignal/record"
)

// DefaultJetstreamURL is Bluesky's public Jetstream v1 endpoint.
const DefaultJetstreamURL = "wss://jetstream2.us-east.bsky.network/subscribe"

// DefaultJetstreamURLs are Bluesky's public Jetstream v1 instances, in the
// order a source fails over between them.
var DefaultJetstreamURLs = []string{
	"wss://jetstream2.us-east.bsky.network/subscribe",
	"wss://jetstream1.us-east.bsky.network/subscribe",
	"wss://jetstream1.us-west.bsky.network/subscribe",
	"wss://jetstream2.us-west.bsky.network/subscribe",
}

// JetstreamDictID is the ID of the zstd dictionary Jetstream v1 compresses
// with when a client asks for compress=true.
const JetstreamDictID = 1612007021

// maxJetstreamBytes bounds one Jetstream message, compressed or not.
// Jetstream messages are a few KB; larger ones are skipped.
const maxJetstreamBytes = 1 << 20

// JetstreamOptions configures the live Jetstream source.
type JetstreamOptions struct {
	// URLs are Jetstream v1 subscribe endpoints. The source uses the first
	// and moves to the next when a connection fails. Default
	// DefaultJetstreamURLs.
	URLs []string
	// URL is one more endpoint, put first (kept for older callers).
	URL string
	// Collections are the wantedCollections. Default app.bsky.feed.post.
	// Account and identity events come whatever the filter.
	Collections []string
	// ZstdDict is the Jetstream zstd dictionary. When set, the source asks
	// for compress=true and decompresses with it (about a fifth of the
	// bandwidth).
	ZstdDict []byte
	// Rewind is subtracted from the cursor on (re)connect: Jetstream
	// delivers at least once, instances stamp time_us each with their own
	// clock, and a few seconds of overlap closes any gap. Default 5s.
	Rewind time.Duration
	// StallTimeout reconnects when no message arrives for this long.
	// Default 1m.
	StallTimeout time.Duration
	// MinBackoff and MaxBackoff bound the jittered reconnect delay.
	// Defaults 1s and 2m.
	MinBackoff, MaxBackoff time.Duration
	Logger                 *slog.Logger
	Metrics                *Metrics
}

// Jetstream follows Jetstream v1 endpoints for app.bsky.feed.post events
// (account events bypass the collection filter and come too). Its cursor
// is Jetstream's time_us.
type Jetstream struct {
	o    JetstreamOptions
	urls []*url.URL
	zstd *zstd.Decoder
	log  *slog.Logger
	warn *limitedLog // bad input warnings
}

// NewJetstream validates the options.
func NewJetstream(o JetstreamOptions) (*Jetstream, error) {
	raw := o.URLs
	if o.URL != "" {
		raw = append([]string{o.URL}, raw...)
	}
	if len(raw) == 0 {
		raw = DefaultJetstreamURLs
	}
	j := &Jetstream{}
	seen := map[string]bool{}
	for _, s := range raw {
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
			return nil, fmt.Errorf("jetstream: url %q must be ws:// or wss://", s)
		}
		if !seen[u.String()] {
			seen[u.String()] = true
			j.urls = append(j.urls, u)
		}
	}
	if len(o.Collections) == 0 {
		o.Collections = []string{record.PostCollection}
	}
	if len(o.Collections) > 100 {
		return nil, fmt.Errorf("jetstream: %d collections, Jetstream takes at most 100", len(o.Collections))
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
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 2 * time.Minute
	}
	if o.MaxBackoff < o.MinBackoff {
		return nil, fmt.Errorf("jetstream: max backoff %s below min backoff %s", o.MaxBackoff, o.MinBackoff)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if len(o.ZstdDict) > 0 {
		d, err := zstd.NewReader(nil,
			zstd.WithDecoderDicts(o.ZstdDict),
			zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderMaxMemory(maxJetstreamBytes))
		if err != nil {
			return nil, fmt.Errorf("jetstream: zstd dictionary: %w", err)
		}
		j.zstd = d
	}
	j.o, j.log = o, o.Logger
	j.warn = newLimitedLog(o.Logger, 10)
	return j, nil
}

// Name implements Source. Every Jetstream instance stamps time_us with the
// wall clock, so one cursor serves all of them.
func (j *Jetstream) Name() string { return "jetstream" }

const sourceJetstream = "jetstream"

// Run implements Source. It reconnects until ctx ends, moving to the next
// endpoint after each failed connection and backing off (jittered,
// exponential) once every endpoint failed in a row.
func (j *Jetstream) Run(ctx context.Context, cursor int64, emit Emit) error {
	bo := newBackoff(j.o.MinBackoff, j.o.MaxBackoff)
	idx, failures := 0, 0
	for attempt := 1; ; attempt++ {
		u := j.urls[idx]
		s := &jetSession{j: j, u: u, cursor: cursor}
		err := s.run(ctx, emit)
		cursor = s.cursor
		if ctx.Err() != nil {
			return ctx.Err()
		}
		reason := "read"
		switch {
		case isTimeout(err):
			reason = "stall"
		case !s.connected:
			reason = "dial"
		}
		j.o.Metrics.reconnect(sourceJetstream, reason)
		if s.messages > 0 {
			bo.reset()
			failures, attempt = 0, 1
		}
		failures++
		idx = (idx + 1) % len(j.urls)
		var wait time.Duration
		if failures >= len(j.urls) {
			// Every endpoint failed in a row: back off before the next round.
			wait = bo.next()
		}
		j.log.Error("jetstream connection failed; retrying", "url", u.Host, "next", j.urls[idx].Host, "reason", reason,
			"attempt", attempt, "retry_in", wait.Round(time.Millisecond), "err", err)
		if err := sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// jetSession is one connection to one Jetstream instance.
type jetSession struct {
	j         *Jetstream
	u         *url.URL
	cursor    int64
	messages  int64
	connected bool
	plain     []byte
}

func (s *jetSession) subscribeURL() string {
	j := s.j
	u := *s.u
	q := u.Query()
	q.Del("wantedCollections")
	for _, c := range j.o.Collections {
		q.Add("wantedCollections", c)
	}
	if j.zstd != nil {
		q.Set("compress", "true")
	} else {
		q.Del("compress")
	}
	if s.cursor > 0 {
		q.Set("cursor", strconv.FormatInt(max(1, s.cursor-j.o.Rewind.Microseconds()), 10))
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func (s *jetSession) run(ctx context.Context, emit Emit) error {
	j := s.j
	dialer := websocket.Dialer{HandshakeTimeout: 15 * time.Second}
	hdr := http.Header{"User-Agent": []string{"downsignal"}}
	conn, resp, err := dialer.DialContext(ctx, s.subscribeURL(), hdr)
	if err != nil {
		if resp != nil {
			return fmt.Errorf("dial: %w (http %d)", err, resp.StatusCode)
		}
		return fmt.Errorf("dial: %w", err)
	}
	defer conn.Close()
	s.connected = true
	j.log.Info("jetstream connected", "url", s.u.Host, "cursor", s.cursor, "compress", j.zstd != nil)
	// Closing the connection is the only way to interrupt a blocked read.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	var buf bytes.Buffer
	for {
		mt, b, err := readMessage(conn, &buf, maxJetstreamBytes, j.o.StallTimeout)
		switch {
		case errors.Is(err, errOversize):
			j.o.Metrics.event(sourceJetstream, FrameUnknown)
			j.o.Metrics.decodeError(sourceJetstream, "oversize")
			j.warn.Warn("skip jetstream message", "after_cursor", s.cursor, "err", err)
			continue
		case isTimeout(err):
			return fmt.Errorf("no message for %s: %w", j.o.StallTimeout, err)
		case err != nil:
			return fmt.Errorf("read: %w", err)
		}
		s.messages++
		if j.zstd != nil && mt == websocket.BinaryMessage {
			// Compressed messages are binary; a text message is plain JSON.
			if s.plain, err = j.zstd.DecodeAll(b, s.plain[:0]); err != nil {
				j.o.Metrics.event(sourceJetstream, FrameUnknown)
				j.o.Metrics.decodeError(sourceJetstream, "zstd")
				j.warn.Warn("skip jetstream message", "after_cursor", s.cursor, "bytes", len(b), "err", err)
				continue
			}
			b = s.plain
		}
		if err := s.handle(ctx, b, emit); err != nil {
			return err
		}
	}
}

func (s *jetSession) handle(ctx context.Context, b []byte, emit Emit) error {
	m := s.j.o.Metrics
	ev, timeUS, kind, err := decodeJetstream(b, sourceJetstream)
	m.event(sourceJetstream, kind)
	it := Item{Cursor: timeUS}
	switch {
	case err == nil:
		it.Event = &ev
		m.record(sourceJetstream, ev.Kind)
		m.lag(sourceJetstream, ev.Time)
	case errors.Is(err, ErrIgnored):
	default:
		m.decodeError(sourceJetstream, "json")
		s.j.warn.Warn("skip jetstream message", "after_cursor", s.cursor, "bytes", len(b), "err", err)
	}
	if timeUS <= 0 {
		if it.Event == nil {
			return nil
		}
		it.Cursor = s.cursor // no position of its own: do not move the cursor
	}
	if err := emit(ctx, it); err != nil {
		return err
	}
	s.cursor = max(s.cursor, timeUS)
	return nil
}
