package apptest_test

import (
	"testing"
	"time"

	"github.com/downsignal/downsignal/ingest/jetstream"
	"github.com/downsignal/downsignal/internal/apptest"
	"github.com/downsignal/downsignal/record"
)

// The lines the harness writes are ones the real Jetstream decoder reads
// back as the post they describe.
func TestJetstreamPostDecodes(t *testing.T) {
	at := time.Date(2026, 1, 22, 19, 31, 12, 345_000_000, time.UTC)
	line := apptest.JetstreamPost("did:plc:bob", "3bbb", at, "Outlook down? 451 4.3.2")
	const want = `{"did":"did:plc:bob","time_us":1769110272345000,"kind":"commit","commit":{"rev":"r1","operation":"create","collection":"app.bsky.feed.post","rkey":"3bbb","record":{"$type":"app.bsky.feed.post","createdAt":"2026-01-22T19:31:10.345Z","langs":["en"],"text":"Outlook down? 451 4.3.2"},"cid":"bafy3bbb"}}`
	if line != want {
		t.Errorf("line\n%s\nwant\n%s", line, want)
	}
	ev, _, err := jetstream.Decode([]byte(line), "replay")
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if ev.Kind != record.KindPost || ev.URI != "at://did:plc:bob/app.bsky.feed.post/3bbb" || ev.CID != "bafy3bbb" ||
		!ev.Time.Equal(at) || !ev.CreatedAt.Equal(at.Add(-2*time.Second)) || ev.Text != "Outlook down? 451 4.3.2" {
		t.Errorf("decoded %+v, want bob's post 3bbb at %v", ev, at)
	}
}
