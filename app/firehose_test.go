package app_test

import (
	"fmt"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/downsignal/downsignal/app"
	"github.com/downsignal/downsignal/broker"
	"github.com/downsignal/downsignal/ingest/ingesttest"
	"github.com/downsignal/downsignal/internal/apptest"
	"github.com/downsignal/downsignal/record"
)

// eventually polls check until it returns "" or the deadline passes, then
// fails with check's last complaint.
func eventually(t *testing.T, d time.Duration, p *apptest.Process, check func() string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		msg := check()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s; logs:\n%s", d, msg, p.Logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// outlookTrendNow sums the Outlook outage posts counted around now.
func outlookTrendNow(t *testing.T, p *apptest.Process) int {
	now := time.Now().UTC()
	q := url.Values{
		"service": {"Outlook"}, "step": {"1m"},
		"since": {now.Add(-10 * time.Minute).Truncate(time.Minute).Format(time.RFC3339)},
		"until": {now.Add(10 * time.Minute).Truncate(time.Minute).Format(time.RFC3339)},
	}
	var tr trendResponse
	p.Get(t, "/v1/trends?"+q.Encode(), &tr)
	n := 0
	for _, pt := range tr.Points {
		n += pt.Posts
	}
	return n
}

func TestRunFirehosePostIsSearchableThenDeleted(t *testing.T) {
	relay := ingesttest.NewRelay()
	defer relay.Close()
	bob, err := ingesttest.NewAccount("did:plc:bob")
	if err != nil {
		t.Fatal(err)
	}
	p := apptest.Start(t, app.Options{DataDir: t.TempDir(), Source: "firehose", RelayURL: relay.URL()})
	eventually(t, 20*time.Second, p, func() string {
		if relay.Clients() != 1 {
			return "ingest did not connect to the relay"
		}
		return ""
	})

	if _, err := relay.Create(bob, ingesttest.Post{RKey: "3bbb", Text: outagePost, Langs: []string{"en"}}); err != nil {
		t.Fatal(err)
	}
	uri := record.PostURI(bob.DID, "3bbb")
	search := "/v1/search?q=" + url.QueryEscape("4.3.2")
	eventually(t, 30*time.Second, p, func() string {
		var res searchResponse
		p.Get(t, search, &res)
		if res.Total != 1 || res.Hits[0].URI != uri || res.Hits[0].Text != outagePost {
			return fmt.Sprintf("search: %+v, want the relay's post", res)
		}
		if n := outlookTrendNow(t, p); n != 1 {
			return fmt.Sprintf("Outlook outage posts counted: %d, want 1", n)
		}
		return ""
	})

	if _, err := relay.Delete(bob, "3bbb"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, p, func() string {
		var res searchResponse
		p.Get(t, search, &res)
		if res.Total != 0 {
			return fmt.Sprintf("after the delete, search still finds %+v", res.Hits)
		}
		if n := outlookTrendNow(t, p); n != 0 {
			return fmt.Sprintf("after the delete, Outlook outage posts counted: %d, want 0", n)
		}
		return ""
	})
}

// A post removed from its repository without a commit (an import, a
// migration) leaves the index once the relay sends #sync: run --resync
// fetches the repository from the account's PDS and drops what it no
// longer holds, from search and from the counts; the other post stays.
func TestRunFirehoseSyncRemovesPostsTheRepositoryLost(t *testing.T) {
	relay := ingesttest.NewRelay()
	defer relay.Close()
	pds := ingesttest.NewPDS()
	defer pds.Close()
	bob, err := ingesttest.NewAccount("did:plc:bob")
	if err != nil {
		t.Fatal(err)
	}
	if err := pds.Host(bob); err != nil {
		t.Fatal(err)
	}
	p := apptest.Start(t, app.Options{DataDir: t.TempDir(), Source: "firehose", RelayURL: relay.URL(),
		Resync: true, Verify: true, Directory: pds.Directory(), ResyncAllowNets: []string{"127.0.0.0/8"}})
	eventually(t, 20*time.Second, p, func() string {
		if relay.Clients() != 1 {
			return "ingest did not connect to the relay"
		}
		return ""
	})
	for _, rkey := range []string{"3kept", "3lost"} {
		if _, err := relay.Create(bob, ingesttest.Post{RKey: rkey, Text: outagePost + " " + rkey, Langs: []string{"en"}}); err != nil {
			t.Fatal(err)
		}
	}
	search := "/v1/search?q=" + url.QueryEscape("4.3.2")
	eventually(t, 30*time.Second, p, func() string {
		var res searchResponse
		p.Get(t, search, &res)
		if res.Total != 2 || outlookTrendNow(t, p) != 2 {
			return fmt.Sprintf("search: %d hits, want both posts", res.Total)
		}
		return ""
	})

	if err := bob.Forget("3lost"); err != nil {
		t.Fatal(err)
	}
	if _, err := relay.Sync(bob); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, p, func() string {
		var res searchResponse
		p.Get(t, search, &res)
		if res.Total != 1 || res.Hits[0].URI != record.PostURI(bob.DID, "3kept") {
			return fmt.Sprintf("after #sync, search finds %+v, want only 3kept", res.Hits)
		}
		if n := outlookTrendNow(t, p); n != 1 {
			return fmt.Sprintf("after #sync, Outlook outage posts counted: %d, want 1", n)
		}
		return ""
	})
	if n := pds.Fetches(bob.DID); n != 1 {
		t.Errorf("repository fetched %d times, want 1", n)
	}
}

// TestBrokerRestartMidStreamIndexesEveryPostOnce stops the broker while
// the relay streams posts and starts it again on the same data directory:
// every post ends up searchable and counted exactly once.
func TestBrokerRestartMidStreamIndexesEveryPostOnce(t *testing.T) {
	brokerDir := t.TempDir()
	emb, err := broker.StartEmbedded(broker.EmbeddedOptions{DataDir: brokerDir, Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	addr := emb.Addr()
	defer func() { emb.Close() }()

	relay := ingesttest.NewRelay()
	defer relay.Close()
	authors := make([]*ingesttest.Account, 5)
	for i := range authors {
		if authors[i], err = ingesttest.NewAccount(fmt.Sprintf("did:plc:author%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	p := apptest.Start(t, app.Options{DataDir: t.TempDir(), Brokers: []string{addr}, Source: "firehose", RelayURL: relay.URL()})
	eventually(t, 20*time.Second, p, func() string {
		if relay.Clients() != 1 {
			return "ingest did not connect to the relay"
		}
		return ""
	})

	const total = 300
	var want []string
	post := func(i int) {
		a := authors[i%len(authors)]
		rkey := fmt.Sprintf("3post%04d", i)
		if _, err := relay.Create(a, ingesttest.Post{RKey: rkey, Text: fmt.Sprintf("Outlook down again, 451 4.3.2 (report %d)", i), Langs: []string{"en"}}); err != nil {
			t.Fatal(err)
		}
		want = append(want, record.PostURI(a.DID, rkey))
	}
	for i := range total / 3 {
		post(i)
	}
	time.Sleep(300 * time.Millisecond)
	emb.Close()
	for i := total / 3; i < 2*total/3; i++ { // the relay keeps streaming
		post(i)
		time.Sleep(2 * time.Millisecond)
	}
	if emb, err = broker.StartEmbedded(broker.EmbeddedOptions{DataDir: brokerDir, Addr: addr}); err != nil {
		t.Fatalf("restart the broker on %s: %v", addr, err)
	}
	for i := 2 * total / 3; i < total; i++ {
		post(i)
	}

	slices.Sort(want)
	eventually(t, 60*time.Second, p, func() string {
		var res searchResponse
		p.Get(t, "/v1/search?limit=500", &res)
		var got []string
		for _, h := range res.Hits {
			got = append(got, h.URI)
		}
		slices.Sort(got)
		if res.Total != total || !slices.Equal(got, want) {
			return fmt.Sprintf("indexed %d posts (%d hits), want %d", res.Total, len(got), total)
		}
		if n := outlookTrendNow(t, p); n != total {
			return fmt.Sprintf("Outlook outage posts counted %d, want %d", n, total)
		}
		return ""
	})
}
