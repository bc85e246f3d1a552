package webhook_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/downsignal/downsignal/detect"
	"github.com/downsignal/downsignal/webhook"
)

var update = flag.Bool("update", false, "rewrite the golden payloads in testdata/")

// stall is the source change of the golden source payloads.
var stall = webhook.SourceChange{
	Source: "jetstream", Since: time.Date(2026, 1, 22, 19, 20, 4, 0, time.UTC),
	At: time.Date(2026, 1, 22, 19, 25, 10, 0, time.UTC), LastEventTime: time.Date(2026, 1, 22, 19, 20, 3, 0, time.UTC),
	LastError: "read frame: websocket: close 1006 (abnormal closure): unexpected EOF", StallAfter: 5 * time.Minute,
}

// The payload of each format is a contract with receivers: a change shows
// up as a diff of testdata/<format>.json, and for the source's health of
// testdata/<format>.source.stalled.json and .source.recovered.json
// (go test -run Golden -update).
func TestGoldenPayloads(t *testing.T) {
	in := incident
	stalled := stall
	stalled.Type = webhook.EventSourceStalled
	recovered := stall
	recovered.Type, recovered.At = webhook.EventSourceRecovered, stall.At.Add(7*time.Minute)
	for _, f := range webhook.Formats {
		for name, m := range map[string]webhook.Message{
			"":                   {Type: detect.EventFiring, Time: in.StartedAt.Add(5 * 60e9), Incident: &in},
			"." + stalled.Type:   {Type: stalled.Type, Time: stalled.At, Source: &stalled},
			"." + recovered.Type: {Type: recovered.Type, Time: recovered.At, Source: &recovered},
		} {
			t.Run(string(f)+name, func(t *testing.T) { golden(t, f, m, filepath.Join("testdata", string(f)+name+".json")) })
		}
	}
}

func golden(t *testing.T, f webhook.Format, m webhook.Message, path string) {
	ep := &webhook.Endpoint{Format: f, RoutingKey: "R0UT1NGKEY"}
	b, err := webhook.Render(f, ep, m, "https://downsignal.example")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		t.Fatal(err)
	}
	out.WriteByte('\n')
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
		t.Errorf("%s payload changed:\n%s\nwant\n%s", path, out.Bytes(), want)
	}
}
