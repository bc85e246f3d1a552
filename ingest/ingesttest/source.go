package ingesttest

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/downsignal/downsignal/ingest"
	"github.com/downsignal/downsignal/record"
)

// Collector keeps what a source emits.
type Collector struct {
	// Block, when set, makes Emit wait until it is closed: a slow Kafka.
	Block chan struct{}

	mu    sync.Mutex
	items []ingest.Item
}

// Emit is an ingest.Emit.
func (c *Collector) Emit(ctx context.Context, it ingest.Item) error {
	if c.Block != nil {
		select {
		case <-c.Block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	c.mu.Lock()
	c.items = append(c.items, it)
	c.mu.Unlock()
	return nil
}

// Items returns a copy of the items emitted so far.
func (c *Collector) Items() []ingest.Item {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.items)
}

// Events returns the events emitted so far, in order.
func (c *Collector) Events() []record.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []record.Event
	for _, it := range c.items {
		if it.Event != nil {
			out = append(out, *it.Event)
		}
	}
	return out
}

// LastCursor returns the highest cursor emitted so far.
func (c *Collector) LastCursor() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var m int64
	for _, it := range c.items {
		m = max(m, it.Cursor)
	}
	return m
}

// Running is a source running in the background.
type Running struct {
	cancel context.CancelFunc
	done   chan error
}

// RunSource runs src from cursor into c until Stop or the end of the test.
func RunSource(tb testing.TB, src ingest.Source, cursor int64, c *Collector) *Running {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &Running{cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- src.Run(ctx, cursor, c.Emit) }()
	tb.Cleanup(r.Stop)
	return r
}

// Stop cancels the source and waits for Run to return (at most 10s, then
// it panics: a source that ignores ctx is a bug).
func (r *Running) Stop() {
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		panic("source did not stop within 10s")
	}
}

// WaitFor polls cond until it holds or d passes.
func WaitFor(tb testing.TB, what string, d time.Duration, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Logger logs to tb.Log, down to level.
func Logger(tb testing.TB, level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(logWriter{tb}, &slog.HandlerOptions{Level: level}))
}

type logWriter struct{ tb testing.TB }

func (w logWriter) Write(p []byte) (int, error) {
	w.tb.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// MetricValue returns the value of one series of a counter or gauge,
// selected by label name/value pairs (0 when the series does not exist).
func MetricValue(tb testing.TB, reg *prometheus.Registry, name string, labels ...string) float64 {
	tb.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, lp := range m.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if have[labels[i]] != labels[i+1] {
					continue series
				}
			}
			if m.Counter != nil {
				return m.Counter.GetValue()
			}
			return m.Gauge.GetValue()
		}
	}
	return 0
}

// PostURIs lists the distinct at-URIs of the post events, sorted.
func PostURIs(evs []record.Event) []string {
	var out []string
	for _, ev := range evs {
		if ev.Kind == record.KindPost {
			out = append(out, ev.URI)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// CheckEvents holds every event a decoder lets through to the rules the
// rest of the pipeline relies on: valid, text and fields cleaned.
func CheckEvents(tb testing.TB, evs ...record.Event) {
	tb.Helper()
	for _, ev := range evs {
		if err := ev.Validate(); err != nil {
			tb.Fatalf("decoder returned an invalid event %+v: %v", ev, err)
		}
		if !utf8.ValidString(ev.Text) || len(ev.Text) > record.MaxTextBytes {
			tb.Fatalf("text not cleaned: %q", ev.Text)
		}
		for _, s := range append(append(append([]string{ev.ReplyParent, ev.ReplyRoot, ev.CID, ev.Status}, ev.Langs...), ev.Links...), ev.Tags...) {
			if !utf8.ValidString(s) || len(s) > 2048 {
				tb.Fatalf("field not cleaned: %q", s)
			}
		}
	}
}

// Posts creates n posts by a on relay, with record keys prefix0,
// prefix1, ..., and returns their at-URIs in order.
func Posts(tb testing.TB, relay *Relay, a *Account, prefix string, n int) []string {
	tb.Helper()
	uris := make([]string, 0, n)
	for i := range n {
		rkey := fmt.Sprintf("%s%d", prefix, i)
		if _, err := relay.Create(a, Post{RKey: rkey, Text: "post " + rkey}); err != nil {
			tb.Fatal(err)
		}
		uris = append(uris, record.PostURI(a.DID, rkey))
	}
	return uris
}

// Sorted returns a sorted copy of s.
func Sorted(s []string) []string { return slices.Sorted(slices.Values(s)) }

// MustAccount is NewAccount for tests: it fails tb instead of returning an
// error.
func MustAccount(tb testing.TB, did string) *Account {
	tb.Helper()
	a, err := NewAccount(did)
	if err != nil {
		tb.Fatal(err)
	}
	return a
}
