package firehose_test

import (
	"bytes"
	"testing"
	"unicode/utf8"

	"github.com/bluesky-social/indigo/api/bsky"
	"github.com/downsignal/downsignal/ingest/firehose"
	"github.com/downsignal/downsignal/ingest/ingesttest"
)

func FuzzDecodeFrame(f *testing.F) {
	relay := ingesttest.NewRelay()
	defer relay.Close()
	a, err := ingesttest.NewAccount("did:plc:fuzz")
	if err != nil {
		f.Fatal(err)
	}
	relay.Create(a, ingesttest.Post{RKey: "3a", Text: "Outlook down?", Langs: []string{"en"}, Links: []string{"https://x.example"}, Tags: []string{"t"}, ReplyParent: "at://did:plc:x/app.bsky.feed.post/1", ReplyRoot: "at://did:plc:x/app.bsky.feed.post/1"})
	relay.Delete(a, "3a")
	relay.AccountStatus(a, false, "deactivated")
	relay.Identity(a, "fuzz.example")
	relay.Sync(a)
	for _, fr := range relay.History() {
		f.Add(fr)
	}
	f.Add(ingesttest.ErrorFrame("ConsumerTooSlow", "slow"))
	if b, err := ingesttest.ReadSharedData("frames.bin.zst"); err == nil && len(b) > 0 {
		for _, fr := range ingesttest.RecordedFrames(f)[:20] {
			f.Add(fr)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := firehose.DecodeFrame(b, "firehose")
		if err != nil {
			return
		}
		ingesttest.CheckEvents(t, fr.Events...)
		if !utf8.ValidString(fr.Name) || !utf8.ValidString(fr.Message) || len(fr.Name) > 100 || len(fr.Message) > 100 {
			t.Fatalf("name/message not bounded: %q %q", fr.Name, fr.Message)
		}
	})
}

// FuzzPostRecord feeds arbitrary record bytes through a real signed commit.
func FuzzPostRecord(f *testing.F) {
	var b bytes.Buffer
	(&bsky.FeedPost{LexiconTypeID: "app.bsky.feed.post", Text: "hello", CreatedAt: "2026-01-22T19:31:12Z", Langs: []string{"en"}}).MarshalCBOR(&b)
	f.Add(b.Bytes())
	a, err := ingesttest.NewAccount("did:plc:fuzz")
	if err != nil {
		f.Fatal(err)
	}
	relay := ingesttest.NewRelay()
	defer relay.Close()
	n := 0
	f.Fuzz(func(t *testing.T, rec []byte) {
		n++
		if _, err := relay.Commit(a, []ingesttest.Change{{Path: "app.bsky.feed.post/3r" + string(rune('a'+n%26)) + "x", Record: rec}}); err != nil {
			t.Skip(err)
		}
		h := relay.History()
		fr, err := firehose.DecodeFrame(h[len(h)-1], "firehose")
		if err != nil {
			t.Fatalf("a valid commit did not decode: %v", err)
		}
		ingesttest.CheckEvents(t, fr.Events...)
	})
}
