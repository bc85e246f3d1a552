package ingest_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/downsignal/downsignal/broker"
	"github.com/downsignal/downsignal/ingest"
	"github.com/downsignal/downsignal/ingest/firehose"
	"github.com/downsignal/downsignal/ingest/ingesttest"
	"github.com/downsignal/downsignal/ingest/replay"
	"github.com/downsignal/downsignal/record"
)

// realPostLines returns n Jetstream v1 post lines built from the real posts
// of the recorded capture, each with its own record key.
func realPostLines(tb testing.TB, n int) [][]byte {
	tb.Helper()
	var posts []map[string]any
	for _, l := range ingesttest.RecordedJetstream(tb) {
		var m map[string]any
		if err := json.Unmarshal(l, &m); err != nil {
			tb.Fatal(err)
		}
		c, _ := m["commit"].(map[string]any)
		if c != nil && c["collection"] == record.PostCollection && c["operation"] == "create" {
			posts = append(posts, m)
		}
	}
	if len(posts) == 0 {
		tb.Fatal("no posts in the capture")
	}
	base := time.Date(2026, 7, 4, 14, 0, 0, 0, time.UTC).UnixMicro()
	out := make([][]byte, n)
	for i := range out {
		m := posts[i%len(posts)]
		m["time_us"] = base + int64(i)
		m["commit"].(map[string]any)["rkey"] = fmt.Sprintf("3bench%08d", i)
		b, err := json.Marshal(m)
		if err != nil {
			tb.Fatal(err)
		}
		out[i] = b
	}
	return out
}

// startBroker starts an embedded broker with the pipeline's topics.
func startBroker(tb testing.TB, dir string) *broker.Embedded {
	tb.Helper()
	emb, err := broker.StartEmbedded(broker.EmbeddedOptions{DataDir: dir, Addr: "127.0.0.1:0"})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(emb.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := broker.EnsureTopics(ctx, []string{emb.Addr()}, broker.Topics(broker.TopicOptions{})); err != nil {
		tb.Fatal(err)
	}
	return emb
}

// BenchmarkIngestToBroker measures the whole ingest stage into the
// embedded broker: posts decoded, encoded and produced, every record
// acknowledged (RequireAll) and the cursor saved behind them.
//
//   - replay: a file of Jetstream v1 lines made from the recorded real posts;
//   - firehose: a relay on loopback replaying signed commits of the same
//     posts over WebSocket after a restart (resume from a cursor).
func BenchmarkIngestToBroker(b *testing.B) {
	b.Run("replay", benchIngestReplay)
	b.Run("firehose", benchIngestFirehose)
}

func benchIngestReplay(b *testing.B) {
	const posts = 50_000
	lines := realPostLines(b, posts)
	path := filepath.Join(b.TempDir(), "replay.jsonl")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	for _, l := range lines {
		w.Write(l)
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()

	emb := startBroker(b, b.TempDir())
	writer := broker.NewProducer(broker.WriterOptions{Brokers: []string{emb.Addr()}, Topic: broker.PostsTopic})
	defer writer.Close()

	b.ReportAllocs()
	var total time.Duration
	for b.Loop() {
		src, err := replay.New(replay.Options{Path: path})
		if err != nil {
			b.Fatal(err)
		}
		cursors := ingest.FileCursors{Dir: b.TempDir()}
		stage, err := ingest.NewStage(ingest.StageOptions{Source: src, Producer: writer, Cursors: cursors})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		start := time.Now()
		go func() { done <- stage.Run(ctx) }()
		select {
		case <-stage.Exhausted():
		case err := <-done:
			b.Fatalf("stage ended early: %v", err)
		}
		total += time.Since(start)
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		if c, _, err := cursors.Load(src.Name()); err != nil || c != posts {
			b.Fatalf("saved cursor %d (%v), want %d", c, err, posts)
		}
	}
	b.ReportMetric(float64(posts)*float64(b.N)/total.Seconds(), "posts/s")
}

func benchIngestFirehose(b *testing.B) {
	const posts = 20_000
	lines := realPostLines(b, 200)
	relay := ingesttest.NewRelay()
	defer relay.Close()
	authors := make([]*ingesttest.Account, 50)
	for i := range authors {
		a, err := ingesttest.NewAccount(fmt.Sprintf("did:plc:bench%02d", i))
		if err != nil {
			b.Fatal(err)
		}
		authors[i] = a
	}
	// Seq 1 is the post before the restart; the benchmark resumes after it.
	if _, err := relay.Create(authors[0], ingesttest.Post{RKey: "3start", Text: "before"}); err != nil {
		b.Fatal(err)
	}
	for i := range posts {
		var m struct {
			Commit struct {
				Record struct {
					Text  string   `json:"text"`
					Langs []string `json:"langs"`
				} `json:"record"`
			} `json:"commit"`
		}
		json.Unmarshal(lines[i%len(lines)], &m)
		p := ingesttest.Post{RKey: fmt.Sprintf("3bench%08d", i), Text: m.Commit.Record.Text, Langs: m.Commit.Record.Langs}
		if _, err := relay.Create(authors[i%len(authors)], p); err != nil {
			b.Fatal(err)
		}
	}
	last := relay.Seq()

	emb := startBroker(b, b.TempDir())
	writer := broker.NewProducer(broker.WriterOptions{Brokers: []string{emb.Addr()}, Topic: broker.PostsTopic})
	defer writer.Close()

	b.ReportAllocs()
	var total time.Duration
	for b.Loop() {
		src, err := firehose.New(firehose.Options{URL: relay.URL()})
		if err != nil {
			b.Fatal(err)
		}
		cursors := ingest.FileCursors{Dir: b.TempDir()}
		if err := cursors.Save(src.Name(), 1, ""); err != nil {
			b.Fatal(err)
		}
		stage, err := ingest.NewStage(ingest.StageOptions{Source: src, Producer: writer, Cursors: cursors, SaveEvery: 5 * time.Millisecond})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		start := time.Now()
		go func() { done <- stage.Run(ctx) }()
		for {
			if c, _, _ := cursors.Load(src.Name()); c == last {
				break
			}
			time.Sleep(2 * time.Millisecond)
		}
		total += time.Since(start)
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(posts)*float64(b.N)/total.Seconds(), "posts/s")
}
