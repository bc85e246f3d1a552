package firehose_test

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/downsignal/downsignal/ingest/firehose"
	"github.com/downsignal/downsignal/ingest/firehose/resync"
	"github.com/downsignal/downsignal/ingest/ingesttest"
	"github.com/downsignal/downsignal/record"
)

var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}

// syncWorld is a relay and a PDS hosting alice on loopback.
type syncWorld struct {
	relay *ingesttest.Relay
	pds   *ingesttest.PDS
	alice *ingesttest.Account
}

func newSyncWorld(t *testing.T) *syncWorld {
	t.Helper()
	w := &syncWorld{relay: ingesttest.NewRelay(), pds: ingesttest.NewPDS(), alice: ingesttest.MustAccount(t, "did:plc:alice")}
	t.Cleanup(w.relay.Close)
	t.Cleanup(w.pds.Close)
	if err := w.pds.Host(w.alice); err != nil {
		t.Fatal(err)
	}
	return w
}

// follow runs a firehose with resync options o against the relay, from its
// current seq, until t ends, collecting into c; it returns the registry of
// the firehose's metrics.
func (w *syncWorld) follow(t *testing.T, o resync.Options, c *ingesttest.Collector) *prometheus.Registry {
	t.Helper()
	if o.Directory == nil {
		o.Directory = w.pds.Directory()
	}
	reg := prometheus.NewRegistry()
	fh := newFirehose(t, w.relay, firehose.Options{Metrics: newMetrics(reg), Resync: resync.New(o)})
	ingesttest.RunSource(t, fh, w.relay.Seq(), c)
	ingesttest.WaitFor(t, "a client", 5*time.Second, func() bool { return w.relay.Clients() == 1 })
	return reg
}

// A #sync says an account's repository changed in a way no commit
// described (here: a post removed silently, as an import or a migration
// can). The firehose fetches the repository from the account's PDS, emits
// the posts it holds and a reset event listing them, all at the #sync's
// position; a second #sync soon after is not fetched again.
func TestFirehoseSyncFetchesTheRepository(t *testing.T) {
	w := newSyncWorld(t)
	relay, pds, alice := w.relay, w.pds, w.alice
	var c ingesttest.Collector
	reg := w.follow(t, resync.Options{AllowNets: loopback, Verify: true}, &c)

	created := time.Date(2026, 1, 22, 19, 31, 0, 0, time.UTC)
	for i, rkey := range []string{"3kaaa", "3kbbb", "3kccc"} {
		mustSeq(t)(relay.Create(alice, ingesttest.Post{RKey: rkey, Text: "Outlook down " + rkey, CreatedAt: created.Add(time.Duration(i) * time.Minute)}))
	}
	if err := alice.Forget("3kbbb"); err != nil {
		t.Fatal(err)
	}
	syncSeq := mustSeq(t)(relay.Sync(alice))
	again := mustSeq(t)(relay.Sync(alice))
	ingesttest.WaitFor(t, "the second #sync", 5*time.Second, func() bool { return c.LastCursor() == again })

	items := c.Items()
	var got []string
	for _, it := range items {
		if it.Event == nil {
			got = append(got, fmt.Sprintf("cursor %d", it.Cursor))
			continue
		}
		ev := it.Event
		s := fmt.Sprintf("%s %s %d", ev.Kind, ev.URI, it.Cursor)
		if ev.Kind == record.KindReset {
			s = fmt.Sprintf("reset %s keep=%v from=%q %d", ev.DID, ev.Keep, ev.KeepFrom, it.Cursor)
		}
		got = append(got, s)
	}
	uri := func(rkey string) string { return record.PostURI(alice.DID, rkey) }
	want := []string{
		"post " + uri("3kaaa") + " 1",
		"post " + uri("3kbbb") + " 2",
		"post " + uri("3kccc") + " 3",
		// The repository's posts, newest first, resume before the #sync;
		// the reset carries the #sync's own seq.
		fmt.Sprintf("post %s %d", uri("3kccc"), syncSeq-1),
		fmt.Sprintf("post %s %d", uri("3kaaa"), syncSeq-1),
		fmt.Sprintf("reset %s keep=[3kccc 3kaaa] from=\"\" %d", alice.DID, syncSeq),
		fmt.Sprintf("cursor %d", again),
	}
	if !slices.Equal(got, want) {
		t.Fatalf("items:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Posts read back from the repository are the same posts, at the time
	// they were made.
	for _, it := range items[3:5] {
		if ev := it.Event; !strings.HasPrefix(ev.Text, "Outlook down 3k") || !ev.Time.Equal(ev.CreatedAt) || !strings.HasPrefix(ev.CID, "bafyrei") || ev.Source != "firehose" {
			t.Errorf("resynced post %+v", ev)
		}
	}
	if n := pds.Fetches(alice.DID); n != 1 {
		t.Errorf("getRepo fetched %d times, want 1 (the second #sync came too soon)", n)
	}
	for outcome, want := range map[string]float64{"done": 1, "skipped": 1, "failed": 0} {
		if got := ingesttest.MetricValue(t, reg, "downsignal_ingest_resyncs_total", "source", "firehose", "outcome", outcome); got != want {
			t.Errorf("resyncs_total{outcome=%s} = %v, want %v", outcome, got, want)
		}
	}
}

// A repository that cannot be fetched (a PDS URL in the operator's own
// network, an account the PDS does not know) is counted and skipped; the
// stream goes on.
func TestFirehoseSyncFetchFailuresAreSkipped(t *testing.T) {
	w := newSyncWorld(t)
	relay, pds, alice := w.relay, w.pds, w.alice
	for _, tc := range []struct {
		name  string
		allow []netip.Prefix
		did   string
	}{
		{"loopback PDS refused", nil, alice.DID},
		{"unknown account", loopback, "did:plc:nobody"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c ingesttest.Collector
			reg := w.follow(t, resync.Options{AllowNets: tc.allow}, &c)
			a := alice
			if tc.did != alice.DID {
				a = ingesttest.MustAccount(t, tc.did)
			}
			mustSeq(t)(relay.Sync(a))
			last := mustSeq(t)(relay.Create(alice, ingesttest.Post{RKey: "3k" + strings.ReplaceAll(tc.name, " ", ""), Text: "still flowing"}))
			ingesttest.WaitFor(t, "the post after the #sync", 5*time.Second, func() bool { return c.LastCursor() == last })
			for _, ev := range c.Events() {
				if ev.Kind == record.KindReset {
					t.Errorf("reset event %+v from a failed fetch", ev)
				}
			}
			if got := ingesttest.MetricValue(t, reg, "downsignal_ingest_resyncs_total", "source", "firehose", "outcome", "failed"); got != 1 {
				t.Errorf("resyncs_total{outcome=failed} = %v, want 1", got)
			}
		})
	}
	if n := pds.Fetches(alice.DID); n != 0 {
		t.Errorf("getRepo reached the loopback PDS %d times without being allowed", n)
	}
}

// A fetch that failed does not count against the account: its next #sync
// tries again at once.
func TestFirehoseSyncRetriesAfterAFailedFetch(t *testing.T) {
	w := newSyncWorld(t)
	relay, pds, alice := w.relay, w.pds, w.alice
	var c ingesttest.Collector
	reg := w.follow(t, resync.Options{AllowNets: loopback}, &c)
	mustSeq(t)(relay.Create(alice, ingesttest.Post{RKey: "3kaaa", Text: "Outlook down"}))

	pds.SetDown(true)
	first := mustSeq(t)(relay.Sync(alice))
	ingesttest.WaitFor(t, "the first #sync", 5*time.Second, func() bool { return c.LastCursor() == first })
	pds.SetDown(false)
	second := mustSeq(t)(relay.Sync(alice))
	ingesttest.WaitFor(t, "the second #sync", 5*time.Second, func() bool { return c.LastCursor() == second })

	var resets int
	for _, ev := range c.Events() {
		if ev.Kind == record.KindReset {
			resets++
		}
	}
	if resets != 1 || pds.Fetches(alice.DID) != 2 {
		t.Errorf("%d reset events after %d fetches, want 1 after 2", resets, pds.Fetches(alice.DID))
	}
	for outcome, want := range map[string]float64{"done": 1, "failed": 1, "skipped": 0} {
		if got := ingesttest.MetricValue(t, reg, "downsignal_ingest_resyncs_total", "source", "firehose", "outcome", outcome); got != want {
			t.Errorf("resyncs_total{outcome=%s} = %v, want %v", outcome, got, want)
		}
	}
}
