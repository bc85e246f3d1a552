package app_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2"

	"github.com/downsignal/downsignal/app"
	"github.com/downsignal/downsignal/index"
	"github.com/downsignal/downsignal/internal/apptest"
	"github.com/downsignal/downsignal/internal/benchposts"
	"github.com/downsignal/downsignal/internal/measure"
)

// BenchmarkPipelineVsBleve measures, side by side on the same synthetic
// posts (one in ten relevant, as on the real network), the whole `run`
// pipeline (replay -> Kafka -> classify -> Kafka -> index, embedded
// broker, --index-posts relevant) and Bleve alone batch-indexing every
// one of the posts with the same mapping in batches of 1,000.
//
//	DOWNSIGNAL_BENCH_POSTS=100000 DOWNSIGNAL_BENCH_ROUNDS=3 go test -run '^$' -bench PipelineVsBleve -benchtime 1x ./app/
//
// Reported: each one's median rate over the rounds and the ratio, and
// the CPU time per post of each (pipeline_cpu_us/post counts every stage:
// ingest, broker, classify and index).
func BenchmarkPipelineVsBleve(b *testing.B) {
	n := benchposts.Count(b, 20_000)
	replay, ids, docs, kept := pipelineBenchPosts(b, n)
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
			rate, cpu := bleveRound(b, filepath.Join(dir, "raw.bleve"), ids, docs)
			bleveRates, bleveCPU = append(bleveRates, rate), append(bleveCPU, cpu)
			rate, cpu = pipelineRound(b, filepath.Join(dir, "run"), replay, n, kept)
			pipeRates, pipeCPU = append(pipeRates, rate), append(pipeCPU, cpu)
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

// pipelineBenchPosts makes n synthetic posts twice over: as a replay file
// for the pipeline and as the documents (with their IDs) of every post,
// for Bleve alone; kept is how many of them are relevant.
func pipelineBenchPosts(b *testing.B, n int) (replay string, ids []string, docs []any, kept int) {
	gen, err := benchposts.New(1, time.Date(2026, 1, 20, 0, 0, 0, 0, time.UTC), 500*time.Millisecond)
	if err != nil {
		b.Fatal(err)
	}
	gen.SetRelevantShare(0.085)
	lines := make([]string, 0, n)
	for range n {
		ev := gen.Next()
		lines = append(lines, apptest.JetstreamLine(ev))
		sig := gen.Signal(ev)
		ids = append(ids, ev.URI)
		docs = append(docs, index.NewDocument(&sig))
		if index.Relevant(&sig) {
			kept++
		}
	}
	return apptest.WriteReplay(b, lines...), ids, docs, kept
}

// bleveRound indexes the documents into a new Bleve index at path with
// downsignal's mapping, in batches of 1,000, and returns the rate and the
// CPU time per post.
func bleveRound(b *testing.B, path string, ids []string, docs []any) (rate, cpuPerPost float64) {
	idx, err := bleve.New(path, index.NewMapping())
	if err != nil {
		b.Fatal(err)
	}
	n := len(ids)
	start, cpu0 := time.Now(), measure.CPUTime()
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
	rate = float64(n) / time.Since(start).Seconds()
	cpuPerPost = (measure.CPUTime() - cpu0).Seconds() * 1e6 / float64(n)
	if err := idx.Close(); err != nil {
		b.Fatal(err)
	}
	return rate, cpuPerPost
}

// pipelineRound replays the n posts through a whole run process with its
// data in dataDir and returns the rate and the CPU time per post, from Run
// until every replayed post is searchable (WaitReplayed): neither Build
// nor the shutdown after counts. The index must then hold the kept posts.
func pipelineRound(b *testing.B, dataDir, replay string, n, kept int) (rate, cpuPerPost float64) {
	p := apptest.Build(b, app.Options{DataDir: dataDir, Source: "replay:" + replay})
	start, cpu0 := time.Now(), measure.CPUTime()
	p.Run()
	// No timeout: a large DOWNSIGNAL_BENCH_POSTS takes as long as it takes.
	if err := p.App.WaitReplayed(context.Background()); err != nil {
		b.Fatal(err)
	}
	rate = float64(n) / time.Since(start).Seconds()
	cpuPerPost = (measure.CPUTime() - cpu0).Seconds() * 1e6 / float64(n)
	p.Stop(b)
	x, err := index.Open(index.Options{Dir: filepath.Join(dataDir, "index")})
	if err != nil {
		b.Fatal(err)
	}
	defer x.Close()
	if c, _ := x.DocCount(); int(c) != kept {
		b.Fatalf("pipeline indexed %d posts, want the %d relevant of %d", c, kept, n)
	}
	return rate, cpuPerPost
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}
