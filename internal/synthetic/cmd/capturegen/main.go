// Command capturegen writes a synthetic Jetstream v1 capture for replay
// benchmarks:
//
//	go run ./internal/synthetic/cmd/capturegen -posts 50000 > capture.jsonl
//	downsignal run --source replay:capture.jsonl --exit-after-replay
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/downsignal/downsignal/internal/synthetic"
)

func main() {
	posts := flag.Int("posts", 50000, "number of posts")
	seed := flag.Uint64("seed", 1, "random seed (the same seed writes the same capture)")
	start := flag.String("start", "2026-01-22T00:00:00Z", "event time of the first post (RFC 3339)")
	rate := flag.Float64("rate", 30, "average posts per second of event time")
	flag.Parse()
	t, err := time.Parse(time.RFC3339, *start)
	if err != nil {
		fmt.Fprintln(os.Stderr, "capturegen: -start:", err)
		os.Exit(2)
	}
	if err := synthetic.Write(os.Stdout, synthetic.Options{Seed: *seed, Posts: *posts, Start: t, PerSecond: *rate}); err != nil {
		fmt.Fprintln(os.Stderr, "capturegen:", err)
		os.Exit(1)
	}
}
