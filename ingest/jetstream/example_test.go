package jetstream_test

import (
	"fmt"
	"time"

	"github.com/downsignal/downsignal/ingest/jetstream"
)

func ExampleDecode() {
	msg := `{"did":"did:plc:ewvi7nxzyoun6zhxrhs64oiz","time_us":1769110272123456,"kind":"commit","commit":{"rev":"3mdadxqzsum2a","operation":"create","collection":"app.bsky.feed.post","rkey":"3mdadxqyd4k2a","record":{"$type":"app.bsky.feed.post","createdAt":"2026-01-22T19:31:10.512Z","langs":["en"],"text":"Outlook down? 451 4.3.2"},"cid":"bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"}}`
	ev, cursor, err := jetstream.Decode([]byte(msg), "jetstream")
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
