package ingest_test

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"

	"github.com/bluesky-social/indigo/api/bsky"

	"github.com/downsignal/downsignal/ingest"
	"github.com/downsignal/downsignal/ingest/ingesttest"
	"github.com/downsignal/downsignal/record"
)

// checkEvents holds every event a decoder lets through to the rules the
// rest of the pipeline relies on.
func checkEvents(t *testing.T, evs ...record.Event) {
	t.Helper()
	for _, ev := range evs {
		if err := ev.Validate(); err != nil {
			t.Fatalf("decoder returned an invalid event %+v: %v", ev, err)
		}
		if !utf8.ValidString(ev.Text) || len(ev.Text) > record.MaxTextBytes {
			t.Fatalf("text not cleaned: %q", ev.Text)
		}
		for _, s := range append(append(append([]string{ev.ReplyParent, ev.ReplyRoot, ev.CID, ev.Status}, ev.Langs...), ev.Links...), ev.Tags...) {
			if !utf8.ValidString(s) || len(s) > 2048 {
				t.Fatalf("field not cleaned: %q", s)
			}
		}
	}
}

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
	if b, err := os.ReadFile(sharedData + "frames.bin.zst"); err == nil && len(b) > 0 {
		for _, fr := range recordedFrames(f)[:20] {
			f.Add(fr)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := ingest.DecodeFrame(b, "firehose")
		if err != nil {
			return
		}
		checkEvents(t, fr.Events...)
		if !utf8.ValidString(fr.Name) || !utf8.ValidString(fr.Message) || len(fr.Name) > 100 || len(fr.Message) > 100 {
			t.Fatalf("name/message not bounded: %q %q", fr.Name, fr.Message)
		}
	})
}

func FuzzDecodeJetstream(f *testing.F) {
	in, err := os.ReadFile(filepath.Join("testdata", "jetstream_v1_sample.jsonl"))
	if err != nil {
		f.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(in))
	for sc.Scan() {
		f.Add(bytes.Clone(sc.Bytes()))
	}
	f.Add([]byte(`{"did":"did:plc:x","time_us":1,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.post","rkey":"3a","record":{"text":"\udc00 bad surrogate","langs":[1]}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, _, err := ingest.DecodeJetstream(b, "jetstream")
		if err != nil {
			return
		}
		checkEvents(t, ev)
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
		fr, err := ingest.DecodeFrame(h[len(h)-1], "firehose")
		if err != nil {
			t.Fatalf("a valid commit did not decode: %v", err)
		}
		checkEvents(t, fr.Events...)
	})
}
