package wsconn

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

// Options configures a Client. The source that builds one states the
// defaults to its own users; these are the same.
type Options struct {
	// Source names the stream in metrics: "jetstream", "firehose".
	Source string
	// URLs are the endpoints, at least one. A session uses one; after it
	// ends the next is tried, and the client backs off only once every
	// endpoint failed in a row.
	URLs []*url.URL
	// StallTimeout ends a session when no message arrives for this long.
	// Default 1m.
	StallTimeout time.Duration
	// MinBackoff and MaxBackoff bound the jittered reconnect delay.
	// Defaults 1s and 2m.
	MinBackoff, MaxBackoff time.Duration
	// HealthyMaxBackoff caps the delay instead of MaxBackoff for
	// HealthyWindow after a session that read messages: a source that was
	// streaming is usually back within seconds, and is then rejoined
	// within this cap. Defaults 3s (at most MaxBackoff: with the dial, a
	// return is rejoined within 5s) and 10m.
	HealthyMaxBackoff, HealthyWindow time.Duration
	// MaxMessageBytes is the largest message handed to the Handler. A
	// larger one is drained, counted (decode_errors_total{reason=oversize})
	// and skipped; the connection survives it. Required.
	MaxMessageBytes int
	// ReadBufferSize is the WebSocket read buffer. Default gorilla's 4 KB.
	ReadBufferSize int
	// Metrics counts reconnects and oversize messages; *ingest.Metrics is
	// the real one. Default: count nothing.
	Metrics Metrics
}

// Metrics is what the Client counts, under the source's name: a message
// it skipped (events_total of kind "unknown", decode_errors_total with
// reason "oversize") and a session that ended (reconnects_total by reason).
type Metrics interface {
	Event(source, kind string)
	DecodeError(source, reason string)
	Reconnect(source, reason string)
}

// Observer is told when sessions begin and end, for a source's health
// (*ingest.Metrics implements it). Metrics that implement it are told.
type Observer interface {
	SessionStarted(source string)
	SessionEnded(source string, err error)
}

// kindUnknown is the events_total kind of a message that was not parsed
// (ingest.EventUnknown).
const kindUnknown = "unknown"

type noMetrics struct{}

func (noMetrics) Event(string, string)       {}
func (noMetrics) DecodeError(string, string) {}
func (noMetrics) Reconnect(string, string)   {}

// Handler is what a protocol adds to the connection. Run calls it from one
// goroutine, so it needs no locks of its own, and it lives across sessions:
// it keeps the cursor, and it does the logging, in the protocol's words.
type Handler interface {
	// URL is the address to dial on endpoint u: u with the protocol's
	// query, including where to resume.
	URL(u *url.URL) string
	// Connected is told that a session on u began.
	Connected(u *url.URL)
	// Message handles one message; binary tells a binary message from a
	// text one. b is reused after Message returns. An error ends the
	// session; emit's error (ctx ended) is the usual one.
	Message(ctx context.Context, b []byte, binary bool) error
	// Oversize is told of a message over MaxMessageBytes, which the
	// Client drained and counted; the session goes on.
	Oversize(err error)
	// Ended is told how a session ended while ctx was live and what the
	// Client does next. It returns the reason to count in reconnects_total:
	// e.Reason, or one of the protocol's own (a relay's error frame). It
	// may change the handler's state: a relay that refuses the cursor is
	// rejoined without it.
	Ended(e Ended) string
}

// Ended is a session that ended while ctx was live, and what comes next.
type Ended struct {
	// Err is why the session ended: a dial or read error, a stall, or the
	// Handler's own error.
	Err error
	// URL is the session's endpoint; Next is the one dialed next (the same
	// when there is only one).
	URL, Next *url.URL
	// Connected says the dial succeeded; Messages counts the messages read.
	Connected bool
	Messages  int64
	// Reason is the Client's reading of Err: stall, dial or read.
	Reason string
	// Attempt counts the sessions since the last one that read a message,
	// from 1.
	Attempt int
	// Wait is the delay before the next dial.
	Wait time.Duration
}

// Client reads one WebSocket stream and reconnects when it breaks. The
// stream's health (streaming, away since, last error) is told to an
// Observer; the Client keeps none of it.
type Client struct {
	o Options
}

// New validates the options and fills in the defaults.
func New(o Options) (*Client, error) {
	if len(o.URLs) == 0 {
		return nil, fmt.Errorf("%s: no endpoint", o.Source)
	}
	if o.MaxMessageBytes <= 0 {
		return nil, fmt.Errorf("%s: message size limit %d", o.Source, o.MaxMessageBytes)
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
		return nil, fmt.Errorf("%s: max backoff %s below min backoff %s", o.Source, o.MaxBackoff, o.MinBackoff)
	}
	if o.HealthyMaxBackoff <= 0 {
		o.HealthyMaxBackoff = 3 * time.Second
	}
	o.HealthyMaxBackoff = min(max(o.HealthyMaxBackoff, o.MinBackoff), o.MaxBackoff)
	if o.HealthyWindow <= 0 {
		o.HealthyWindow = 10 * time.Minute
	}
	if o.Metrics == nil {
		o.Metrics = noMetrics{}
	}
	return &Client{o: o}, nil
}

// Run connects and hands every message to h until ctx ends, which is the
// only error it returns. A session that ends (dial failure, read error,
// stall, or h's own error) is counted by reason and followed by the next
// endpoint; once every endpoint failed in a row the client waits a
// jittered, exponentially growing delay (see HealthyMaxBackoff for its
// cap). A session that read any message resets that delay: the next
// failure is a fresh one. A refused connection after a long wait is
// retried at once: the host is up and its server is starting, so the
// stream is back in moments, and waiting another long step would only
// keep it away.
func (c *Client) Run(ctx context.Context, h Handler) error {
	bo := newBackoff(c.o)
	urls := c.o.URLs
	idx, failures := 0, 0
	var lastWait time.Duration
	for attempt := 1; ; attempt++ {
		u := urls[idx]
		var s session
		err := c.session(ctx, u, h, &s)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		now := time.Now()
		e := Ended{Err: err, URL: u, Connected: s.connected, Messages: s.messages}
		switch {
		case isTimeout(err):
			e.Reason = "stall"
		case !s.connected:
			e.Reason = "dial"
		default:
			e.Reason = "read"
		}
		if s.messages > 0 {
			bo.healthy(now)
			failures, attempt = 0, 1
		}
		failures++
		idx = (idx + 1) % len(urls)
		switch {
		case errors.Is(err, syscall.ECONNREFUSED) && lastWait > c.o.HealthyMaxBackoff:
			bo.restart()
		case failures >= len(urls):
			// Every endpoint failed in a row: back off before the next round.
			e.Wait = bo.next(now)
		}
		e.Next, e.Attempt = urls[idx], attempt
		c.o.Metrics.Reconnect(c.o.Source, h.Ended(e))
		if o, ok := c.o.Metrics.(Observer); ok {
			o.SessionEnded(c.o.Source, err)
		}
		if err := sleep(ctx, e.Wait); err != nil {
			return err
		}
		lastWait = e.Wait
	}
}

// session is what Run learns of one connection.
type session struct {
	connected bool
	messages  int64
}

// session dials u and reads messages into h until the connection fails,
// stalls, h returns an error or ctx ends.
func (c *Client) session(ctx context.Context, u *url.URL, h Handler, s *session) error {
	dialer := websocket.Dialer{HandshakeTimeout: 15 * time.Second, ReadBufferSize: c.o.ReadBufferSize}
	hdr := http.Header{"User-Agent": []string{"downsignal"}}
	conn, resp, err := dialer.DialContext(ctx, h.URL(u), hdr)
	if err != nil {
		if resp != nil {
			return fmt.Errorf("dial %s: %w (http %d)", u.Host, err, resp.StatusCode)
		}
		return fmt.Errorf("dial %s: %w", u.Host, err)
	}
	defer conn.Close()
	s.connected = true
	h.Connected(u)
	if o, ok := c.o.Metrics.(Observer); ok {
		o.SessionStarted(c.o.Source)
	}
	// Closing the connection is the only way to interrupt a blocked read.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	var buf bytes.Buffer
	for {
		mt, b, err := readMessage(conn, &buf, c.o.MaxMessageBytes, c.o.StallTimeout)
		switch {
		case errors.Is(err, errOversize):
			c.o.Metrics.Event(c.o.Source, kindUnknown)
			c.o.Metrics.DecodeError(c.o.Source, "oversize")
			h.Oversize(err)
			continue
		case isTimeout(err):
			return fmt.Errorf("no message for %s: %w", c.o.StallTimeout, err)
		case err != nil:
			return fmt.Errorf("read: %w", err)
		}
		s.messages++
		if err := h.Message(ctx, b, mt == websocket.BinaryMessage); err != nil {
			return err
		}
	}
}
