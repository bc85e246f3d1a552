package apptest

import (
	"bytes"
	"sync"
)

// LogBuffer collects what several goroutines (or a child process's
// stdout and stderr) write. The zero value is ready.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String is everything written so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Tail is the last n bytes written: the end of a long log is where a
// failure shows.
func (l *LogBuffer) Tail(n int) string {
	s := l.String()
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}
