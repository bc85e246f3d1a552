package firehose_test

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/downsignal/downsignal/ingest"
	"github.com/downsignal/downsignal/ingest/firehose"
	"github.com/downsignal/downsignal/ingest/ingesttest"
	"github.com/downsignal/downsignal/record"
)

// newMetrics registers the firehose's metrics and the shared ones.
func newMetrics(reg prometheus.Registerer) *firehose.Metrics {
	return firehose.NewMetrics(reg, ingest.NewMetrics(reg))
}

// connect runs a firehose source on relay from the live end into c, its
// metrics in a registry of its own, and waits until the relay sees it. It
// returns the registry.
func connect(t *testing.T, relay *ingesttest.Relay, o firehose.Options, c *ingesttest.Collector) *prometheus.Registry {
	t.Helper()
	reg := prometheus.NewRegistry()
	o.Metrics = newMetrics(reg)
	ingesttest.RunSource(t, newFirehose(t, relay, o), 0, c)
	ingesttest.WaitFor(t, "a client", 5*time.Second, func() bool { return relay.Clients() == 1 })
	return reg
}

func newFirehose(t *testing.T, relay *ingesttest.Relay, o firehose.Options) *firehose.Source {
	t.Helper()
	o.URL = relay.URL()
	if o.MinBackoff == 0 {
		o.MinBackoff, o.MaxBackoff = 10*time.Millisecond, 50*time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = ingesttest.Logger(t, slog.LevelDebug)
	}
	f, err := firehose.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestFirehoseLivePostsDeletesAndAccounts(t *testing.T) {
	relay := ingesttest.NewRelay()
	defer relay.Close()
	alice := ingesttest.MustAccount(t, "did:plc:alice")
	bob := ingesttest.MustAccount(t, "did:plc:bob")
	reg := prometheus.NewRegistry()
	metrics := newMetrics(reg)

	var c ingesttest.Collector
	fh := newFirehose(t, relay, firehose.Options{Metrics: metrics})
	if got, want := fh.Name(), "firehose:"+strings.TrimPrefix(relay.URL(), "ws://"); got != want {
		t.Errorf("name %q, want %q", got, want)
	}
	ingesttest.RunSource(t, fh, 0, &c)
	ingesttest.WaitFor(t, "a client", 5*time.Second, func() bool { return relay.Clients() == 1 })

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

	ingesttest.WaitFor(t, "the last cursor", 5*time.Second, func() bool { return c.LastCursor() == last })
	evs := c.Events()
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
	var cursors []int64
	for _, it := range c.Items() {
		cursors = append(cursors, it.Cursor)
	}
	if wantCursors := []int64{1, 1, 2, 3, 4, 5, 6}; !slices.Equal(cursors, wantCursors) {
		t.Errorf("cursors %v, want %v", cursors, wantCursors)
	}
	for kind, n := range map[string]float64{"commit": 3, "identity": 1, "sync": 1, "info": 1, "account": 1} {
		if got := ingesttest.MetricValue(t, reg, "downsignal_ingest_events_total", "source", "firehose", "kind", kind); got != n {
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

func TestFirehoseResumesFromCursorWithoutGap(t *testing.T) {
	relay := ingesttest.NewRelay()
	defer relay.Close()
	alice := ingesttest.MustAccount(t, "did:plc:alice")

	var first ingesttest.Collector
	r := ingesttest.RunSource(t, newFirehose(t, relay, firehose.Options{}), 0, &first)
	ingesttest.WaitFor(t, "a client", 5*time.Second, func() bool { return relay.Clients() == 1 })
	want := ingesttest.Posts(t, relay, alice, "3a", 5)
	ingesttest.WaitFor(t, "5 posts", 5*time.Second, func() bool { return len(first.Events()) == 5 })
	r.Stop() // the process is killed
	cursor := first.LastCursor()

	// Posted while nobody listened.
	want = append(want, ingesttest.Posts(t, relay, alice, "3b", 5)...)

	var second ingesttest.Collector
	ingesttest.RunSource(t, newFirehose(t, relay, firehose.Options{}), cursor, &second)
	want = append(want, ingesttest.Posts(t, relay, alice, "3c", 5)...)
	ingesttest.WaitFor(t, "10 more posts", 5*time.Second, func() bool { return len(ingesttest.PostURIs(second.Events())) == 10 })

	got := ingesttest.PostURIs(append(first.Events(), second.Events()...))
	if !slices.Equal(got, ingesttest.Sorted(want)) {
		t.Fatalf("posts after a restart:\n%v\nwant\n%v", got, ingesttest.Sorted(want))
	}
	if cs := relay.Cursors(); len(cs) != 2 || cs[1] != fmt.Sprint(cursor) {
		t.Errorf("cursor parameters %q, want the second connection to resume from %d", cs, cursor)
	}
}

func TestFirehoseReconnectsAfterTheRelayDropsUs(t *testing.T) {
	relay := ingesttest.NewRelay()
	defer relay.Close()
	alice := ingesttest.MustAccount(t, "did:plc:alice")
	var c ingesttest.Collector
	reg := connect(t, relay, firehose.Options{}, &c)
	want := ingesttest.Posts(t, relay, alice, "3a", 3)
	ingesttest.WaitFor(t, "3 posts", 5*time.Second, func() bool { return len(c.Events()) == 3 })

	relay.DropClients()
	want = append(want, ingesttest.Posts(t, relay, alice, "3b", 3)...) // sent while we reconnect
	ingesttest.WaitFor(t, "a reconnect", 5*time.Second, func() bool { return len(relay.Cursors()) == 2 && relay.Clients() == 1 })
	want = append(want, ingesttest.Posts(t, relay, alice, "3c", 3)...)
	ingesttest.WaitFor(t, "9 posts", 5*time.Second, func() bool { return len(ingesttest.PostURIs(c.Events())) == 9 })

	if got := ingesttest.PostURIs(c.Events()); !slices.Equal(got, ingesttest.Sorted(want)) {
		t.Fatalf("posts %v, want %v", got, ingesttest.Sorted(want))
	}
	if cs := relay.Cursors(); cs[1] != "3" {
		t.Errorf("reconnected with cursor %q, want 3 (the last seq read)", cs[1])
	}
	if n := ingesttest.MetricValue(t, reg, "downsignal_ingest_reconnects_total", "source", "firehose", "reason", "read"); n != 1 {
		t.Errorf("reconnects_total{reason=read} = %v, want 1", n)
	}
}

func TestFirehoseStallWatchdogReconnects(t *testing.T) {
	relay := ingesttest.NewRelay()
	defer relay.Close()
	alice := ingesttest.MustAccount(t, "did:plc:alice")
	var c ingesttest.Collector
	reg := connect(t, relay, firehose.Options{StallTimeout: 150 * time.Millisecond}, &c)
	ingesttest.Posts(t, relay, alice, "3a", 1)
	ingesttest.WaitFor(t, "the first post", 5*time.Second, func() bool { return c.LastCursor() == 1 })
	// The relay keeps the connection open and sends nothing.
	ingesttest.WaitFor(t, "two stall reconnects", 5*time.Second, func() bool {
		return ingesttest.MetricValue(t, reg, "downsignal_ingest_reconnects_total", "source", "firehose", "reason", "stall") >= 2
	})
	want := ingesttest.Posts(t, relay, alice, "3b", 2)
	ingesttest.WaitFor(t, "posts after the stall", 5*time.Second, func() bool {
		return slices.Contains(ingesttest.PostURIs(c.Events()), want[1])
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
	alice := ingesttest.MustAccount(t, "did:plc:alice")
	all := ingesttest.Posts(t, relay, alice, "3a", 10)
	relay.Forget(5) // the relay no longer holds seq 1-5
	reg := prometheus.NewRegistry()

	var c ingesttest.Collector
	ingesttest.RunSource(t, newFirehose(t, relay, firehose.Options{Metrics: newMetrics(reg)}), 2, &c)
	ingesttest.WaitFor(t, "the relay's remaining posts", 5*time.Second, func() bool { return c.LastCursor() == 10 })
	if got := ingesttest.PostURIs(c.Events()); !slices.Equal(got, ingesttest.Sorted(all[5:])) {
		t.Errorf("posts %v, want the 5 the relay still holds", got)
	}
	if n := ingesttest.MetricValue(t, reg, "downsignal_ingest_gaps_total", "source", "firehose", "reason", "outdated_cursor"); n != 1 {
		t.Errorf("gaps_total{outdated_cursor} = %v, want 1", n)
	}
	if n := ingesttest.MetricValue(t, reg, "downsignal_ingest_relay_errors_total", "source", "firehose", "error", "OutdatedCursor"); n != 1 {
		t.Errorf("relay_errors_total{OutdatedCursor} = %v, want 1", n)
	}
}

func TestFirehoseFutureCursorResumesLive(t *testing.T) {
	relay := ingesttest.NewRelay()
	defer relay.Close()
	alice := ingesttest.MustAccount(t, "did:plc:alice")
	ingesttest.Posts(t, relay, alice, "3a", 2)
	reg := prometheus.NewRegistry()

	var c ingesttest.Collector
	// A cursor from another relay, far ahead of this one.
	ingesttest.RunSource(t, newFirehose(t, relay, firehose.Options{Metrics: newMetrics(reg)}), 1_000_000, &c)
	ingesttest.WaitFor(t, "a live reconnect", 5*time.Second, func() bool { return relay.Clients() == 1 })
	want := ingesttest.Posts(t, relay, alice, "3b", 1)
	ingesttest.WaitFor(t, "the live post", 5*time.Second, func() bool { return len(c.Events()) == 1 })
	if got := ingesttest.PostURIs(c.Events()); !slices.Equal(got, want) {
		t.Errorf("posts %v, want %v", got, want)
	}
	if cs := relay.Cursors(); !slices.Equal(cs, []string{"1000000", ""}) {
		t.Errorf("cursor parameters %q, want the refused cursor then none", cs)
	}
	if n := ingesttest.MetricValue(t, reg, "downsignal_ingest_gaps_total", "source", "firehose", "reason", "future_cursor"); n != 1 {
		t.Errorf("gaps_total{future_cursor} = %v, want 1", n)
	}
}

func TestFirehoseConsumerTooSlowIsRecovered(t *testing.T) {
	relay := ingesttest.NewRelay()
	defer relay.Close()
	alice := ingesttest.MustAccount(t, "did:plc:alice")
	var c ingesttest.Collector
	reg := connect(t, relay, firehose.Options{}, &c)
	want := ingesttest.Posts(t, relay, alice, "3a", 3)
	ingesttest.WaitFor(t, "3 posts", 5*time.Second, func() bool { return len(c.Events()) == 3 })
	relay.Fail("ConsumerTooSlow", "Stream consumer too slow")
	want = append(want, ingesttest.Posts(t, relay, alice, "3b", 3)...)
	ingesttest.WaitFor(t, "6 posts", 5*time.Second, func() bool { return len(ingesttest.PostURIs(c.Events())) == 6 })
	if got := ingesttest.PostURIs(c.Events()); !slices.Equal(got, ingesttest.Sorted(want)) {
		t.Errorf("posts %v, want %v", got, ingesttest.Sorted(want))
	}
	if n := ingesttest.MetricValue(t, reg, "downsignal_ingest_relay_errors_total", "source", "firehose", "error", "ConsumerTooSlow"); n != 1 {
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
	alice := ingesttest.MustAccount(t, "did:plc:alice")
	// emit blocks: Kafka is slow and the stage's buffer is full, so the
	// source stops reading and the relay's queue for us fills up.
	c := ingesttest.Collector{Block: make(chan struct{})}
	connect(t, relay, firehose.Options{}, &c)
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
	close(c.Block) // Kafka catches up
	ingesttest.WaitFor(t, "every post", 20*time.Second, func() bool { return len(ingesttest.PostURIs(c.Events())) == len(want) })
	if got := ingesttest.PostURIs(c.Events()); !slices.Equal(got, ingesttest.Sorted(want)) {
		t.Errorf("%d posts, want %d", len(got), len(want))
	}
	if len(relay.Cursors()) < 2 {
		t.Errorf("no reconnect after being dropped")
	}
}
