package firehose_test

import (
	"context"
	"fmt"

	"github.com/downsignal/downsignal/ingest"
	"github.com/downsignal/downsignal/ingest/firehose"
	"github.com/downsignal/downsignal/ingest/ingesttest"
)

// A firehose Source following a relay (here a fake one on loopback),
// resuming after seq 1.
func ExampleSource() {
	relay := ingesttest.NewRelay()
	defer relay.Close()
	alice, _ := ingesttest.NewAccount("did:plc:alice")
	relay.Create(alice, ingesttest.Post{RKey: "3a", Text: "before the restart"})
	relay.Create(alice, ingesttest.Post{RKey: "3b", Text: "Teams is down for everyone here"})
	relay.Delete(alice, "3b")

	src, err := firehose.New(firehose.Options{URL: relay.URL()})
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
