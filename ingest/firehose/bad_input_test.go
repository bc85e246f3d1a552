package firehose_test

import (
	"bytes"
	"slices"
	"testing"
	"time"

	comatproto "github.com/bluesky-social/indigo/api/atproto"
	"github.com/bluesky-social/indigo/api/bsky"
	"github.com/bluesky-social/indigo/atproto/identity"
	lexutil "github.com/bluesky-social/indigo/lex/util"
	"github.com/gorilla/websocket"
	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"

	"github.com/downsignal/downsignal/ingest/firehose"
	"github.com/downsignal/downsignal/ingest/firehose/verify"
	"github.com/downsignal/downsignal/ingest/ingesttest"
	"github.com/downsignal/downsignal/record"
)

// badFrames are relay messages a decoder must survive: each is counted
// and skipped.
func badFrames(t *testing.T, valid []byte) [][]byte {
	t.Helper()
	someCID, _ := cid.NewPrefixV1(cid.DagCBOR, multihash.SHA2_256).Sum([]byte("x"))
	commit := func(blocks []byte, repo string) []byte {
		f, err := ingesttest.Frame("#commit", &comatproto.SyncSubscribeRepos_Commit{
			Repo: repo, Rev: "3l3qo2vutsw2b", Seq: 99, Time: "2026-01-22T19:31:12.000Z",
			Blobs: []lexutil.LexLink{}, Commit: lexutil.LexLink(someCID), Blocks: blocks,
			Ops: []*comatproto.SyncSubscribeRepos_RepoOp{{Action: "create", Path: "app.bsky.feed.post/3bad", Cid: (*lexutil.LexLink)(&someCID)}},
		})
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	return [][]byte{
		nil,
		{0xff, 0x00, 0x13},
		valid[:len(valid)/2], // truncated frame
		append([]byte{0xa1, 0x62, 'o', 'p', 0x07}, 0xa0), // unknown op 7
		{0xa2, 0x61, 't', 0x67, '#', 'c', 'o', 'm', 'm', 'i', 't', 0x62, 'o', 'p', 0x01, 0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, // absurd length
		commit([]byte{0x05, 0xa1}, "did:plc:mallory"),                         // truncated CAR
		commit([]byte{0x01, 0xa0, 0x05, 0x01, 0x71, 0x12}, "did:plc:mallory"), // CAR with a broken CID
		commit(nil, "did:plc:mallory"),                                        // record block missing
		commit(nil, "not a did"),
		commit(nil, "did:plc:\xff\xfe"),
	}
}

func TestFirehoseSurvivesBadInput(t *testing.T) {
	relay := ingesttest.NewRelay()
	defer relay.Close()
	alice := ingesttest.MustAccount(t, "did:plc:alice")
	var c ingesttest.Collector
	reg := connect(t, relay, firehose.Options{MaxFrameBytes: 64 << 10}, &c)
	first := ingesttest.Posts(t, relay, alice, "3a", 1)
	ingesttest.WaitFor(t, "the first post", 5*time.Second, func() bool { return len(c.Events()) == 1 })

	for _, f := range badFrames(t, relay.History()[0]) {
		relay.Raw(websocket.BinaryMessage, f)
	}
	relay.Raw(websocket.TextMessage, []byte(`{"op":1,"t":"#commit"}`))
	relay.Raw(websocket.BinaryMessage, bytes.Repeat([]byte{0xa2}, 100<<10)) // over MaxFrameBytes
	unknown, _ := ingesttest.Frame("#labels", &comatproto.SyncSubscribeRepos_Info{Name: "x"})
	relay.Raw(websocket.BinaryMessage, unknown)

	// Records that are not what they claim to be, in real signed commits.
	badUTF8 := postRecord(t, bsky.FeedPost{LexiconTypeID: "app.bsky.feed.post", Text: "Teams \xff\xfe down", CreatedAt: "2026-01-22T19:31:12Z"})
	notAPost := []byte{0xa1, 0x64, 't', 'e', 'x', 't', 0x05} // {"text": 5}
	if _, err := relay.Commit(alice, []ingesttest.Change{
		{Path: "app.bsky.feed.post/3utf", Record: badUTF8},
		{Path: "app.bsky.feed.post/3num", Record: notAPost},
		{Path: "app.bsky.feed.post/3good", Record: postRecord(t, bsky.FeedPost{Text: "still here", CreatedAt: "2026-01-22T19:31:12Z"})},
	}); err != nil {
		t.Fatal(err)
	}
	last := ingesttest.Posts(t, relay, alice, "3z", 1)

	ingesttest.WaitFor(t, "the post after the bad input", 5*time.Second, func() bool { return slices.Contains(ingesttest.PostURIs(c.Events()), last[0]) })
	want := ingesttest.Sorted(append(append(first, last...), record.PostURI(alice.DID, "3utf"), record.PostURI(alice.DID, "3good")))
	if got := ingesttest.PostURIs(c.Events()); !slices.Equal(got, want) {
		t.Errorf("posts %v, want %v", got, want)
	}
	for _, ev := range c.Events() {
		if ev.URI == record.PostURI(alice.DID, "3utf") && ev.Text != "Teams \uFFFD down" {
			t.Errorf("invalid UTF-8 text became %q", ev.Text)
		}
	}
	if len(relay.Cursors()) != 1 {
		t.Errorf("bad input cost a reconnect: cursors %q", relay.Cursors())
	}
	frameErrs := ingesttest.MetricValue(t, reg, "downsignal_ingest_decode_errors_total", "source", "firehose", "reason", "frame")
	recordErrs := ingesttest.MetricValue(t, reg, "downsignal_ingest_decode_errors_total", "source", "firehose", "reason", "record")
	oversize := ingesttest.MetricValue(t, reg, "downsignal_ingest_decode_errors_total", "source", "firehose", "reason", "oversize")
	// 7 unusable frames and the text message; 3 commits whose post op
	// fails (truncated CAR, broken CID, missing block) and the {"text": 5}
	// record.
	if frameErrs != 8 || recordErrs != 4 || oversize != 1 {
		t.Errorf("decode errors frame=%v record=%v oversize=%v, want 8, 4, 1", frameErrs, recordErrs, oversize)
	}
	if n := ingesttest.MetricValue(t, reg, "downsignal_ingest_events_total", "source", "firehose", "kind", "unknown"); n < 1 {
		t.Errorf("unknown frame type not counted")
	}
}

func postRecord(t *testing.T, p bsky.FeedPost) []byte {
	t.Helper()
	p.LexiconTypeID = "app.bsky.feed.post"
	var b bytes.Buffer
	if err := p.MarshalCBOR(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestFirehoseVerification(t *testing.T) {
	relay := ingesttest.NewRelay()
	defer relay.Close()
	alice := ingesttest.MustAccount(t, "did:plc:alice")
	mallory := ingesttest.MustAccount(t, "did:plc:mallory")
	impostor := ingesttest.MustAccount(t, "did:plc:mallory") // signs with another key
	dir := identity.NewMockDirectory()
	for _, a := range []*ingesttest.Account{alice, mallory} {
		id, err := a.Identity()
		if err != nil {
			t.Fatal(err)
		}
		dir.Insert(id)
	}
	var c ingesttest.Collector
	reg := connect(t, relay, firehose.Options{Verifier: verify.New(dir)}, &c)
	want := ingesttest.Posts(t, relay, alice, "3a", 3)
	want = append(want, ingesttest.Posts(t, relay, mallory, "3m", 1)...)
	ingesttest.Posts(t, relay, impostor, "3x", 1)
	mustSeq(t)(relay.Delete(alice, "3a0"))
	last := relay.AccountStatus(alice, true, "")
	ingesttest.WaitFor(t, "the last frame", 5*time.Second, func() bool { return c.LastCursor() == last })

	if got := ingesttest.PostURIs(c.Events()); !slices.Equal(got, ingesttest.Sorted(want)) {
		t.Errorf("verified posts %v, want %v", got, ingesttest.Sorted(want))
	}
	if n := ingesttest.MetricValue(t, reg, "downsignal_ingest_verify_failures_total", "source", "firehose"); n != 1 {
		t.Errorf("verify_failures_total = %v, want 1 (the impostor)", n)
	}
	if evs := c.Events(); evs[len(evs)-2].Kind != record.KindDelete {
		t.Errorf("the verified delete did not come through: %+v", evs[len(evs)-2])
	}
}

// A relay whose clock says the year 5138 makes commits that did not happen
// yet: their posts are refused and counted, the stream goes on. A post
// whose createdAt is a day after its commit keeps its commit time and
// loses the createdAt.
func TestFirehoseRefusesFutureCommitTimes(t *testing.T) {
	relay := ingesttest.NewRelay()
	defer relay.Close()
	alice := ingesttest.MustAccount(t, "did:plc:alice")
	var c ingesttest.Collector
	reg := connect(t, relay, firehose.Options{}, &c)

	relay.SetClock(func() time.Time { return time.UnixMicro(99999999999999999) })
	if _, err := relay.Create(alice, ingesttest.Post{RKey: "3fut", Text: "Outlook down, from the future"}); err != nil {
		t.Fatal(err)
	}
	relay.SetClock(time.Now)
	if _, err := relay.Create(alice, ingesttest.Post{RKey: "3late", Text: "Outlook down", CreatedAt: time.Now().Add(24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	last := ingesttest.Posts(t, relay, alice, "3z", 1)

	ingesttest.WaitFor(t, "the post after the future one", 5*time.Second, func() bool { return slices.Contains(ingesttest.PostURIs(c.Events()), last[0]) })
	want := ingesttest.Sorted(append(last, record.PostURI(alice.DID, "3late")))
	if got := ingesttest.PostURIs(c.Events()); !slices.Equal(got, want) {
		t.Errorf("posts %v, want %v", got, want)
	}
	for _, ev := range c.Events() {
		if ev.URI == record.PostURI(alice.DID, "3late") && (!ev.CreatedAt.IsZero() || time.Since(ev.Time) > time.Minute) {
			t.Errorf("post created a day after its commit: time %v created_at %v, want the commit time and none", ev.Time, ev.CreatedAt)
		}
	}
	if n := ingesttest.MetricValue(t, reg, "downsignal_ingest_decode_errors_total", "source", "firehose", "reason", "record"); n != 1 {
		t.Errorf("record decode errors %v, want 1 (the post from 5138)", n)
	}
}
