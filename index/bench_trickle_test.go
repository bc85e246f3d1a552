package index_test

import (
	"context"
	"testing"
	"time"

	"github.com/downsignal/downsignal/index"
	"github.com/downsignal/downsignal/internal/benchposts"
	"github.com/downsignal/downsignal/internal/measure"
	"github.com/downsignal/downsignal/record"
)

// BenchmarkTrickle applies posts the way the index stage gets them at
// Bluesky's rate: batches of 6 (a quarter of a second at 25 posts/s),
// with a pause between batches so that Bleve's merger runs as it would,
// and reports the CPU time per post (the process's, so the merger and the
// persister count):
//
//	go test -run '^$' -bench Trickle -benchtime 3x -count 6 ./index/
func BenchmarkTrickle(b *testing.B) {
	const batches, size = 400, 6
	gen, err := benchposts.New(4, time.Date(2026, 1, 17, 0, 0, 0, 0, time.UTC), 40*time.Millisecond)
	if err != nil {
		b.Fatal(err)
	}
	var feed [][]record.Delivery[record.Signal]
	var offset int64
	for range batches {
		var batch []record.Delivery[record.Signal]
		for range size {
			batch = append(batch, delivery(gen.Signal(gen.Next()), offset))
			offset++
		}
		feed = append(feed, batch)
	}
	ctx := context.Background()
	var cpu time.Duration
	for b.Loop() {
		x, err := index.Open(index.Options{Dir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		c0 := measure.CPUTime()
		for _, batch := range feed {
			if err := x.Handle(ctx, batch); err != nil {
				b.Fatal(err)
			}
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(time.Second) // merges the last batches started
		cpu += measure.CPUTime() - c0
		if err := x.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N*batches*size), "cpu_us/post")
}
