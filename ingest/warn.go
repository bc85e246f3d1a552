package ingest

import (
	"log/slog"
	"sync"
	"time"
)

// LimitedLog logs at most perSecond warnings a second and says how many it
// left out, so a stream of garbage cannot flood the log. Every skipped
// message is still counted in metrics. A source keeps one for its bad-input
// warnings; it is safe for concurrent use.
type LimitedLog struct {
	log       *slog.Logger
	perSecond int

	mu         sync.Mutex
	window     time.Time
	n          int
	suppressed int
}

// NewLimitedLog returns a LimitedLog writing to l.
func NewLimitedLog(l *slog.Logger, perSecond int) *LimitedLog {
	return &LimitedLog{log: l, perSecond: perSecond}
}

// Warn logs at warning level unless this second's share is used up.
func (l *LimitedLog) Warn(msg string, args ...any) {
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
