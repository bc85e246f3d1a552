package ingest_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/downsignal/downsignal/ingest"
	"github.com/downsignal/downsignal/ingest/ingesttest"
	"github.com/downsignal/downsignal/record"
)

// collector runs a source and keeps what it emits.
type collector struct {
	mu    sync.Mutex
	items []ingest.Item
	// block, when set, makes emit wait until it is closed: a slow Kafka.
	block chan struct{}
}

func (c *collector) emit(ctx context.Context, it ingest.Item) error {
	if c.block != nil {
		select {
		case <-c.block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	c.mu.Lock()
	c.items = append(c.items, it)
	c.mu.Unlock()
	return nil
}

func (c *collector) events() []record.Event {
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

func (c *collector) lastCursor() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var m int64
	for _, it := range c.items {
		m = max(m, it.Cursor)
	}
	return m
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// running is a source running in the background.
type running struct {
	cancel context.CancelFunc
	done   chan error
}

func runSource(t *testing.T, src ingest.Source, cursor int64, c *collector) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- src.Run(ctx, cursor, c.emit) }()
	t.Cleanup(r.stop)
	return r
}

func (r *running) stop() {
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

func newAccount(t *testing.T, did string) *ingesttest.Account {
	t.Helper()
	a, err := ingesttest.NewAccount(did)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func newFirehose(t *testing.T, relay *ingesttest.Relay, o ingest.FirehoseOptions) *ingest.Firehose {
	t.Helper()
	o.URL = relay.URL()
	if o.MinBackoff == 0 {
		o.MinBackoff, o.MaxBackoff = 10*time.Millisecond, 50*time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	f, err := ingest.NewFirehose(o)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// testWriter sends log lines to t.Log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func TestFirehoseLivePostsDeletesAndAccounts(t *testing.T) {
	relay := ingesttest.NewRelay()
	defer relay.Close()
	alice := newAccount(t, "did:plc:alice")
	bob := newAccount(t, "did:plc:bob")
	reg := prometheus.NewRegistry()
	metrics := ingest.NewMetrics(reg)

	var c collector
	fh := newFirehose(t, relay, ingest.FirehoseOptions{Metrics: metrics})
	if got, want := fh.Name(), "firehose:"+strings.TrimPrefix(relay.URL(), "ws://"); got != want {
		t.Errorf("name %q, want %q", got, want)
	}
	runSource(t, fh, 0, &c)
	waitFor(t, "a client", 5*time.Second, func() bool { return relay.Clients() == 1 })

	created := time.Date(2026, 1, 22, 19, 31, 10, 0, time.UTC)
	mustSeq(t)(relay.Create(alice, ingesttest.Post{
		RKey: "3aaa", Text: "Outlook down? 451 4.3.2", Langs: []string{"en"}, CreatedAt: created,
		Links: []string{"https://status.example.com"}, Tags: []string{"outage"},
		ReplyParent: "at://did:plc:bob/app.bsky.feed.post/3p", ReplyRoot: "at://did:plc:bob/app.bsky.feed.post/3r",
	}))
	mustSeq(t)(relay.Commit(bob, []ingesttest.Change{
		{Other: "app.bsky.feed.like/3like"},
		{Post: &ingesttest.Post{RKey: "3bbb", Text: "first"}},
		{Post: &ingesttest.Post{RKey: "3ccc", Text: "second"}},
	}))
	relay.Identity(alice, "alice.test")
	mustSeq(t)(relay.Sync(bob))
	mustSeq(t)(relay.Delete(alice, "3aaa"))
	relay.Info("Hello", "an info frame")
	last := relay.AccountStatus(bob, false, "takendown")

	waitFor(t, "the last cursor", 5*time.Second, func() bool { return c.lastCursor() == last })
	evs := c.events()
	var got []string
	for _, ev := range evs {
		got = append(got, fmt.Sprintf("%s %s %s", ev.Kind, ev.DID, ev.URI))
	}
	want := []string{
		"post did:plc:alice at://did:plc:alice/app.bsky.feed.post/3aaa",
		"post did:plc:bob at://did:plc:bob/app.bsky.feed.post/3bbb",
		"post did:plc:bob at://did:plc:bob/app.bsky.feed.post/3ccc",
		"delete did:plc:alice at://did:plc:alice/app.bsky.feed.post/3aaa",
		"account did:plc:bob ",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	p := evs[0]
	if p.Text != "Outlook down? 451 4.3.2" || !slices.Equal(p.Langs, []string{"en"}) || !p.CreatedAt.Equal(created) ||
		!slices.Equal(p.Links, []string{"https://status.example.com"}) || !slices.Equal(p.Tags, []string{"outage"}) ||
		p.ReplyParent != "at://did:plc:bob/app.bsky.feed.post/3p" || p.ReplyRoot != "at://did:plc:bob/app.bsky.feed.post/3r" ||
		p.Source != "firehose" || !strings.HasPrefix(p.CID, "bafyrei") || p.Time.IsZero() || p.V != record.EventVersion {
		t.Errorf("post event %+v", p)
	}
	if a := evs[4]; a.Active == nil || *a.Active || a.Status != "takendown" {
		t.Errorf("account event %+v, want inactive takendown", a)
	}
	// Every frame with a seq moves the cursor; the multi-post commit's
	// first post resumes before the commit, its last after it.
	c.mu.Lock()
	var cursors []int64
	for _, it := range c.items {
		cursors = append(cursors, it.Cursor)
	}
	c.mu.Unlock()
	if wantCursors := []int64{1, 1, 2, 3, 4, 5, 6}; !slices.Equal(cursors, wantCursors) {
		t.Errorf("cursors %v, want %v", cursors, wantCursors)
	}
	for kind, n := range map[string]float64{"commit": 3, "identity": 1, "sync": 1, "info": 1, "account": 1} {
		if got := metricValue(t, reg, "downsignal_ingest_events_total", "source", "firehose", "kind", kind); got != n {
			t.Errorf("events_total{kind=%s} = %v, want %v", kind, got, n)
		}
	}
}

func mustSeq(t *testing.T) func(int64, error) int64 {
	return func(seq int64, err error) int64 {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return seq
	}
}

// metricValue returns the value of one series of a counter or gauge,
// selected by label name/value pairs (0 when the series does not exist).
func metricValue(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
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

// posts creates n posts by a, with record keys prefix0, prefix1, ...
func posts(t *testing.T, relay *ingesttest.Relay, a *ingesttest.Account, prefix string, n int) []string {
	t.Helper()
	var uris []string
	for i := range n {
		rkey := fmt.Sprintf("%s%d", prefix, i)
		if _, err := relay.Create(a, ingesttest.Post{RKey: rkey, Text: "post " + rkey}); err != nil {
			t.Fatal(err)
		}
		uris = append(uris, record.PostURI(a.DID, rkey))
	}
	return uris
}

// uris lists the distinct at-URIs of the post events, sorted.
func postURIs(evs []record.Event) []string {
	var out []string
	for _, ev := range evs {
		if ev.Kind == record.KindPost {
			out = append(out, ev.URI)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func TestFirehoseResumesFromCursorWithoutGap(t *testing.T) {
	relay := ingesttest.NewRelay()
	defer relay.Close()
	alice := newAccount(t, "did:plc:alice")

	var first collector
	r := runSource(t, newFirehose(t, relay, ingest.FirehoseOptions{}), 0, &first)
	waitFor(t, "a client", 5*time.Second, func() bool { return relay.Clients() == 1 })
	want := posts(t, relay, alice, "3a", 5)
	waitFor(t, "5 posts", 5*time.Second, func() bool { return len(first.events()) == 5 })
	r.stop() // the process is killed
	cursor := first.lastCursor()

	// Posted while nobody listened.
	want = append(want, posts(t, relay, alice, "3b", 5)...)

	var second collector
	runSource(t, newFirehose(t, relay, ingest.FirehoseOptions{}), cursor, &second)
	want = append(want, posts(t, relay, alice, "3c", 5)...)
	waitFor(t, "10 more posts", 5*time.Second, func() bool { return len(postURIs(second.events())) == 10 })

	got := postURIs(append(first.events(), second.events()...))
	if !slices.Equal(got, sorted(want)) {
		t.Fatalf("posts after a restart:\n%v\nwant\n%v", got, sorted(want))
	}
	if cs := relay.Cursors(); len(cs) != 2 || cs[1] != fmt.Sprint(cursor) {
		t.Errorf("cursor parameters %q, want the second connection to resume from %d", cs, cursor)
	}
}

func TestFirehoseReconnectsAfterTheRelayDropsUs(t *testing.T) {
	relay := ingesttest.NewRelay()
	defer relay.Close()
	alice := newAccount(t, "did:plc:alice")
	reg := prometheus.NewRegistry()

	var c collector
	runSource(t, newFirehose(t, relay, ingest.FirehoseOptions{Metrics: ingest.NewMetrics(reg)}), 0, &c)
	waitFor(t, "a client", 5*time.Second, func() bool { return relay.Clients() == 1 })
	want := posts(t, relay, alice, "3a", 3)
	waitFor(t, "3 posts", 5*time.Second, func() bool { return len(c.events()) == 3 })

	relay.DropClients()
	want = append(want, posts(t, relay, alice, "3b", 3)...) // sent while we reconnect
	waitFor(t, "a reconnect", 5*time.Second, func() bool { return len(relay.Cursors()) == 2 && relay.Clients() == 1 })
	want = append(want, posts(t, relay, alice, "3c", 3)...)
	waitFor(t, "9 posts", 5*time.Second, func() bool { return len(postURIs(c.events())) == 9 })

	if got := postURIs(c.events()); !slices.Equal(got, sorted(want)) {
		t.Fatalf("posts %v, want %v", got, sorted(want))
	}
	if cs := relay.Cursors(); cs[1] != "3" {
		t.Errorf("reconnected with cursor %q, want 3 (the last seq read)", cs[1])
	}
	if n := metricValue(t, reg, "downsignal_ingest_reconnects_total", "source", "firehose", "reason", "read"); n != 1 {
		t.Errorf("reconnects_total{reason=read} = %v, want 1", n)
	}
}

func TestFirehoseStallWatchdogReconnects(t *testing.T) {
	relay := ingesttest.NewRelay()
	defer relay.Close()
	alice := newAccount(t, "did:plc:alice")
	reg := prometheus.NewRegistry()

	var c collector
	runSource(t, newFirehose(t, relay, ingest.FirehoseOptions{StallTimeout: 150 * time.Millisecond, Metrics: ingest.NewMetrics(reg)}), 0, &c)
	waitFor(t, "a client", 5*time.Second, func() bool { return relay.Clients() == 1 })
	posts(t, relay, alice, "3a", 1)
	waitFor(t, "the first post", 5*time.Second, func() bool { return c.lastCursor() == 1 })
	// The relay keeps the connection open and sends nothing.
	waitFor(t, "two stall reconnects", 5*time.Second, func() bool {
		return metricValue(t, reg, "downsignal_ingest_reconnects_total", "source", "firehose", "reason", "stall") >= 2
	})
	want := posts(t, relay, alice, "3b", 2)
	waitFor(t, "posts after the stall", 5*time.Second, func() bool {
		return slices.Contains(postURIs(c.events()), want[1])
	})
	for _, cs := range relay.Cursors()[1:] {
		if cs == "" || cs == "0" {
			t.Fatalf("a reconnect without the cursor: %q", relay.Cursors())
		}
	}
}

func TestFirehoseOutdatedCursorIsCountedAsAGap(t *testing.T) {
	relay := ingesttest.NewRelay()
	defer relay.Close()
	alice := newAccount(t, "did:plc:alice")
	all := posts(t, relay, alice, "3a", 10)
	relay.Forget(5) // the relay no longer holds seq 1-5
	reg := prometheus.NewRegistry()

	var c collector
	runSource(t, newFirehose(t, relay, ingest.FirehoseOptions{Metrics: ingest.NewMetrics(reg)}), 2, &c)
	waitFor(t, "the relay's remaining posts", 5*time.Second, func() bool { return c.lastCursor() == 10 })
	if got := postURIs(c.events()); !slices.Equal(got, sorted(all[5:])) {
		t.Errorf("posts %v, want the 5 the relay still holds", got)
	}
	if n := metricValue(t, reg, "downsignal_ingest_gaps_total", "source", "firehose", "reason", "outdated_cursor"); n != 1 {
		t.Errorf("gaps_total{outdated_cursor} = %v, want 1", n)
	}
	if n := metricValue(t, reg, "downsignal_ingest_relay_errors_total", "source", "firehose", "error", "OutdatedCursor"); n != 1 {
		t.Errorf("relay_errors_total{OutdatedCursor} = %v, want 1", n)
	}
}

func TestFirehoseFutureCursorResumesLive(t *testing.T) {
	relay := ingesttest.NewRelay()
	defer relay.Close()
	alice := newAccount(t, "did:plc:alice")
	posts(t, relay, alice, "3a", 2)
	reg := prometheus.NewRegistry()

	var c collector
	// A cursor from another relay, far ahead of this one.
	runSource(t, newFirehose(t, relay, ingest.FirehoseOptions{Metrics: ingest.NewMetrics(reg)}), 1_000_000, &c)
	waitFor(t, "a live reconnect", 5*time.Second, func() bool { return relay.Clients() == 1 })
	want := posts(t, relay, alice, "3b", 1)
	waitFor(t, "the live post", 5*time.Second, func() bool { return len(c.events()) == 1 })
	if got := postURIs(c.events()); !slices.Equal(got, want) {
		t.Errorf("posts %v, want %v", got, want)
	}
	if cs := relay.Cursors(); !slices.Equal(cs, []string{"1000000", ""}) {
		t.Errorf("cursor parameters %q, want the refused cursor then none", cs)
	}
	if n := metricValue(t, reg, "downsignal_ingest_gaps_total", "source", "firehose", "reason", "future_cursor"); n != 1 {
		t.Errorf("gaps_total{future_cursor} = %v, want 1", n)
	}
}

func TestFirehoseConsumerTooSlowIsRecovered(t *testing.T) {
	relay := ingesttest.NewRelay()
	defer relay.Close()
	alice := newAccount(t, "did:plc:alice")
	reg := prometheus.NewRegistry()

	var c collector
	runSource(t, newFirehose(t, relay, ingest.FirehoseOptions{Metrics: ingest.NewMetrics(reg)}), 0, &c)
	waitFor(t, "a client", 5*time.Second, func() bool { return relay.Clients() == 1 })
	want := posts(t, relay, alice, "3a", 3)
	waitFor(t, "3 posts", 5*time.Second, func() bool { return len(c.events()) == 3 })
	relay.Fail("ConsumerTooSlow", "Stream consumer too slow")
	want = append(want, posts(t, relay, alice, "3b", 3)...)
	waitFor(t, "6 posts", 5*time.Second, func() bool { return len(postURIs(c.events())) == 6 })
	if got := postURIs(c.events()); !slices.Equal(got, sorted(want)) {
		t.Errorf("posts %v, want %v", got, sorted(want))
	}
	if n := metricValue(t, reg, "downsignal_ingest_relay_errors_total", "source", "firehose", "error", "ConsumerTooSlow"); n != 1 {
		t.Errorf("relay_errors_total{ConsumerTooSlow} = %v, want 1", n)
	}
	if cs := relay.Cursors(); len(cs) != 2 || cs[1] != "3" {
		t.Errorf("cursor parameters %q, want a reconnect from 3", cs)
	}
}

func TestFirehoseSlowReaderIsDroppedAndCatchesUp(t *testing.T) {
	relay := ingesttest.NewRelay()
	defer relay.Close()
	relay.SetQueueLimit(20)
	alice := newAccount(t, "did:plc:alice")
	reg := prometheus.NewRegistry()

	// emit blocks: Kafka is slow and the stage's buffer is full, so the
	// source stops reading and the relay's queue for us fills up.
	c := collector{block: make(chan struct{})}
	runSource(t, newFirehose(t, relay, ingest.FirehoseOptions{Metrics: ingest.NewMetrics(reg)}), 0, &c)
	waitFor(t, "a client", 5*time.Second, func() bool { return relay.Clients() == 1 })
	long := strings.Repeat("an outage post that takes room in the socket buffers ", 40)
	var want []string
	for i := 0; relay.Clients() == 1; i++ {
		if i > 20000 {
			t.Fatal("the relay never dropped the blocked reader")
		}
		rkey := fmt.Sprintf("3s%d", i)
		if _, err := relay.Create(alice, ingesttest.Post{RKey: rkey, Text: long}); err != nil {
			t.Fatal(err)
		}
		want = append(want, record.PostURI(alice.DID, rkey))
	}
	close(c.block) // Kafka catches up
	waitFor(t, "every post", 20*time.Second, func() bool { return len(postURIs(c.events())) == len(want) })
	if got := postURIs(c.events()); !slices.Equal(got, sorted(want)) {
		t.Errorf("%d posts, want %d", len(got), len(want))
	}
	if len(relay.Cursors()) < 2 {
		t.Errorf("no reconnect after being dropped")
	}
}
