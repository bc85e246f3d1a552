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

// TestGoldenChangesDecode checks the golden downsignal.incidents records
// the same way, and that a broken one is refused with a reason.
func TestGoldenChangesDecode(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "incidents_v1.golden.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		c, err := record.DecodeChange(line)
		if err != nil {
			t.Fatalf("golden record %s: %v", line, err)
		}
		types = append(types, c.Type)
		if string(c.Key()) != c.IncidentID {
			t.Errorf("key %q, want the incident id %q", c.Key(), c.IncidentID)
		}
		again, err := c.Marshal()
		if err != nil || !bytes.Equal(again, line) {
			t.Errorf("round trip changed the record:\n%s\n%s", line, again)
		}
	}
	if len(types) != 3 || types[0] != "incident.firing" || types[2] != "incident.resolved" {
		t.Errorf("golden types %v", types)
	}
	for _, bad := range []string{
		`{"v":2,"type":"incident.firing","incident_id":"x","seq":1,"time":"2026-01-22T19:33:00Z","incident":{}}`,
		`{"v":1,"type":"incident.fired","incident_id":"x","seq":1,"time":"2026-01-22T19:33:00Z","incident":{}}`,
		`{"v":1,"type":"incident.firing","incident_id":"","seq":1,"time":"2026-01-22T19:33:00Z","incident":{}}`,
		`{"v":1,"type":"incident.firing","incident_id":"x","seq":0,"time":"2026-01-22T19:33:00Z","incident":{}}`,
		`{"v":1,"type":"incident.firing","incident_id":"x","seq":1,"incident":{}}`,
		`{"v":1,"type":"incident.firing","incident_id":"x","seq":1,"time":"2026-01-22T19:33:00Z","incident":"x"}`,
	} {
		if _, err := record.DecodeChange([]byte(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

// TestGoldenSettlesDecode checks the golden downsignal.notify-state
// records the same way, and that a broken one is refused with a reason.
func TestGoldenSettlesDecode(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "notify-state_v1.golden.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var statuses []string
	for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		s, err := record.DecodeSettle(line)
		if err != nil {
			t.Fatalf("golden record %s: %v", line, err)
		}
		statuses = append(statuses, s.Status)
		if string(s.Key()) != s.DeliveryID {
			t.Errorf("key %q, want the delivery id %q", s.Key(), s.DeliveryID)
		}
		again, err := s.Marshal()
		if err != nil || !bytes.Equal(again, line) {
			t.Errorf("round trip changed the record:\n%s\n%s", line, again)
		}
	}
	if len(statuses) != 3 || statuses[0] != "delivered" || statuses[1] != "superseded" || statuses[2] != "failed" {
		t.Errorf("golden statuses %v", statuses)
	}
	for _, bad := range []string{
		`{"v":2,"delivery_id":"m","endpoint_id":"e","type":"incident.firing","subject":"x","seq":1,"status":"delivered","at":"2026-01-22T19:33:02Z"}`,
		`{"v":1,"delivery_id":"","endpoint_id":"e","type":"incident.firing","subject":"x","seq":1,"status":"delivered","at":"2026-01-22T19:33:02Z"}`,
		`{"v":1,"delivery_id":"m","endpoint_id":"e","type":"incident.firing","subject":"x","seq":1,"status":"pending","at":"2026-01-22T19:33:02Z"}`,
		`{"v":1,"delivery_id":"m","endpoint_id":"e","type":"incident.firing","subject":"","seq":1,"status":"delivered","at":"2026-01-22T19:33:02Z"}`,
		`{"v":1,"delivery_id":"m","endpoint_id":"e","type":"incident.firing","subject":"x","seq":1,"status":"delivered"}`,
		`[1]`,
	} {
		if _, err := record.DecodeSettle([]byte(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}
