package jetstream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/downsignal/downsignal/ingest"
	"github.com/downsignal/downsignal/ingest/wsconn"
	"github.com/downsignal/downsignal/record"
)

// DefaultURLs are Bluesky's public Jetstream v1 instances, in the order a
// source fails over between them.
var DefaultURLs = []string{
	"wss://jetstream2.us-east.bsky.network/subscribe",
	"wss://jetstream1.us-east.bsky.network/subscribe",
	"wss://jetstream1.us-west.bsky.network/subscribe",
	"wss://jetstream2.us-west.bsky.network/subscribe",
}

// DictID is the ID of the zstd dictionary Jetstream v1 compresses with when
// a client asks for compress=true.
const DictID = 1612007021

// maxMessageBytes bounds one Jetstream message, compressed or not.
// Jetstream messages are a few KB; larger ones are skipped.
const maxMessageBytes = 1 << 20

// Options configures the live Jetstream source.
type Options struct {
	// URLs are Jetstream v1 subscribe endpoints. The source uses the first
	// and moves to the next when a connection fails. Default DefaultURLs.
	URLs []string
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
	Metrics                *ingest.Metrics
}

// Source follows Jetstream v1 endpoints for app.bsky.feed.post events
// (account events bypass the collection filter and come too). Its cursor
// is Jetstream's time_us.
type Source struct {
	o    Options
	conn *wsconn.Client
	zstd *zstd.Decoder
	log  *slog.Logger
	warn *ingest.LimitedLog // bad input warnings
}

// New validates the options.
func New(o Options) (*Source, error) {
	raw := o.URLs
	if len(raw) == 0 {
		raw = DefaultURLs
	}
	var urls []*url.URL
	seen := map[string]bool{}
	for _, s := range raw {
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
			return nil, fmt.Errorf("jetstream: url %q must be ws:// or wss://", s)
		}
		if !seen[u.String()] {
			seen[u.String()] = true
			urls = append(urls, u)
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
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	j := &Source{o: o, log: o.Logger, warn: ingest.NewLimitedLog(o.Logger, 10)}
	conn, err := wsconn.New(wsconn.Options{
		Source:          sourceLabel,
		URLs:            urls,
		StallTimeout:    o.StallTimeout,
		MinBackoff:      o.MinBackoff,
		MaxBackoff:      o.MaxBackoff,
		MaxMessageBytes: maxMessageBytes,
		Metrics:         o.Metrics,
	})
	if err != nil {
		return nil, err
	}
	j.conn = conn
	if len(o.ZstdDict) > 0 {
		d, err := zstd.NewReader(nil,
			zstd.WithDecoderDicts(o.ZstdDict),
			zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderMaxMemory(maxMessageBytes))
		if err != nil {
			return nil, fmt.Errorf("jetstream: zstd dictionary: %w", err)
		}
		j.zstd = d
	}
	return j, nil
}

// Name implements ingest.Source. Every Jetstream instance stamps time_us
// with the wall clock, so one cursor serves all of them.
func (j *Source) Name() string { return "jetstream" }

// sourceLabel is the source's name in metrics and events.
const sourceLabel = "jetstream"

// Run implements ingest.Source. It reconnects until ctx ends, moving to
// the next endpoint after each failed connection and backing off
// (jittered, exponential) once every endpoint failed in a row.
func (j *Source) Run(ctx context.Context, cursor int64, emit ingest.Emit) error {
	return j.conn.Run(ctx, &reader{j: j, cursor: cursor, emit: emit})
}

// reader is what one Run adds to the WebSocket connections: the cursor
// and the messages' decoding.
type reader struct {
	j      *Source
	cursor int64
	emit   ingest.Emit
	plain  []byte // decompression buffer
}

// URL implements wsconn.Handler: the subscribe query, resuming Rewind
// before the cursor.
func (r *reader) URL(base *url.URL) string {
	j := r.j
	u := *base
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
	if r.cursor > 0 {
		q.Set("cursor", strconv.FormatInt(max(1, r.cursor-j.o.Rewind.Microseconds()), 10))
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// Connected implements wsconn.Handler.
func (r *reader) Connected(u *url.URL) {
	r.j.log.Info("jetstream connected", "url", u.Host, "cursor", r.cursor, "compress", r.j.zstd != nil)
}

// Oversize implements wsconn.Handler.
func (r *reader) Oversize(err error) {
	r.j.warn.Warn("skip jetstream message", "after_cursor", r.cursor, "err", err)
}

// Ended implements wsconn.Handler. Jetstream has no reasons of its own.
func (r *reader) Ended(e wsconn.Ended) string {
	r.j.log.Error("jetstream connection failed; retrying", "url", e.URL.Host, "next", e.Next.Host, "reason", e.Reason,
		"attempt", e.Attempt, "retry_in", e.Wait.Round(time.Millisecond), "err", e.Err)
	return e.Reason
}

// Message implements wsconn.Handler.
func (r *reader) Message(ctx context.Context, b []byte, binary bool) error {
	j := r.j
	if j.zstd != nil && binary {
		// Compressed messages are binary; a text message is plain JSON.
		var err error
		if r.plain, err = j.zstd.DecodeAll(b, r.plain[:0]); err != nil {
			j.o.Metrics.Event(sourceLabel, kindUnknown)
			j.o.Metrics.DecodeError(sourceLabel, "zstd")
			j.warn.Warn("skip jetstream message", "after_cursor", r.cursor, "bytes", len(b), "err", err)
			return nil
		}
		b = r.plain
	}
	m := j.o.Metrics
	ev, timeUS, kind, err := DecodeKind(b, sourceLabel)
	m.Event(sourceLabel, kind)
	it := ingest.Item{Cursor: timeUS}
	switch {
	case err == nil:
		it.Event = &ev
		m.Record(sourceLabel, ev.Kind)
		m.Lag(sourceLabel, ev.Time)
	case errors.Is(err, ErrIgnored):
	default:
		m.DecodeError(sourceLabel, "json")
		j.warn.Warn("skip jetstream message", "after_cursor", r.cursor, "bytes", len(b), "err", err)
	}
	if timeUS <= 0 {
		if it.Event == nil {
			return nil
		}
		it.Cursor = r.cursor // no position of its own: do not move the cursor
	}
	if err := r.emit(ctx, it); err != nil {
		return err
	}
	r.cursor = max(r.cursor, timeUS)
	return nil
}
