package jetstream_test

import (
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/klauspost/compress/zstd"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/downsignal/downsignal/ingest"
	"github.com/downsignal/downsignal/ingest/ingesttest"
	"github.com/downsignal/downsignal/ingest/jetstream"
	"github.com/downsignal/downsignal/record"
)

func newFakeJetstream(t *testing.T, dict []byte) *ingesttest.Jetstream {
	t.Helper()
	j, err := ingesttest.NewJetstream(dict)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(j.Close)
	return j
}

func newJetstream(t *testing.T, o jetstream.Options) *jetstream.Source {
	t.Helper()
	if o.MinBackoff == 0 {
		o.MinBackoff, o.MaxBackoff = 10*time.Millisecond, 50*time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = ingesttest.Logger(t, slog.LevelDebug)
	}
	j, err := jetstream.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func TestJetstreamLive(t *testing.T) {
	js := newFakeJetstream(t, nil)
	reg := prometheus.NewRegistry()
	var c ingesttest.Collector
	ingesttest.RunSource(t, newJetstream(t, jetstream.Options{URLs: []string{js.URL()}, Metrics: ingest.NewMetrics(reg)}), 0, &c)
	ingesttest.WaitFor(t, "a client", 5*time.Second, func() bool { return js.Clients() == 1 })

	js.Post("did:plc:alice", "3a", "Gmail down?")
	js.Like("did:plc:bob", "3l") // filtered out by wantedCollections
	js.Identity("did:plc:bob", "bob.example")
	js.Delete("did:plc:alice", "3a")
	last := js.Account("did:plc:bob", false, "deactivated")
	ingesttest.WaitFor(t, "the account event", 5*time.Second, func() bool { return c.LastCursor() == last })

	var got []string
	for _, ev := range c.Events() {
		got = append(got, string(ev.Kind)+" "+ev.URI+ev.Status)
	}
	want := []string{"post at://did:plc:alice/app.bsky.feed.post/3a", "delete at://did:plc:alice/app.bsky.feed.post/3a", "account deactivated"}
	if !slices.Equal(got, want) {
		t.Errorf("events %q, want %q", got, want)
	}
	q := js.Queries()[0]
	if !slices.Equal(q["wantedCollections"], []string{record.PostCollection}) || q.Has("compress") || q.Has("cursor") {
		t.Errorf("subscribe query %v", q)
	}
	for kind, n := range map[string]float64{"commit": 2, "identity": 1, "account": 1} {
		if got := ingesttest.MetricValue(t, reg, "downsignal_ingest_events_total", "source", "jetstream", "kind", kind); got != n {
			t.Errorf("events_total{kind=%s} = %v, want %v", kind, got, n)
		}
	}
	if got := ingesttest.MetricValue(t, reg, "downsignal_ingest_records_total", "source", "jetstream", "kind", "post"); got != 1 {
		t.Errorf("records_total{kind=post} = %v, want 1", got)
	}
}

// testDict builds a zstd dictionary from Jetstream-like messages, so the
// compression test runs without the real dictionary.
func testDict(t *testing.T) []byte {
	t.Helper()
	var samples [][]byte
	for i := range 200 {
		samples = append(samples, []byte(fmt.Sprintf(`{"did":"did:plc:user%d","time_us":%d,"kind":"commit","commit":{"rev":"3l3qo2vutsw2b","operation":"create","collection":"app.bsky.feed.post","rkey":"3k%d","record":{"$type":"app.bsky.feed.post","createdAt":"2026-01-22T19:31:12Z","langs":["en"],"text":"post number %d about an outage"},"cid":"bafyreib2rxk3rybk3aobmv5cjuql3bm2twh4jo5uxgf5nxy2rzvmdmmkry"}}`, i, 1769110272000000+i, i, i)))
	}
	dict, err := zstd.BuildDict(zstd.BuildDictOptions{ID: jetstream.DictID, Contents: samples, History: []byte(strings.Repeat(`{"did":"did:plc:","time_us":,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.post"`, 20))})
	if err != nil {
		t.Fatal(err)
	}
	return dict
}

func TestJetstreamCompressed(t *testing.T) {
	dicts := map[string]func(t *testing.T) []byte{
		"built":     testDict,
		"jetstream": func(t *testing.T) []byte { return ingesttest.SharedData(t, "legacy_subscribe.zdict") },
	}
	for name, dict := range dicts {
		t.Run(name, func(t *testing.T) {
			d := dict(t)
			js := newFakeJetstream(t, d)
			reg := prometheus.NewRegistry()
			var c ingesttest.Collector
			ingesttest.RunSource(t, newJetstream(t, jetstream.Options{URLs: []string{js.URL()}, ZstdDict: d, Metrics: ingest.NewMetrics(reg)}), 0, &c)
			ingesttest.WaitFor(t, "a client", 5*time.Second, func() bool { return js.Clients() == 1 })
			js.Post("did:plc:alice", "3a", "Slack is down, 503 everywhere")
			js.Raw(websocket.BinaryMessage, []byte("not zstd at all"), false)
			last := js.Post("did:plc:alice", "3b", "still down")
			ingesttest.WaitFor(t, "two posts", 5*time.Second, func() bool { return c.LastCursor() == last })
			evs := c.Events()
			if len(evs) != 2 || evs[0].Text != "Slack is down, 503 everywhere" {
				t.Errorf("events %+v", evs)
			}
			if q := js.Queries()[0]; q.Get("compress") != "true" {
				t.Errorf("query %v does not ask for compression", q)
			}
			if n := ingesttest.MetricValue(t, reg, "downsignal_ingest_decode_errors_total", "source", "jetstream", "reason", "zstd"); n != 1 {
				t.Errorf("decode_errors_total{zstd} = %v, want 1", n)
			}
		})
	}
}

func TestJetstreamRewindsOnReconnect(t *testing.T) {
	js := newFakeJetstream(t, nil)
	var c ingesttest.Collector
	ingesttest.RunSource(t, newJetstream(t, jetstream.Options{URLs: []string{js.URL()}, Rewind: 3 * time.Second}), 0, &c)
	ingesttest.WaitFor(t, "a client", 5*time.Second, func() bool { return js.Clients() == 1 })
	js.Post("did:plc:a", "3a", "one")
	seen := js.Post("did:plc:a", "3b", "two")
	ingesttest.WaitFor(t, "two posts", 5*time.Second, func() bool { return c.LastCursor() == seen })

	js.DropClients()
	js.Post("did:plc:a", "3c", "three") // while we reconnect
	ingesttest.WaitFor(t, "a reconnect", 5*time.Second, func() bool { return len(js.Queries()) == 2 })
	last := js.Post("did:plc:a", "3d", "four")
	ingesttest.WaitFor(t, "the fourth post", 5*time.Second, func() bool { return c.LastCursor() == last })

	if got, want := ingesttest.PostURIs(c.Events()), []string{"at://did:plc:a/app.bsky.feed.post/3a", "at://did:plc:a/app.bsky.feed.post/3b", "at://did:plc:a/app.bsky.feed.post/3c", "at://did:plc:a/app.bsky.feed.post/3d"}; !slices.Equal(got, want) {
		t.Errorf("posts %v, want %v", got, want)
	}
	if q := js.Queries()[1]; q.Get("cursor") != strconv.FormatInt(seen-3_000_000, 10) {
		t.Errorf("reconnect cursor %q, want the last time_us %d minus 3s", q.Get("cursor"), seen)
	}
}

func TestJetstreamFailsOverBetweenEndpoints(t *testing.T) {
	a := newFakeJetstream(t, nil)
	b := newFakeJetstream(t, nil)
	reg := prometheus.NewRegistry()
	var c ingesttest.Collector
	// The first endpoint is down, the second serves, the third takes over.
	dead := "ws://127.0.0.1:1/subscribe"
	ingesttest.RunSource(t, newJetstream(t, jetstream.Options{URLs: []string{dead, a.URL(), b.URL()}, Metrics: ingest.NewMetrics(reg)}), 0, &c)
	ingesttest.WaitFor(t, "a client on the second endpoint", 5*time.Second, func() bool { return a.Clients() == 1 })
	seen := a.Post("did:plc:a", "3a", "from a")
	ingesttest.WaitFor(t, "the first post", 5*time.Second, func() bool { return c.LastCursor() == seen })

	a.Close()
	ingesttest.WaitFor(t, "a client on the third endpoint", 5*time.Second, func() bool { return b.Clients() == 1 })
	last := b.Post("did:plc:a", "3b", "from b")
	ingesttest.WaitFor(t, "the post from b", 5*time.Second, func() bool { return c.LastCursor() == last })
	if got := ingesttest.PostURIs(c.Events()); len(got) != 2 {
		t.Errorf("posts %v, want one from each endpoint", got)
	}
	if q := b.Queries()[0]; q.Get("cursor") == "" {
		t.Errorf("failover lost the cursor: %v", q)
	}
	if n := ingesttest.MetricValue(t, reg, "downsignal_ingest_reconnects_total", "source", "jetstream", "reason", "dial"); n < 1 {
		t.Errorf("the dead endpoint was not counted as a dial failure")
	}
}

func TestJetstreamSurvivesBadInput(t *testing.T) {
	js := newFakeJetstream(t, nil)
	reg := prometheus.NewRegistry()
	var c ingesttest.Collector
	ingesttest.RunSource(t, newJetstream(t, jetstream.Options{URLs: []string{js.URL()}, StallTimeout: 2 * time.Second, Metrics: ingest.NewMetrics(reg)}), 0, &c)
	ingesttest.WaitFor(t, "a client", 5*time.Second, func() bool { return js.Clients() == 1 })

	for _, m := range []string{
		``, `{`, `[]`, `{"kind":"commit"}`, `{"did":"did:plc:x","time_us":5,"kind":"rocket"}`,
		`{"did":"nope","time_us":6,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.post","rkey":"3a","record":{"text":"x"}}}`,
		`{"did":"did:plc:x","time_us":7,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.post","rkey":"../etc","record":{"text":"x"}}}`,
		`{"did":"did:plc:x","time_us":8,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.post","rkey":"3a","record":{"text":5}}}`,
		`{"did":"did:plc:x","time_us":9,"kind":"commit","commit":{"operation":"explode","collection":"app.bsky.feed.post","rkey":"3a"}}`,
		`{"did":"did:plc:x","time_us":-1,"kind":"identity"}`,
		"{\"did\":\"did:plc:x\",\"time_us\":10,\"kind\":\"commit\",\"commit\":{\"operation\":\"create\",\"collection\":\"app.bsky.feed.post\",\"rkey\":\"3u\",\"record\":{\"text\":\"bad \xff utf8\"}}}",
	} {
		js.Raw(websocket.TextMessage, []byte(m), false)
	}
	js.Raw(websocket.TextMessage, []byte(`{"did":"did:plc:x","kind":"commit","text":"`+strings.Repeat("x", 2<<20)+`"}`), false)
	last := js.Post("did:plc:a", "3z", "after the garbage")
	ingesttest.WaitFor(t, "the post after the garbage", 5*time.Second, func() bool { return c.LastCursor() == last })

	got := ingesttest.PostURIs(c.Events())
	if want := []string{"at://did:plc:a/app.bsky.feed.post/3z", "at://did:plc:x/app.bsky.feed.post/3u"}; !slices.Equal(got, want) {
		t.Errorf("posts %v, want %v", got, want)
	}
	if n := ingesttest.MetricValue(t, reg, "downsignal_ingest_decode_errors_total", "source", "jetstream", "reason", "json"); n != 10 {
		t.Errorf("decode_errors_total{json} = %v, want 10", n)
	}
	if n := ingesttest.MetricValue(t, reg, "downsignal_ingest_decode_errors_total", "source", "jetstream", "reason", "oversize"); n != 1 {
		t.Errorf("decode_errors_total{oversize} = %v, want 1", n)
	}
	if n := len(js.Queries()); n != 1 {
		t.Errorf("bad input cost %d reconnects", n-1)
	}
}
