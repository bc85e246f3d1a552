package detect_test

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/downsignal/downsignal/detect"
	"github.com/downsignal/downsignal/record"
)

// outlookReport is a classified outage report about Outlook, with regions.
func outlookReport(did, rkey string, t time.Time, regions ...string) record.Signal {
	r := &record.Result{Outage: true, Score: 0.8, Intent: "outage",
		Services: []record.ServiceHit{{ID: "outlook", Name: "Outlook", Parent: "Microsoft 365", Matched: "Outlook"}}}
	for _, g := range regions {
		r.Regions = append(r.Regions, record.Region{Name: g, Kind: "country"})
	}
	return record.Signal{V: 1, Result: r, Event: record.Event{V: 1, Kind: record.KindPost, DID: did,
		URI: "at://" + did + "/app.bsky.feed.post/" + rkey, Time: t, Text: "Outlook down?", Source: "replay"}}
}

// Outlook always has complaints somewhere; a spike confined to Germany
// does not lift the worldwide count past its noise, but Germany's own
// series fires.
func TestRegionalSpikeFires(t *testing.T) {
	build := func(withRegion bool) []record.Signal {
		var sigs []record.Signal
		start := day.Add(8 * time.Hour)
		n := 0
		for m := range 4 * 60 {
			minute := start.Add(time.Duration(m) * time.Minute)
			for i := range 4 { // steady worldwide complaints
				n++
				sigs = append(sigs, outlookReport(fmt.Sprintf("did:plc:bg%06d", n), fmt.Sprintf("3bg%06d", n), minute.Add(time.Duration(i*13)*time.Second)))
			}
			if m >= 180 && m < 190 { // 11:00-11:10, three more a minute in Germany
				for i := range 3 {
					n++
					var regions []string
					if withRegion {
						regions = []string{"Germany"}
					}
					sigs = append(sigs, outlookReport(fmt.Sprintf("did:plc:de%06d", n), fmt.Sprintf("3de%06d", n), minute.Add(time.Duration(5+i*17)*time.Second), regions...))
				}
			}
		}
		return sigs
	}
	for _, withRegion := range []bool{true, false} {
		e := open(t, filepath.Join(t.TempDir(), "alerts.db"))
		f := newFeeder(t, 2)
		f.apply(e, f.changes(build(withRegion)))
		incs := e.Incidents(detect.Filter{})
		switch {
		case withRegion && (len(incs) != 1 || !slices.Equal(incs[0].HotRegions, []string{"Germany"}) || !slices.Contains(incs[0].Services, "Outlook")):
			t.Errorf("regional spike: incidents %+v, want one Outlook incident hot in Germany", incs)
		case !withRegion && len(incs) != 0:
			t.Errorf("same spike without regions: incidents %+v, want none (the worldwide series absorbs it)", incs)
		}
		if withRegion && len(incs) == 1 {
			t.Logf("title %q", incs[0].Title)
		}
		e.Close()
	}
}
