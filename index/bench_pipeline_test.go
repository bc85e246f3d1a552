package index_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
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
//	DOWNSIGNAL_BENCH_POSTS=200000 go test -run '^$' -bench PipelineVsBleve -benchtime 1x ./index/
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

	var bleveRate, pipeRate float64
	for b.Loop() {
		dir := b.TempDir()
		idx, err := bleve.New(filepath.Join(dir, "raw.bleve"), index.NewMapping())
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
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
		bleveRate = float64(n) / time.Since(start).Seconds()
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
		start = time.Now()
		go func() { done <- a.Run(ctx) }()
		if err := a.WaitReplayed(ctx); err != nil {
			b.Fatal(err)
		}
		pipeRate = float64(n) / time.Since(start).Seconds()
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
	}
	b.ReportMetric(bleveRate, "bleve_docs/s")
	b.ReportMetric(pipeRate, "pipeline_docs/s")
	b.ReportMetric(pipeRate/bleveRate, "pipeline/bleve")
}
