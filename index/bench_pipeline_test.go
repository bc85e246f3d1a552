package index_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2"

	"github.com/downsignal/downsignal/app"
	"github.com/downsignal/downsignal/index"
)

// BenchmarkPipelineVsBleve measures, side by side on the same synthetic
// posts, the whole `run` pipeline (replay -> Kafka -> classify -> Kafka ->
// index, embedded broker) and Bleve alone batch-indexing the same
// documents with the same mapping in batches of 1,000.
//
//	DOWNSIGNAL_BENCH_POSTS=100000 DOWNSIGNAL_BENCH_ROUNDS=3 go test -run '^$' -bench PipelineVsBleve -benchtime 1x ./index/
//
// Reported: each one's median rate over the rounds and the ratio, and
// the CPU time per post of each (pipeline_cpu_us/post counts every stage:
// ingest, broker, classify and index).
func BenchmarkPipelineVsBleve(b *testing.B) {
	n := benchPosts(b, 20_000)
	gen := newBenchGen(1, time.Date(2026, 1, 20, 0, 0, 0, 0, time.UTC), 500*time.Millisecond)
	var lines []string
	var ids []string
	var docs []any
	for range n {
		ev := gen.next()
		lines = append(lines, jetstreamLine(ev))
		sig := gen.signal(ev)
		ids = append(ids, ev.URI)
		docs = append(docs, index.NewDocument(&sig))
	}
	replay := filepath.Join(b.TempDir(), "replay.jsonl")
	if err := os.WriteFile(replay, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	lines = nil

	rounds := 3
	if v := os.Getenv("DOWNSIGNAL_BENCH_ROUNDS"); v != "" {
		if r, err := strconv.Atoi(v); err == nil && r > 0 {
			rounds = r
		}
	}
	// The machine is shared: the two are run alternately, several rounds,
	// and compared by median rate and by CPU time per post (which other
	// processes' load does not change).
	var bleveRates, pipeRates, bleveCPU, pipeCPU []float64
	for b.Loop() {
		for round := range rounds {
			dir := b.TempDir()
			idx, err := bleve.New(filepath.Join(dir, "raw.bleve"), index.NewMapping())
			if err != nil {
				b.Fatal(err)
			}
			start, cpu0 := time.Now(), cpuTime()
			for i := 0; i < n; i += 1000 {
				batch := idx.NewBatch()
				for j := i; j < min(i+1000, n); j++ {
					if err := batch.Index(ids[j], docs[j]); err != nil {
						b.Fatal(err)
					}
				}
				if err := idx.Batch(batch); err != nil {
					b.Fatal(err)
				}
			}
			bleveRates = append(bleveRates, float64(n)/time.Since(start).Seconds())
			bleveCPU = append(bleveCPU, (cpuTime()-cpu0).Seconds()*1e6/float64(n))
			if err := idx.Close(); err != nil {
				b.Fatal(err)
			}

			// From Run until every replayed post is searchable (WaitReplayed),
			// not counting the shutdown after.
			ctx, cancel := context.WithCancel(context.Background())
			a, err := app.Build(ctx, app.Options{Mode: app.ModeRun, DataDir: filepath.Join(dir, "run"), Listen: "127.0.0.1:0",
				BrokerListen: "127.0.0.1:0", Source: "replay:" + replay})
			if err != nil {
				b.Fatal(err)
			}
			done := make(chan error, 1)
			start, cpu0 = time.Now(), cpuTime()
			go func() { done <- a.Run(ctx) }()
			if err := a.WaitReplayed(ctx); err != nil {
				b.Fatal(err)
			}
			pipeRates = append(pipeRates, float64(n)/time.Since(start).Seconds())
			pipeCPU = append(pipeCPU, (cpuTime()-cpu0).Seconds()*1e6/float64(n))
			cancel()
			if err := <-done; err != nil {
				b.Fatal(err)
			}
			if err := a.Close(); err != nil {
				b.Fatal(err)
			}
			x, err := index.Open(index.Options{Dir: filepath.Join(dir, "run", "index")})
			if err != nil {
				b.Fatal(err)
			}
			if c, _ := x.DocCount(); int(c) != n {
				b.Fatalf("pipeline indexed %d posts, want %d", c, n)
			}
			x.Close()
			fmt.Printf("round %d: bleve %.0f posts/s (%.0f us CPU/post), pipeline %.0f posts/s (%.0f us CPU/post)\n",
				round+1, bleveRates[len(bleveRates)-1], bleveCPU[len(bleveCPU)-1], pipeRates[len(pipeRates)-1], pipeCPU[len(pipeCPU)-1])
		}
	}
	bleveRate, pipeRate := median(bleveRates), median(pipeRates)
	b.ReportMetric(median(bleveCPU), "bleve_cpu_us/post")
	b.ReportMetric(median(pipeCPU), "pipeline_cpu_us/post")
	b.ReportMetric(median(bleveCPU)/median(pipeCPU), "cpu_efficiency")
	b.ReportMetric(bleveRate, "bleve_docs/s")
	b.ReportMetric(pipeRate, "pipeline_docs/s")
	b.ReportMetric(pipeRate/bleveRate, "pipeline/bleve")
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// cpuTime is the CPU time (user and system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
