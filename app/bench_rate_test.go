package app_test

import (
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/downsignal/downsignal/app"
	"github.com/downsignal/downsignal/index"
	"github.com/downsignal/downsignal/internal/apptest"
	"github.com/downsignal/downsignal/internal/benchposts"
	"github.com/downsignal/downsignal/internal/measure"
)

// BenchmarkRealRate replays synthetic posts through a whole `run`
// (embedded broker, classify, index) at Bluesky's average rate: one post
// every 40 ms of event time, replayed at real speed, 25 posts/s. It
// reports what that trickle costs and how soon a post is searchable:
//
//	DOWNSIGNAL_BENCH_POSTS=1500 go test -run '^$' -bench RealRate -benchtime 1x -count 3 ./app/
//
// cpu: cpu_s/s is the process's CPU seconds (user and system, every
// stage) per second of the stream, the fraction of one core the pipeline
// keeps busy; index_batches/post is how many index batches (one bbolt
// transaction and one Bleve batch each) a post costs; index_B/post is the
// index directory's size (Bleve and state store) per post replayed. searchable: the
// wait from the moment the replay emits a relevant post until the API
// answers it, for every relevant post after the first 5 s (consumer
// groups join then), polled every 10 ms; it runs apart from cpu, whose
// figure the polling would inflate.
func BenchmarkRealRate(b *testing.B) {
	n := benchposts.Count(b, 750)
	const step = 40 * time.Millisecond
	start := time.Date(2026, 1, 20, 8, 0, 0, 0, time.UTC)
	gen, err := benchposts.New(3, start, step)
	if err != nil {
		b.Fatal(err)
	}
	lines := make([]string, 0, n)
	var probes []rateProbe
	for range n {
		ev := gen.Next()
		lines = append(lines, apptest.JetstreamLine(ev))
		if sig := gen.Signal(ev); index.Relevant(&sig) && ev.Time.Sub(start) >= 5*time.Second {
			probes = append(probes, rateProbe{uri: ev.URI, at: ev.Time.Sub(start)})
		}
	}
	replay := apptest.WriteReplay(b, lines...)
	run := func(b *testing.B, probes []rateProbe) {
		for b.Loop() {
			reg := prometheus.NewRegistry()
			dataDir := b.TempDir()
			p := apptest.Build(b, app.Options{DataDir: dataDir, Source: "replay:" + replay, ReplaySpeed: 1, RateLimit: -1, Registry: reg})
			cpu0 := measure.CPUTime()
			t0 := time.Now()
			p.Run()
			waits := watchSearchable(b, p, t0, probes)
			p.WaitReplayed(b)
			cpu := measure.CPUTime() - cpu0
			if len(probes) == 0 {
				stream := time.Duration(n) * step
				b.ReportMetric(cpu.Seconds()/stream.Seconds(), "cpu_s/s")
				b.ReportMetric(float64(cpu.Microseconds())/float64(n), "cpu_us/post")
				b.ReportMetric(float64(indexBatches(b, reg))/float64(n), "index_batches/post")
				b.ReportMetric(float64(mustTreeBytes(b, filepath.Join(dataDir, "index")))/float64(n), "index_B/post")
			} else {
				b.ReportMetric(float64(pct(waits, 0.5).Milliseconds()), "searchable_p50_ms")
				b.ReportMetric(float64(pct(waits, 0.99).Milliseconds()), "searchable_p99_ms")
			}
			p.Stop(b)
		}
	}
	b.Run("cpu", func(b *testing.B) { run(b, nil) })
	b.Run("searchable", func(b *testing.B) { run(b, probes) })
}

type rateProbe struct {
	uri string
	at  time.Duration // after the first post
}

// watchSearchable polls the API for each probe from the moment the replay
// emits it (the replay paces posts from its start, t0) until it is found,
// and returns the waits.
func watchSearchable(b *testing.B, p *apptest.Process, t0 time.Time, probes []rateProbe) []time.Duration {
	var waits []time.Duration
	for _, pr := range probes {
		due := t0.Add(pr.at)
		time.Sleep(time.Until(due))
		for deadline := due.Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			if p.Get(b, "/v1/posts/"+url.PathEscape(pr.uri), nil) == http.StatusOK {
				waits = append(waits, time.Since(due))
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("%s not searchable 30 s after it was replayed", pr.uri)
			}
		}
	}
	return waits
}

// indexBatches reads how many batches the index stage applied.
func indexBatches(b *testing.B, reg *prometheus.Registry) uint64 {
	mfs, err := reg.Gather()
	if err != nil {
		b.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "downsignal_index_batch_seconds" {
			return mf.GetMetric()[0].GetHistogram().GetSampleCount()
		}
	}
	b.Fatal("no downsignal_index_batch_seconds metric")
	return 0
}

func pct(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

func mustTreeBytes(b *testing.B, dir string) int64 {
	n, err := measure.TreeBytes(dir)
	if err != nil {
		b.Fatal(err)
	}
	return n
}
