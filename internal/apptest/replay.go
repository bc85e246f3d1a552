package apptest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/downsignal/downsignal/record"
)

// JetstreamPost is the Jetstream v1 message of an English post create by
// did at t (created two seconds before), with a CID made from rkey.
func JetstreamPost(did, rkey string, t time.Time, text string) string {
	return JetstreamLine(record.Event{DID: did, URI: record.PostURI(did, rkey), CID: "bafy" + rkey,
		Time: t, CreatedAt: t.Add(-2 * time.Second), Text: text, Langs: []string{"en"}})
}

// JetstreamLine is the Jetstream v1 message creating ev, a post: its
// record holds the text, creation time and languages.
func JetstreamLine(ev record.Event) string {
	rkey := ev.URI[strings.LastIndexByte(ev.URI, '/')+1:]
	rec, _ := json.Marshal(map[string]any{"$type": "app.bsky.feed.post", "text": ev.Text,
		"createdAt": ev.CreatedAt.Format(time.RFC3339Nano), "langs": ev.Langs})
	return fmt.Sprintf(`{"did":%q,"time_us":%d,"kind":"commit","commit":{"rev":"r1","operation":"create","collection":"app.bsky.feed.post","rkey":%q,"record":%s,"cid":%q}}`,
		ev.DID, ev.Time.UnixMicro(), rkey, rec, ev.CID)
}

// WriteReplay writes lines to a replay file in a temporary directory and
// returns its path, for Options.Source "replay:" + path.
func WriteReplay(tb testing.TB, lines ...string) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "capture.jsonl")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}
