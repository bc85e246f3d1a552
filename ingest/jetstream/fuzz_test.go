package jetstream_test

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/downsignal/downsignal/ingest/ingesttest"
	"github.com/downsignal/downsignal/ingest/jetstream"
)

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
		ev, _, err := jetstream.Decode(b, "jetstream")
		if err != nil {
			return
		}
		ingesttest.CheckEvents(t, ev)
	})
}
