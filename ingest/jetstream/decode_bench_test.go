package jetstream_test

import (
	"testing"
	"time"

	"github.com/downsignal/downsignal/ingest/ingesttest"
	"github.com/downsignal/downsignal/ingest/jetstream"
	"github.com/downsignal/downsignal/record"
)

// BenchmarkDecodeJetstream decodes the same events as production Jetstream
// v1 served them (152 messages, 17 posts) per op.
func BenchmarkDecodeJetstream(b *testing.B) {
	lines := ingesttest.RecordedJetstream(b)
	posts, bytes := 0, 0
	for _, l := range lines {
		bytes += len(l)
		if ev, _, err := jetstream.Decode(l, "jetstream"); err == nil && ev.Kind == record.KindPost {
			posts++
		}
	}
	b.SetBytes(int64(bytes))
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		for _, l := range lines {
			jetstream.Decode(l, "jetstream")
		}
	}
	secs := time.Since(start).Seconds()
	b.ReportMetric(float64(posts*b.N)/secs, "posts/s")
	b.ReportMetric(float64(len(lines)*b.N)/secs, "msgs/s")
}
