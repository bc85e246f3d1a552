package app_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/downsignal/downsignal/internal/apptest"
	"github.com/downsignal/downsignal/internal/synthetic"
)

// The capture the README replays (synthetic.Demo, capturegen's default:
// four hours from 17:00 with an Outlook and Teams outage from 19:30) through the whole run
// pipeline: past the detector's warm-up, the outage and nothing else opens
// an incident, and a real receiver on loopback gets it signed.
func TestReplayedSyntheticCaptureAlerts(t *testing.T) {
	demo := synthetic.Demo()
	onset := demo.Incident.Start
	path := filepath.Join(t.TempDir(), "capture.jsonl")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	err = synthetic.Write(f, demo)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	rc := newHookReceiver(t)
	p := apptest.Start(t, alertOptions(t, path, rc.URL))
	p.WaitReplayed(t)

	var list incidentList
	p.GetJSON(t, "/v1/incidents", &list)
	if len(list.Incidents) != 1 {
		t.Fatalf("incidents %+v, want exactly one", list.Incidents)
	}
	in := list.Incidents[0]
	if lead := in.FiringAt.Sub(onset); lead <= 0 || lead > 10*time.Minute {
		t.Errorf("fired at %v, %v after the onset; want within 10 minutes", in.FiringAt, lead)
	}
	if !slices.Contains(in.Services, "Outlook") || !slices.Contains(in.Services, "Microsoft Teams") {
		t.Errorf("incident of %s over %v, want Outlook and Microsoft Teams", in.Service, in.Services)
	}
	t.Logf("incident %s (%v) %s, fired %v after the onset, resolved at %v", in.Service, in.Services, in.Severity, in.FiringAt.Sub(onset), in.ResolvedAt)

	// Deliveries may arrive in any order: wait for the firing and the
	// resolution of this incident, and nothing of another.
	deadline := time.Now().Add(30 * time.Second)
	for {
		evs := rc.got()
		types := map[string]bool{}
		for _, ev := range evs {
			if ev.Data.ID != in.ID {
				t.Fatalf("webhook for another incident: %+v", ev)
			}
			types[ev.Type] = true
		}
		if types["incident.firing"] && types["incident.resolved"] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the receiver got %+v in 30 s, want incident.firing and incident.resolved of %s", evs, in.ID)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
