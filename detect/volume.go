package detect

import (
	"fmt"
	"math"
	"time"
)

// Volume drops: when Bluesky itself fails nobody can post about it, so the
// only sign is the whole stream's volume collapsing. The detector follows
// all posts per minute (event time) against their moving average and opens
// an incident of kind KindVolumeDrop for the service VolumeService.
//
// The thresholds (Options.DropRatio, DropMinutes, RecoverRatio,
// RecoverMinutes, with GapVolume and Warmup shared with the ingest-gap
// check):
//   - a drop minute has fewer than DropRatio (0.25) x the expected posts,
//     where at least GapVolume (20) posts a minute were expected and the
//     detector has seen Warmup minutes of stream; drop minutes stay out of
//     the average, so the expected level is the one before the drop;
//   - DropMinutes (5) drop minutes in a row open the incident, firing at
//     once, started at the first of them;
//   - RecoverMinutes (3) minutes in a row at RecoverRatio (0.5) x expected
//     or more resolve it.
//
// Bluesky's volume swings about threefold over a day, but over hours, not
// minutes: a quarter of the average for five minutes is not the evening.
//
// A source of ours that is not live (reconnecting, stalled) is our
// problem, never Bluesky's: Options.SourceLive is asked before a drop is
// opened, and a drop seen while it says no is logged, not opened. A
// replay's gaps in event time are drops.

// Incident kinds.
const (
	// KindReports is an outage people report (the default, "" in old stores).
	KindReports = "reports"
	// KindVolumeDrop is the whole stream's volume collapsing.
	KindVolumeDrop = "volume_drop"
)

// VolumeService is the service a volume drop is an outage of.
const VolumeService = "Bluesky"

// volumeState is the volume-drop lifecycle, saved with the engine's meta.
type volumeState struct {
	Open string `json:"open,omitempty"` // open volume_drop incident id
	// Run counts consecutive drop minutes (while closed) or recovered
	// minutes (while open); RunFrom is the first minute of the run.
	Run     int   `json:"run,omitempty"`
	RunFrom int64 `json:"run_from,omitempty"`
	// Seen sums the posts of the Minutes not back at the recovery level
	// since the drop began: ObservedVolume is their mean.
	Seen    float64 `json:"seen,omitempty"`
	Minutes int     `json:"minutes,omitempty"`
	// Expected is the level the volume fell from.
	Expected float64 `json:"expected,omitempty"`
}

// isDrop says whether minute m's volume x is a drop against expected.
func (e *Engine) isDrop(m int64, x, expected float64) bool {
	return m-e.st.First >= int64(e.o.Warmup) && expected >= e.o.GapVolume && x < e.o.DropRatio*expected
}

// checkVolume runs the volume-drop lifecycle for minute m, with the
// volume expected before m was folded into the average.
func (e *Engine) checkVolume(d *dirty, m int64, expected float64) {
	st := e.st
	v := &st.Volume
	x := float64(st.totals[m])
	at := time.Unix((m+1)*60, 0).UTC()
	if v.Open == "" {
		if !e.isDrop(m, x, expected) {
			*v = volumeState{}
			return
		}
		if v.Run == 0 {
			v.RunFrom, v.Expected = m, expected
		}
		v.Run++
		v.Minutes++
		v.Seen += x
		if v.Run < e.o.DropMinutes {
			return
		}
		if e.o.SourceLive != nil && !e.o.SourceLive() {
			e.log.Warn("stream volume collapsed while our source is not live: our problem, not a Bluesky outage",
				"minute", at, "posts", x, "expected", math.Round(v.Expected))
			*v = volumeState{}
			return
		}
		e.openVolumeDrop(d, m, at)
		return
	}
	in := st.incidents[v.Open]
	if in == nil { // pruned or lost: start over
		*v = volumeState{}
		return
	}
	if x >= e.o.RecoverRatio*v.Expected {
		v.Run++
	} else {
		v.Run = 0
		v.Seen += x
		v.Minutes++
	}
	in.Timeline = appendPoint(in.Timeline, Point{Time: at, Kind: "minute", Posts: int(x), Expected: round2(v.Expected)})
	in.ObservedVolume = round2(v.Seen / float64(max(1, v.Minutes)))
	d.incidents[in.ID] = true
	if v.Run >= e.o.RecoverMinutes {
		in.State = Resolved
		in.ResolvedAt = at
		in.Timeline = append(in.Timeline, Point{Time: at, Kind: "resolved", Posts: int(x), Expected: round2(v.Expected),
			Note: fmt.Sprintf("volume back above %.0f%% of the expected level for %d minutes", 100*e.o.RecoverRatio, v.Run)})
		e.emit(d, EventResolved, in, at)
		*v = volumeState{}
	}
}

// openVolumeDrop opens and fires a volume_drop incident at minute m.
func (e *Engine) openVolumeDrop(d *dirty, m int64, at time.Time) {
	st := e.st
	v := &st.Volume
	start := time.Unix(v.RunFrom*60, 0).UTC()
	id := "bluesky-volume-" + start.Format("20060102T1504")
	observed := round2(v.Seen / float64(max(1, v.Minutes)))
	in := &Incident{
		ID: id, Kind: KindVolumeDrop, Service: VolumeService, Services: []string{VolumeService},
		State: Firing, Severity: Critical, Confidence: Medium,
		Title:     fmt.Sprintf("Bluesky's post volume fell to %.0f a minute from %.0f expected", observed, v.Expected),
		StartedAt: start, PendingAt: at, FiringAt: at, UpdatedAt: at,
		Expected: round2(v.Expected), ExpectedVolume: round2(v.Expected), ObservedVolume: observed,
		TopCodes: []CodeCount{}, Regions: []RegionCount{}, Samples: []Sample{},
	}
	for k := v.RunFrom; k <= m; k++ {
		in.Timeline = append(in.Timeline, Point{Time: time.Unix((k+1)*60, 0).UTC(), Kind: "minute",
			Posts: int(st.totals[k]), Expected: round2(v.Expected)})
	}
	in.Timeline = append(in.Timeline, Point{Time: at, Kind: "firing", Posts: int(st.totals[m]), Expected: round2(v.Expected),
		Note: fmt.Sprintf("%d minutes under %.0f%% of the expected volume", v.Run, 100*e.o.DropRatio)})
	st.incidents[id] = in
	v.Open, v.Run = id, 0
	e.log.Warn("Bluesky volume drop", "incident", id, "expected_per_minute", in.ExpectedVolume, "observed_per_minute", observed)
	e.emit(d, EventFiring, in, at)
}
