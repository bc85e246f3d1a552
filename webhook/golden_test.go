package webhook_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/downsignal/downsignal/detect"
	"github.com/downsignal/downsignal/webhook"
)

var update = flag.Bool("update", false, "rewrite the golden payloads in testdata/")

// The payload of each format is a contract with receivers: a change shows
// up as a diff of testdata/<format>.json (go test -run Golden -update).
func TestGoldenPayloads(t *testing.T) {
	in := incident
	for _, f := range webhook.Formats {
		t.Run(string(f), func(t *testing.T) {
			ep := &webhook.Endpoint{Format: f, RoutingKey: "R0UT1NGKEY"}
			b, err := webhook.Render(f, ep, webhook.Message{Type: detect.EventFiring, Time: in.StartedAt.Add(5 * 60e9), Incident: &in}, "https://downsignal.example")
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if err := json.Indent(&out, b, "", "  "); err != nil {
				t.Fatal(err)
			}
			out.WriteByte('\n')
			path := filepath.Join("testdata", string(f)+".json")
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(out.Bytes(), want) {
				t.Errorf("%s payload changed:\n%s\nwant\n%s", f, out.Bytes(), want)
			}
		})
	}
}
