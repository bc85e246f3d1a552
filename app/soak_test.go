package app_test

import (
	"flag"
	"fmt"
	"net/url"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/downsignal/downsignal/app"
	"github.com/downsignal/downsignal/internal/apptest"
	"github.com/downsignal/downsignal/internal/measure"
)

var (
	soakFor       = flag.Duration("soak", 0, "run the long soak for this long (e.g. 30m) instead of the short one")
	soakRate      = flag.Int("soak.rate", 25, "posts per second of the long soak")
	soakRetention = flag.Duration("soak.topic-retention", 5*time.Minute, "--topic-retention of the long soak")
)

// soakPlan is one soak: posts at a fixed rate from a live loopback
// Jetstream, the source killed once, samples every phase.
type soakPlan struct {
	rate             int
	length           time.Duration // of post making
	topicRetention   time.Duration
	segmentBytes     int64
	outageAt, outage time.Duration
	phase            time.Duration
	// heapLimit is the bound on the process's heap in use after the
	// topic retention window; indexBytesPerPost bounds the index's growth.
	heapLimit         uint64
	indexBytesPerPost float64
}

func soakPlanFromFlags() soakPlan {
	if *soakFor > 0 {
		return soakPlan{rate: *soakRate, length: *soakFor, topicRetention: *soakRetention, segmentBytes: 64 << 10,
			outageAt: *soakFor / 3, outage: time.Minute, phase: max(*soakFor/15, 30*time.Second),
			heapLimit: 512 << 20, indexBytesPerPost: 4096}
	}
	// The topic retention must outlast the pipeline's worst lag, or
	// records expire unread: under -race on a busy 2-core machine 100
	// posts/s with 30 s lost posts.
	return soakPlan{rate: 50, length: 180 * time.Second, topicRetention: time.Minute, segmentBytes: 16 << 10,
		outageAt: 80 * time.Second, outage: 15 * time.Second, phase: 15 * time.Second,
		heapLimit: 256 << 20, indexBytesPerPost: 4096}
}

// soakSample is the process's state at one moment.
type soakSample struct {
	at                       time.Duration
	made                     int64
	cpu                      time.Duration // user+system since start
	rss, rssFile, heapInuse  uint64        // rss: anonymous
	retainedRecords          float64       // both topics
	retainedBytes, diskBytes float64       // embedded broker
	indexBytes               int64
}

// TestSoak runs `run` against a live loopback Jetstream at a fixed rate
// with the topic retention scaled down, kills the source for a while, and
// checks what a week unattended needs: after the retention window the
// embedded broker's retained records and its disk stop growing and the
// heap in use stays under a bound, while the index grows only by the
// posts it keeps; the source is rejoined within 5 s of its return and no
// post is lost.
//
// The short form (CI: 50 posts/s, a 1-minute topic retention, the source
// away 15 s) takes about three and a half minutes. The long one reports each
// phase and is run by hand:
//
//	go test -run TestSoak -timeout 0 -v ./app/ -soak=30m -soak.rate=25 -soak.topic-retention=5m
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("soak: minutes long")
	}
	plan := soakPlanFromFlags()
	src := newSoakJetstream(t, plan.rate, plan.outage+2*time.Minute)
	reg := prometheus.NewRegistry()
	dir := t.TempDir()
	p := apptest.Start(t, app.Options{DataDir: dir, JetstreamURL: src.URL(), Registry: reg,
		TopicRetention: plan.topicRetention, TopicSegmentBytes: plan.segmentBytes})

	start := time.Now()
	go src.run()
	var samples []soakSample
	sample := func() {
		s := takeSample(t, reg, dir, start)
		s.made = src.made.Load()
		samples = append(samples, s)
		t.Logf("%s", s)
	}
	t.Logf("%d posts/s for %s, topic retention %s, source killed at %s for %s", plan.rate, plan.length, plan.topicRetention, plan.outageAt, plan.outage)
	t.Logf("%s", soakHeader)
	killed := false
	for time.Since(start) < plan.length {
		next := min(plan.phase-time.Since(start)%plan.phase, plan.length-time.Since(start))
		if !killed && time.Since(start)+next > plan.outageAt {
			time.Sleep(plan.outageAt - time.Since(start))
			src.kill()
			killed = true
			time.Sleep(plan.outage / 2)
			checkSoakStatus(t, p, "reconnecting", plan.outage/2-2*time.Second)
			time.Sleep(plan.outage - plan.outage/2)
			src.start(src.addr)
			continue
		}
		time.Sleep(next)
		sample()
	}
	src.halt()

	resumed, ok := src.resumedAfter()
	if !ok || resumed > 5*time.Second {
		t.Errorf("source back for %s: resumed %v after %s, want within 5s", time.Since(src.returned), ok, resumed)
	} else {
		t.Logf("source killed for %s: ingest resumed %s after its return", plan.outage, resumed.Round(time.Millisecond))
	}
	checkSoakStatus(t, p, "live", 0)
	soakWaitAllCounted(t, p, src.made.Load(), start)
	final := takeSample(t, reg, dir, start)
	final.made = src.made.Load()
	t.Logf("%s (all counted)", final)
	checkSoakBounds(t, plan, append(samples, final))
}

// checkSoakBounds judges the samples; the last one was taken once every
// post was searchable, after the source stopped.
func checkSoakBounds(t *testing.T, plan soakPlan, samples []soakSample) {
	t.Helper()
	// Retained records expire within a retention check (a tenth of the
	// retention) after their retention; the backlog of the outage, and
	// the 5 s the source rewinds its cursor on reconnect, arrive at once
	// after it with fresh timestamps. 5 s more for the pipeline's delays.
	window := plan.topicRetention + plan.topicRetention/5
	maxRecords := 2 * float64(plan.rate) * (window + plan.outage + 10*time.Second).Seconds()
	// Disk: the retained batches (about maxRecords at the largest record
	// size seen), up to two segments per partition (the active one and
	// one not yet all expired), and kfake's group and producer state logs,
	// each rewritten at 1 MiB, and its small topic state: 3 MiB.
	settled := plan.topicRetention + plan.topicRetention/5 + plan.phase
	var late []soakSample
	for _, s := range samples {
		if s.at >= settled {
			late = append(late, s)
		}
	}
	if len(late) < 3 {
		t.Fatalf("only %d samples after the retention window (%s): the soak is too short to judge", len(late), settled)
	}
	var bytesPerRecord float64
	for _, s := range samples {
		if s.retainedRecords > 0 {
			bytesPerRecord = max(bytesPerRecord, s.retainedBytes/s.retainedRecords)
		}
	}
	maxDisk := maxRecords*bytesPerRecord + float64(2*2*6*plan.segmentBytes) + 3<<20
	for _, s := range late {
		if s.retainedRecords > maxRecords {
			t.Errorf("at %s the broker retained %.0f records, want at most %.0f (%d posts/s in both topics over %s, the outage and 10s)",
				s.at, s.retainedRecords, maxRecords, plan.rate, window)
		}
		if s.diskBytes > maxDisk {
			t.Errorf("at %s the broker's directory held %.1f MiB, want at most %.1f MiB", s.at, s.diskBytes/(1<<20), maxDisk/(1<<20))
		}
		if s.heapInuse > plan.heapLimit {
			t.Errorf("at %s the heap in use was %d MiB, want at most %d MiB", s.at, s.heapInuse>>20, plan.heapLimit>>20)
		}
	}
	last := samples[len(samples)-1]
	if per := float64(last.indexBytes) / float64(last.made); per > plan.indexBytesPerPost {
		t.Errorf("index: %d bytes for %d posts, %.0f a post, want at most %.0f", last.indexBytes, last.made, per, plan.indexBytesPerPost)
	}
	first, late := late[0], late[:len(late)-1] // slopes while posts come
	mib := func(f func(soakSample) float64) float64 { return slopePerMinute(late, f) / (1 << 20) }
	t.Logf("after the retention window (%s to %s), least-squares slopes per minute: anonymous RSS %+.2f MiB, file-backed RSS %+.2f MiB, heap in use %+.2f MiB, broker retained %+.0f records and %+.3f MiB, broker disk %+.3f MiB, index %+.2f MiB (%.0f bytes a post)",
		first.at.Round(time.Second), late[len(late)-1].at.Round(time.Second),
		mib(func(s soakSample) float64 { return float64(s.rss) }),
		mib(func(s soakSample) float64 { return float64(s.rssFile) }),
		mib(func(s soakSample) float64 { return float64(s.heapInuse) }),
		slopePerMinute(late, func(s soakSample) float64 { return s.retainedRecords }),
		mib(func(s soakSample) float64 { return s.retainedBytes }),
		mib(func(s soakSample) float64 { return s.diskBytes }),
		mib(func(s soakSample) float64 { return float64(s.indexBytes) }),
		float64(last.indexBytes-first.indexBytes)/float64(max(last.made-first.made, 1)))
	cpu := last.cpu - samples[0].cpu
	t.Logf("CPU: %.1f%% of one core at %d posts/s (%s over %s)", 100*cpu.Seconds()/(last.at-samples[0].at).Seconds(), plan.rate, cpu.Round(time.Millisecond), (last.at - samples[0].at).Round(time.Second))
}

// slopePerMinute is the least-squares slope of f over the samples.
func slopePerMinute(samples []soakSample, f func(soakSample) float64) float64 {
	var n, sx, sy, sxx, sxy float64
	for _, s := range samples {
		x, y := s.at.Minutes(), f(s)
		n, sx, sy, sxx, sxy = n+1, sx+x, sy+y, sxx+x*x, sxy+x*y
	}
	if d := n*sxx - sx*sx; d != 0 {
		return (n*sxy - sx*sy) / d
	}
	return 0
}

// checkSoakStatus checks what GET /v1/status says of the source: its
// state, and while it is away, for at least how long.
func checkSoakStatus(t *testing.T, p *apptest.Process, state string, away time.Duration) {
	t.Helper()
	var st struct {
		Source struct {
			State       string  `json:"state"`
			AwaySeconds float64 `json:"away_seconds"`
			LastError   string  `json:"last_error"`
		} `json:"source"`
	}
	if code := p.Get(t, "/v1/status", &st); code != 200 {
		t.Errorf("GET /v1/status: %d", code)
		return
	}
	src := st.Source
	if src.State != state || src.AwaySeconds < away.Seconds() || (state != "live" && src.LastError == "") {
		t.Errorf("/v1/status source %+v, want state %s, away at least %s and, while away, the last error", src, state, away)
		return
	}
	t.Logf("/v1/status: source %s, away %.0fs, last error %q", src.State, src.AwaySeconds, src.LastError)
}

// soakWaitAllCounted waits until every post the source made is counted in
// the whole stream's trend (the index keeps in Bleve only the posts that
// matter, but counts every one): at-least-once delivery and the outage
// lost none.
func soakWaitAllCounted(t *testing.T, p *apptest.Process, made int64, start time.Time) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	var total int64
	for time.Now().Before(deadline) {
		var tr struct {
			Points []struct {
				Mentions int64 `json:"mentions"`
			} `json:"points"`
		}
		q := url.Values{"since": {start.Add(-time.Minute).UTC().Format(time.RFC3339)},
			"until": {time.Now().Add(time.Minute).UTC().Format(time.RFC3339)}, "step": {"5m"}}
		if code := p.Get(t, "/v1/trends?"+q.Encode(), &tr); code == 200 {
			total = 0
			for _, pt := range tr.Points {
				total += pt.Mentions
			}
			if total == made {
				return
			}
		}
		time.Sleep(time.Second)
	}
	t.Errorf("%d of %d posts counted two minutes after the source stopped (readers skipped expired records %d times)",
		total, made, strings.Count(p.Logs.String(), "reading before the first offset"))
}

const soakHeader = "   at   posts  cpu_s  anon_MiB  file_MiB  heap_MiB  broker_records  broker_KiB  broker_disk_MiB  index_MiB"

func (s soakSample) String() string {
	return fmt.Sprintf("%5.0fs %7d %6.1f %9.1f %9.1f %9.1f %15.0f %11.0f %16.2f %10.2f",
		s.at.Seconds(), s.made, s.cpu.Seconds(), float64(s.rss)/(1<<20), float64(s.rssFile)/(1<<20), float64(s.heapInuse)/(1<<20),
		s.retainedRecords, s.retainedBytes/1024, s.diskBytes/(1<<20), float64(s.indexBytes)/(1<<20))
}

func takeSample(t *testing.T, reg *prometheus.Registry, dir string, start time.Time) soakSample {
	t.Helper()
	s := soakSample{at: time.Since(start)}
	s.cpu = measure.CPUTime()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s.heapInuse = ms.HeapInuse
	if mem, err := measure.ReadMemory(0); err == nil {
		// Anonymous and file-backed apart: Bleve maps its segment files,
		// whose pages count as resident when read and which the kernel
		// drops under pressure.
		s.rss, s.rssFile = uint64(mem.Anon), uint64(mem.File)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather metrics: %v", err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			switch mf.GetName() {
			case "downsignal_broker_retained_records":
				s.retainedRecords += m.GetGauge().GetValue()
			case "downsignal_broker_retained_bytes":
				s.retainedBytes += m.GetGauge().GetValue()
			case "downsignal_broker_disk_bytes":
				s.diskBytes = m.GetGauge().GetValue()
			}
		}
	}
	s.indexBytes, _ = measure.TreeBytes(filepath.Join(dir, "index"))
	return s
}
