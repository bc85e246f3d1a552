package synthetic

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/downsignal/downsignal/ingest/jetstream"
	"github.com/downsignal/downsignal/record"
)

func TestWriteIsReproducibleAndDecodes(t *testing.T) {
	var a, b bytes.Buffer
	o := Options{Seed: 42, Posts: 2000}
	if err := Write(&a, o); err != nil {
		t.Fatal(err)
	}
	if err := Write(&b, o); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("the same seed wrote two different captures")
	}
	sc := bufio.NewScanner(&a)
	var n, named int
	var last time.Time
	uris := map[string]bool{}
	for sc.Scan() {
		ev, _, err := jetstream.Decode(sc.Bytes(), "replay")
		if err != nil {
			t.Fatalf("line %d: %v", n+1, err)
		}
		if ev.Kind != record.KindPost || ev.Text == "" || len(ev.Langs) != 1 {
			t.Fatalf("line %d: %+v, want a post with text and one lang", n+1, ev)
		}
		if ev.Time.Before(last) {
			t.Fatalf("line %d: event time goes backwards", n+1)
		}
		if uris[ev.URI] {
			t.Fatalf("line %d: duplicate uri %s", n+1, ev.URI)
		}
		uris[ev.URI], last = true, ev.Time
		n++
		for _, s := range services {
			if strings.Contains(ev.Text, s) {
				named++
				break
			}
		}
	}
	if n != 2000 {
		t.Fatalf("wrote %d posts, want 2000", n)
	}
	// 2% outage reports and 5% mentions by default: about 140 of 2000.
	if named < 90 || named > 200 {
		t.Errorf("%d of 2000 posts name a service, want about 140", named)
	}
}

// The demo capture lasts longer than the detector's hour of warm-up and
// holds the outage's complaints only inside the outage, rising to about
// its peak; without the incident the everyday posts are the same.
func TestDemoHoldsAnOutageAfterWarmUp(t *testing.T) {
	demo := Demo()
	var with, without bytes.Buffer
	if err := Write(&with, demo); err != nil {
		t.Fatal(err)
	}
	quiet := demo
	quiet.Incident = nil
	if err := Write(&without, quiet); err != nil {
		t.Fatal(err)
	}
	var first, last time.Time
	var everyday []string
	perMinute := map[time.Time]int{}
	sc := bufio.NewScanner(&with)
	for sc.Scan() {
		ev, _, err := jetstream.Decode(sc.Bytes(), "replay")
		if err != nil {
			t.Fatal(err)
		}
		if first.IsZero() {
			first = ev.Time
		}
		last = ev.Time
		if strings.HasPrefix(ev.DID, "did:plc:synout") {
			perMinute[ev.Time.Truncate(time.Minute)]++
			in := demo.Incident
			if ev.Time.Before(in.Start) || !ev.Time.Before(in.Start.Add(in.Length)) {
				t.Errorf("complaint at %v, outside the outage", ev.Time)
			}
			continue
		}
		everyday = append(everyday, sc.Text())
	}
	if span := last.Sub(first); span < 3*time.Hour+50*time.Minute || first.Sub(demo.Start) > time.Minute {
		t.Errorf("capture spans %v from %v, want about 4 hours from %v", span, first, demo.Start)
	}
	if onset := demo.Incident.Start.Sub(first); onset < 2*time.Hour {
		t.Errorf("outage starts %v into the capture, want after the hour of warm-up and an hour of history", onset)
	}
	peak := 0
	for _, n := range perMinute {
		peak = max(peak, n)
	}
	if peak < 30 || peak > 60 || len(perMinute) < 40 {
		t.Errorf("outage: %d minutes, peak %d complaints a minute; want about 45 minutes peaking near 40", len(perMinute), peak)
	}
	if got := strings.Join(everyday, "\n") + "\n"; got != without.String() {
		t.Error("the everyday posts differ with and without the incident")
	}
}
