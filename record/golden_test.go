package record_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/downsignal/downsignal/record"
)

// TestGoldenRecordsDecode checks that every golden record still decodes and
// re-encodes byte for byte: consumers of v1 records keep working.
func TestGoldenRecordsDecode(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "posts_v1.golden.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[record.Kind]int{}
	for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		ev, err := record.DecodeEvent(line)
		if err != nil {
			t.Fatalf("golden record %s: %v", line, err)
		}
		kinds[ev.Kind]++
		again, err := ev.Marshal()
		if err != nil || !bytes.Equal(again, line) {
			t.Errorf("round trip changed the record:\n%s\n%s", line, again)
		}
	}
	if kinds[record.KindPost] != 4 || kinds[record.KindDelete] != 1 || kinds[record.KindAccount] != 2 {
		t.Errorf("golden kinds %v, want 4 posts, 1 delete, 2 account events", kinds)
	}
}
