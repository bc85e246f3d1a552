package jetstream_test

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/downsignal/downsignal/ingest/jetstream"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestGoldenEventsV1 pins schema v1 of downsignal.posts: the sample
// Jetstream messages must encode to exactly the golden records. Run with
// -update after a deliberate change, and bump record.EventVersion when the change
// is not backward compatible.
func TestGoldenEventsV1(t *testing.T) {
	in, err := os.ReadFile(filepath.Join("testdata", "jetstream_v1_sample.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(in))
	for sc.Scan() {
		ev, _, err := jetstream.Decode(sc.Bytes(), "jetstream")
		if errors.Is(err, jetstream.ErrIgnored) {
			continue
		}
		if err != nil {
			t.Fatalf("sample %s: %v", sc.Bytes(), err)
		}
		b, err := ev.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		out.Write(b)
		out.WriteByte('\n')
	}
	// The golden records belong to package record, which pins their decoding.
	golden := filepath.Join("..", "..", "record", "testdata", "posts_v1.golden.jsonl")
	if *update {
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Errorf("events differ from %s (run with -update if intended):\ngot:\n%s\nwant:\n%s", golden, out.Bytes(), want)
	}
}
