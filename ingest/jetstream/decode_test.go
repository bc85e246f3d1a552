package jetstream_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/downsignal/downsignal/ingest/jetstream"
)

// post is a Jetstream post create at timeUS whose record says createdAt.
func post(timeUS int64, createdAt string) string {
	return fmt.Sprintf(`{"did":"did:plc:x","time_us":%d,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.post","rkey":"3a","record":{"text":"Outlook down?","createdAt":%q}}}`, timeUS, createdAt)
}

// Messages that carry nothing a post can be made of are errors, counted
// and logged by the source, never ErrIgnored (which skips silently).
func TestDecodeRefusesBadMessages(t *testing.T) {
	now := time.Now()
	for name, msg := range map[string]string{
		"commit body a string":          `{"did":"did:plc:x","time_us":5,"kind":"commit","commit":"x"}`,
		"commit body a number":          `{"did":"did:plc:x","time_us":5,"kind":"commit","commit":7}`,
		"commit body an array":          `{"did":"did:plc:x","time_us":5,"kind":"commit","commit":["x"]}`,
		"commit body null":              `{"did":"did:plc:x","time_us":5,"kind":"commit","commit":null}`,
		"collection a number":           `{"did":"did:plc:x","time_us":5,"kind":"commit","commit":{"operation":"create","collection":5,"rkey":"3a"}}`,
		"time_us a string":              `{"did":"did:plc:x","time_us":"5","kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.like","rkey":"3a"}}`,
		"account body a string":         `{"did":"did:plc:x","time_us":5,"kind":"account","account":"x"}`,
		"time_us in year 5138":          post(99999999999999999, "2026-01-22T19:31:12Z"),
		"time_us a day ahead":           post(now.Add(24*time.Hour).UnixMicro(), "2026-01-22T19:31:12Z"),
		"no time_us, createdAt in 5138": post(0, "5138-11-16T09:46:39Z"),
	} {
		t.Run(name, func(t *testing.T) {
			ev, _, err := jetstream.Decode([]byte(msg), "replay")
			if err == nil || errors.Is(err, jetstream.ErrIgnored) {
				t.Fatalf("Decode(%s) = %+v, %v; want an error that is not ErrIgnored", msg, ev, err)
			}
		})
	}
}

// A record of another collection stays ignored, whatever its shape.
func TestDecodeIgnoresOtherCollections(t *testing.T) {
	msg := `{"did":"did:plc:x","time_us":5,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.like","rkey":"3a","record":{"text":5}}}`
	if _, cursor, err := jetstream.Decode([]byte(msg), "replay"); !errors.Is(err, jetstream.ErrIgnored) || cursor != 5 {
		t.Fatalf("got cursor %d, %v; want 5 and ErrIgnored", cursor, err)
	}
}

// The event time (time_us) places a post; createdAt is the author's
// client's claim. An earlier createdAt is kept, however old (an imported
// post); one later than the event by more than the allowed clock skew is
// dropped and the post kept.
func TestDecodeCreatedAtAgainstEventTime(t *testing.T) {
	at := time.Date(2026, 1, 22, 19, 31, 12, 0, time.UTC)
	for _, tc := range []struct {
		createdAt string
		want      time.Time
	}{
		{"2026-01-22T19:31:10Z", time.Date(2026, 1, 22, 19, 31, 10, 0, time.UTC)},
		{"2026-01-22T19:36:12Z", time.Date(2026, 1, 22, 19, 36, 12, 0, time.UTC)}, // 5 min of client clock drift
		{"2009-03-01T12:00:00Z", time.Date(2009, 3, 1, 12, 0, 0, 0, time.UTC)},    // imported from elsewhere
		{"2026-01-23T19:31:12Z", time.Time{}},                                     // a day after it was seen
		{"5138-11-16T09:46:39Z", time.Time{}},
		{"1601-01-01T00:00:00Z", time.Time{}},
		{"yesterday", time.Time{}},
	} {
		ev, _, err := jetstream.Decode([]byte(post(at.UnixMicro(), tc.createdAt)), "replay")
		if err != nil {
			t.Fatalf("createdAt %s: %v", tc.createdAt, err)
		}
		if !ev.Time.Equal(at) || !ev.CreatedAt.Equal(tc.want) {
			t.Errorf("createdAt %s: time %v created_at %v; want %v and %v", tc.createdAt, ev.Time, ev.CreatedAt, at, tc.want)
		}
	}
}
