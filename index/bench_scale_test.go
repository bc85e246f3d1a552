package index_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/downsignal/downsignal/index"
	"github.com/downsignal/downsignal/internal/benchposts"
	"github.com/downsignal/downsignal/internal/measure"
	"github.com/downsignal/downsignal/record"
)

// BenchmarkScale indexes DOWNSIGNAL_BENCH_POSTS synthetic posts (default
// 50,000; the figures in the README are for 1,000,000) spread over days
// with recurring incidents, one in ten of them relevant (index.Relevant)
// as on the real network, with the default --index-posts relevant. It
// reports the kept fraction, the Bleve bytes per indexed post and the
// state store's bytes per post (every post has a ledger entry), then
// measures the analysts' common queries,
// the trend queries, the time from a post's arrival to it being
// searchable while indexing goes on at full speed (with search latency
// under that load), and the process's memory.
//
//	DOWNSIGNAL_BENCH_POSTS=1000000 go test -run '^$' -bench Scale -benchtime 1x -timeout 2h ./index/
func BenchmarkScale(b *testing.B) {
	n := benchposts.Count(b, 50_000)
	for b.Loop() {
		benchScale(b, n)
	}
}

func benchScale(b *testing.B, n int) {
	dir := b.TempDir()
	x, err := index.Open(index.Options{Dir: dir})
	if err != nil {
		b.Fatal(err)
	}
	defer x.Close()
	// One post every 0.5 s: a million posts span about six days.
	start := time.Date(2026, 1, 17, 0, 0, 0, 0, time.UTC)
	gen, err := benchposts.New(2, start, 500*time.Millisecond)
	if err != nil {
		b.Fatal(err)
	}
	gen.SetRelevantShare(0.085)
	var offset int64
	kept := 0
	// batchOf returns the next size posts and the last relevant one's URI.
	batchOf := func(size int) ([]record.Delivery[record.Signal], string) {
		msgs := make([]record.Delivery[record.Signal], 0, size)
		var last string
		for range size {
			sig := gen.Signal(gen.Next())
			msgs = append(msgs, delivery(sig, offset))
			offset++
			if index.Relevant(&sig) {
				last = sig.Event.URI
				kept++
			}
		}
		return msgs, last
	}
	ctx := context.Background()
	var applyTime time.Duration
	for done := 0; done < n; done += 1000 {
		msgs, _ := batchOf(min(1000, n-done))
		t0 := time.Now()
		if err := x.Handle(ctx, msgs); err != nil {
			b.Fatal(err)
		}
		applyTime += time.Since(t0)
	}
	b.ReportMetric(float64(n)/applyTime.Seconds(), "load_docs/s")
	// Past days are merged to one segment, as Index.Run does every minute.
	t0 := time.Now()
	if err := x.Compact(ctx); err != nil {
		b.Fatal(err)
	}
	compactTime := time.Since(t0)
	end := start.Add(time.Duration(n) * 500 * time.Millisecond)
	fmt.Printf("applied %d posts from %s to %s in %d partitions at %.0f posts/s (index stage alone); compacted past days in %s\n",
		n, start.Format(time.DateTime), end.Format(time.DateTime), len(x.Partitions()), float64(n)/applyTime.Seconds(), compactTime.Round(time.Millisecond))
	bleveBytes, stateBytes := treeBytes(b, dir+"/days"), fileSize(b, dir+"/state.db")
	fmt.Printf("kept %d of %d posts in Bleve (%.1f%%): %d bytes per indexed post; state store %d bytes per post\n",
		kept, n, 100*float64(kept)/float64(n), bleveBytes/int64(max(kept, 1)), stateBytes/int64(n))
	b.ReportMetric(float64(kept)/float64(n), "kept_fraction")
	b.ReportMetric(float64(bleveBytes)/float64(max(kept, 1)), "bleve_B/indexed_post")
	b.ReportMetric(float64(stateBytes)/float64(n), "state_B/post")

	// The last incident before the end of the data: "since 14:30".
	onset := end.Truncate(6 * time.Hour).Add(2 * time.Hour)
	if onset.After(end) {
		onset = onset.Add(-6 * time.Hour)
	}
	queries := []struct {
		name string
		r    index.SearchRequest
	}{
		{"outlook_since_chicago_code_newest", index.SearchRequest{Service: "Outlook", Since: onset, Region: "Chicago", Code: "451 4.3.2"}},
		{"text_down_newest", index.SearchRequest{Query: "down"}},
		{"querystring_24h_relevance", index.SearchRequest{Query: `+services:Teams +text:down`, Since: end.Add(-24 * time.Hour), Sort: index.SortRelevance}},
		{"m365_outage_1h_facets", index.SearchRequest{Service: "Microsoft 365", OutageOnly: true, Since: end.Add(-time.Hour), Facets: true}},
		{"phrase_6h_highlight", index.SearchRequest{Query: `"temporary server"`, Since: end.Add(-6 * time.Hour), Highlight: true}},
		{"code_family_lang_2h", index.SearchRequest{Family: "smtp", Lang: "en", Since: end.Add(-2 * time.Hour)}},
		{"match_all_newest", index.SearchRequest{}},
	}
	report := &strings.Builder{}
	fmt.Fprintf(report, "\n%-36s %8s %8s %8s %9s\n", "query", "p50_ms", "p99_ms", "max_ms", "total")
	const rounds = 200
	for _, q := range queries {
		var lat []time.Duration
		var total uint64
		var cursor string
		for i := range rounds {
			r := q.r
			if i%2 == 1 {
				r.Cursor = cursor // every other query is the next page
			}
			t0 := time.Now()
			res, err := x.Search(ctx, r)
			lat = append(lat, time.Since(t0))
			if err != nil {
				b.Fatalf("%s: %v", q.name, err)
			}
			if i%2 == 0 {
				cursor, total = res.NextCursor, res.Total
			}
		}
		p50, p99, mx := percentiles(lat)
		fmt.Fprintf(report, "%-36s %8.2f %8.2f %8.2f %9d\n", q.name, ms(p50), ms(p99), ms(mx), total)
		b.ReportMetric(ms(p99), q.name+"_p99_ms")
	}

	trends := []struct {
		name string
		fn   func() error
	}{
		{"trend_outlook_1m_1h", func() error {
			_, err := x.Trend(index.TrendRequest{Service: "Outlook", Since: end.Add(-time.Hour), Until: end, Step: time.Minute})
			return err
		}},
		{"trend_teams_5m_24h", func() error {
			_, err := x.Trend(index.TrendRequest{Service: "Teams", Since: end.Add(-24 * time.Hour), Until: end, Step: 5 * time.Minute})
			return err
		}},
		{"trend_all_1h_7d", func() error {
			_, err := x.Trend(index.TrendRequest{Since: end.Add(-7 * 24 * time.Hour), Until: end, Step: time.Hour})
			return err
		}},
		{"trend_chicago_code_15m_6h", func() error {
			_, err := x.Trend(index.TrendRequest{Code: "451 4.3.2", Region: "Chicago", Since: end.Add(-6 * time.Hour), Until: end, Step: 15 * time.Minute})
			return err
		}},
		{"top_services_15m", func() error {
			_, err := x.TopServices(index.TopRequest{Window: 15 * time.Minute, At: end})
			return err
		}},
		{"top_codes_1h", func() error {
			_, err := x.TopCodes(index.TopRequest{Window: time.Hour, At: end})
			return err
		}},
		{"service_levels", func() error {
			x.ServiceLevels(end, nil)
			return nil
		}},
	}
	for _, tr := range trends {
		var lat []time.Duration
		for range rounds {
			t0 := time.Now()
			if err := tr.fn(); err != nil {
				b.Fatalf("%s: %v", tr.name, err)
			}
			lat = append(lat, time.Since(t0))
		}
		p50, p99, mx := percentiles(lat)
		fmt.Fprintf(report, "%-36s %8.3f %8.3f %8.3f\n", tr.name, ms(p50), ms(p99), ms(mx))
		b.ReportMetric(ms(p99), tr.name+"_p99_ms")
	}

	// Post to searchable while indexing at full speed: a writer applies
	// batches back to back; the posts of batch k arrive while batch k-1
	// is being written, so their wait starts when it started. A reader
	// polls for each batch's last post; an analyst runs the first query
	// meanwhile.
	extra := max(20_000, n/10)
	type probe struct {
		uri     string
		arrived time.Time
	}
	probes := make(chan probe, extra/1000+1)
	var visible []time.Duration
	var wg sync.WaitGroup
	wg.Go(func() {
		for p := range probes {
			for {
				if _, err := x.Get(ctx, p.uri); err == nil {
					visible = append(visible, time.Since(p.arrived))
					break
				}
				time.Sleep(2 * time.Millisecond)
			}
		}
	})
	stop := make(chan struct{})
	var underLoad []time.Duration
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			t0 := time.Now()
			if _, err := x.Search(ctx, queries[0].r); err != nil {
				b.Error(err)
				return
			}
			underLoad = append(underLoad, time.Since(t0))
			time.Sleep(20 * time.Millisecond)
		}
	})
	arrived := time.Now()
	t0 = time.Now()
	for done := 0; done < extra; done += 1000 {
		msgs, last := batchOf(1000)
		next := time.Now()
		if err := x.Handle(ctx, msgs); err != nil {
			b.Fatal(err)
		}
		if last != "" {
			probes <- probe{last, arrived}
		}
		arrived = next
	}
	rate := float64(extra) / time.Since(t0).Seconds()
	close(probes)
	close(stop)
	wg.Wait()
	p50, p99, mx := percentiles(visible)
	fmt.Fprintf(report, "%-36s %8.1f %8.1f %8.1f   (%d batches, %.0f posts/s)\n", "post_to_searchable_under_load", ms(p50), ms(p99), ms(mx), len(visible), rate)
	b.ReportMetric(ms(p99), "post_to_searchable_p99_ms")
	p50, p99, mx = percentiles(underLoad)
	fmt.Fprintf(report, "%-36s %8.2f %8.2f %8.2f\n", "search_under_load("+queries[0].name+")", ms(p50), ms(p99), ms(mx))
	b.ReportMetric(ms(p99), "search_under_load_p99_ms")

	mem, err := measure.ReadMemory(0)
	if err != nil {
		b.Fatal(err)
	}
	fmt.Fprintf(report, "RSS %d MiB, peak RSS %d MiB, index on disk %d MiB\n", mem.RSS>>20, mem.PeakRSS>>20, treeBytes(b, dir)>>20)
	b.ReportMetric(float64(mem.RSS>>20), "rss_MiB")
	b.ReportMetric(float64(mem.PeakRSS>>20), "peak_rss_MiB")
	fmt.Println(report.String())
}

func percentiles(d []time.Duration) (p50, p99, mx time.Duration) {
	if len(d) == 0 {
		return
	}
	s := slices.Clone(d)
	slices.Sort(s)
	at := func(q float64) time.Duration { return s[min(len(s)-1, int(q*float64(len(s))))] }
	return at(0.50), at(0.99), s[len(s)-1]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func treeBytes(b *testing.B, dir string) int64 {
	n, err := measure.TreeBytes(dir)
	if err != nil {
		b.Fatal(err)
	}
	return n
}

func fileSize(b *testing.B, path string) int64 {
	info, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return info.Size()
}

// delivery passes a signal through its wire form, as the consumer hands
// it to the index: encoded, decoded, at offset of partition 0.
func delivery(sig record.Signal, offset int64) record.Delivery[record.Signal] {
	b, err := json.Marshal(sig)
	if err != nil {
		panic(err)
	}
	v, err := record.DecodeSignal(b)
	if err != nil {
		panic(err)
	}
	return record.Delivery[record.Signal]{Position: record.Position{Offset: offset}, Value: v}
}
