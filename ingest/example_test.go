package ingest_test

import (
	"context"
	"fmt"
	"time"

	"github.com/downsignal/downsignal/ingest"
	"github.com/downsignal/downsignal/ingest/ingesttest"
)

func ExampleDecodeJetstream() {
	msg := `{"did":"did:plc:ewvi7nxzyoun6zhxrhs64oiz","time_us":1769110272123456,"kind":"commit","commit":{"rev":"3mdadxqzsum2a","operation":"create","collection":"app.bsky.feed.post","rkey":"3mdadxqyd4k2a","record":{"$type":"app.bsky.feed.post","createdAt":"2026-01-22T19:31:10.512Z","langs":["en"],"text":"Outlook down? 451 4.3.2"},"cid":"bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"}}`
	ev, cursor, err := ingest.DecodeJetstream([]byte(msg), "jetstream")
	if err != nil {
		panic(err)
	}
	fmt.Println(ev.Kind, ev.URI)
	fmt.Println(ev.Text, ev.Langs, ev.Time.Format(time.RFC3339Nano))
	fmt.Println("cursor", cursor)
	// Output:
	// post at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.bsky.feed.post/3mdadxqyd4k2a
	// Outlook down? 451 4.3.2 [en] 2026-01-22T19:31:12.123456Z
	// cursor 1769110272123456
}

// A Firehose source following a relay (here a fake one on loopback),
// resuming after seq 1.
func ExampleFirehose() {
	relay := ingesttest.NewRelay()
	defer relay.Close()
	alice, _ := ingesttest.NewAccount("did:plc:alice")
	relay.Create(alice, ingesttest.Post{RKey: "3a", Text: "before the restart"})
	relay.Create(alice, ingesttest.Post{RKey: "3b", Text: "Teams is down for everyone here"})
	relay.Delete(alice, "3b")

	src, err := ingest.NewFirehose(ingest.FirehoseOptions{URL: relay.URL()})
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	src.Run(ctx, 1, func(ctx context.Context, it ingest.Item) error {
		fmt.Println(it.Cursor, it.Event.Kind, it.Event.URI, it.Event.Text)
		if it.Cursor == 3 {
			cancel()
		}
		return nil
	})
	// Output:
	// 2 post at://did:plc:alice/app.bsky.feed.post/3b Teams is down for everyone here
	// 3 delete at://did:plc:alice/app.bsky.feed.post/3b
}
