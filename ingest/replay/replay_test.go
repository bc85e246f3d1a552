package replay_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/downsignal/downsignal/ingest/replay"
)

func TestIdentityFollowsTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "capture.jsonl")
	write := func(s string) string {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		src, err := replay.New(replay.Options{Path: path})
		if err != nil {
			t.Fatal(err)
		}
		id, err := src.Identity()
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	a := write("{\"line\":1}\n{\"line\":2}\n")
	if again := write("{\"line\":1}\n{\"line\":2}\n"); again != a {
		t.Errorf("same bytes: identity %q then %q, want equal", a, again)
	}
	for name, content := range map[string]string{
		"same size, other bytes": "{\"line\":3}\n{\"line\":4}\n",
		"appended":               "{\"line\":1}\n{\"line\":2}\n{\"line\":3}\n",
		"empty":                  "",
	} {
		if id := write(content); id == a {
			t.Errorf("%s: identity %q unchanged", name, id)
		}
	}
}
