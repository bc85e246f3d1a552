package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// errOversize marks a WebSocket message larger than a source accepts. The
// message is read and discarded, so the connection (and the stream's
// position) survives it.
var errOversize = errors.New("message too large")

// readMessage reads the next WebSocket message into buf, waiting at most
// stall for it to start and finish. A message over max bytes is drained and
// reported with errOversize and its size.
func readMessage(conn *websocket.Conn, buf *bytes.Buffer, max int, stall time.Duration) (int, []byte, error) {
	if err := conn.SetReadDeadline(time.Now().Add(stall)); err != nil {
		return 0, nil, err
	}
	mt, r, err := conn.NextReader()
	if err != nil {
		return 0, nil, err
	}
	buf.Reset()
	n, err := buf.ReadFrom(io.LimitReader(r, int64(max)+1))
	if err != nil {
		return mt, nil, err
	}
	if n > int64(max) {
		rest, err := io.Copy(io.Discard, r)
		if err != nil {
			return mt, nil, err
		}
		return mt, nil, fmt.Errorf("%w: %d bytes, limit %d", errOversize, n+rest, max)
	}
	return mt, buf.Bytes(), nil
}

// isTimeout reports whether err is a read deadline passing: the stall
// watchdog firing.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// backoff is a jittered exponential delay between reconnects.
type backoff struct {
	min, max, cur time.Duration
}

func newBackoff(min, max time.Duration) *backoff { return &backoff{min: min, max: max, cur: min} }

// next returns the delay to wait now (between half and all of the current
// step) and doubles the step.
func (b *backoff) next() time.Duration {
	d := b.cur/2 + rand.N(b.cur/2+1)
	b.cur = min(b.cur*2, b.max)
	return d
}

func (b *backoff) reset() { b.cur = b.min }

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

// limitedLog logs at most perSecond warnings a second and says how many it
// left out, so a stream of garbage cannot flood the log. Every skipped
// message is still counted in metrics.
type limitedLog struct {
	log       *slog.Logger
	perSecond int

	mu         sync.Mutex
	window     time.Time
	n          int
	suppressed int
}

func newLimitedLog(l *slog.Logger, perSecond int) *limitedLog {
	return &limitedLog{log: l, perSecond: perSecond}
}

func (l *limitedLog) Warn(msg string, args ...any) {
	l.mu.Lock()
	now := time.Now()
	if now.Sub(l.window) >= time.Second {
		if l.suppressed > 0 {
			l.log.Warn("bad input warnings left out", "count", l.suppressed, "since", l.window.UTC().Format(time.RFC3339))
		}
		l.window, l.n, l.suppressed = now, 0, 0
	}
	l.n++
	ok := l.n <= l.perSecond
	if !ok {
		l.suppressed++
	}
	l.mu.Unlock()
	if ok {
		l.log.Warn(msg, args...)
	}
}
