// Command capturegen writes a synthetic Jetstream v1 capture: by default
// four hours of 22 January 2026 (17:00-21:00 UTC) with an Outlook and Teams
// outage from 19:30, which the whole pipeline detects and alerts on after
// its one-hour warm-up:
//
//	go run ./internal/synthetic/cmd/capturegen > capture.jsonl
//	downsignal run --source replay:capture.jsonl --exit-after-replay
//
// The README's performance table replays the capture of the first
// version, 50,000 posts at 30 a second with no incident, byte for byte:
//
//	go run ./internal/synthetic/cmd/capturegen -posts 50000 -hours 0 -rate 30 -start 2026-01-22T00:00:00Z -incident-at ""
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/downsignal/downsignal/internal/synthetic"
)

func main() {
	demo := synthetic.Demo()
	posts := flag.Int("posts", 0, "stop after this many posts (0: as many as -hours hold)")
	hours := flag.Float64("hours", demo.Duration.Hours(), "hours of event time to write (0: until -posts)")
	seed := flag.Uint64("seed", demo.Seed, "random seed (the same seed writes the same capture)")
	start := flag.String("start", demo.Start.Format(time.RFC3339), "event time of the first post (RFC 3339)")
	rate := flag.Float64("rate", demo.PerSecond, "average posts per second of event time")
	incident := flag.String("incident-at", demo.Incident.Start.Format(time.RFC3339), "start of a 45-minute Outlook and Teams outage (RFC 3339; empty: none)")
	flag.Parse()
	o := synthetic.Options{Seed: *seed, Posts: *posts, Duration: time.Duration(*hours * float64(time.Hour)), PerSecond: *rate}
	var err error
	if o.Start, err = time.Parse(time.RFC3339, *start); err != nil {
		fail(2, "-start: %v", err)
	}
	if *incident != "" {
		at, err := time.Parse(time.RFC3339, *incident)
		if err != nil {
			fail(2, "-incident-at: %v", err)
		}
		o.Incident = synthetic.MicrosoftOutage(at)
	}
	if o.Posts <= 0 && o.Duration <= 0 {
		fail(2, "set -posts or -hours")
	}
	if err := synthetic.Write(os.Stdout, o); err != nil {
		fail(1, "%v", err)
	}
}

func fail(code int, format string, args ...any) {
	fmt.Fprintf(os.Stderr, "capturegen: "+format+"\n", args...)
	os.Exit(code)
}
