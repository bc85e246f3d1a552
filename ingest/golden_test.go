package ingest_test

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/downsignal/downsignal/ingest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestGoldenEventsV1 pins schema v1 of downsignal.posts: the sample
// Jetstream messages must encode to exactly the golden records. Run with
// -update after a deliberate change, and bump SchemaVersion when the change
// is not backward compatible.
func TestGoldenEventsV1(t *testing.T) {
	in, err := os.ReadFile(filepath.Join("testdata", "jetstream_v1_sample.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(in))
	for sc.Scan() {
		ev, _, err := ingest.DecodeJetstream(sc.Bytes(), "jetstream")
		if errors.Is(err, ingest.ErrIgnored) {
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
	golden := filepath.Join("testdata", "posts_v1.golden.jsonl")
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

// TestGoldenRecordsDecode checks that every golden record still decodes and
// re-encodes byte for byte: consumers of v1 records keep working.
func TestGoldenRecordsDecode(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "posts_v1.golden.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[ingest.Kind]int{}
	for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		ev, err := ingest.DecodeEvent(line)
		if err != nil {
			t.Fatalf("golden record %s: %v", line, err)
		}
		kinds[ev.Kind]++
		again, err := ev.Marshal()
		if err != nil || !bytes.Equal(again, line) {
			t.Errorf("round trip changed the record:\n%s\n%s", line, again)
		}
	}
	if kinds[ingest.KindPost] != 4 || kinds[ingest.KindDelete] != 1 || kinds[ingest.KindAccount] != 2 {
		t.Errorf("golden kinds %v, want 4 posts, 1 delete, 2 account events", kinds)
	}
}
