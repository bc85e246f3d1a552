package firehose_test

import (
	"testing"
	"time"

	"github.com/downsignal/downsignal/ingest/firehose"
	"github.com/downsignal/downsignal/ingest/ingesttest"
	"github.com/downsignal/downsignal/record"
)

// BenchmarkDecodeFirehose decodes the 150 recorded relay frames (148
// commits of every collection, 17 of them posts) per op, as the firehose
// source does: frame header, commit body, CAR slice, post records.
func BenchmarkDecodeFirehose(b *testing.B) {
	frames := ingesttest.RecordedFrames(b)
	var d firehose.FrameDecoder
	posts, bytes := 0, 0
	for _, f := range frames {
		bytes += len(f)
		fr, err := d.Decode(f, "firehose")
		if err != nil {
			b.Fatal(err)
		}
		for _, ev := range fr.Events {
			if ev.Kind == record.KindPost {
				posts++
			}
		}
	}
	b.SetBytes(int64(bytes))
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		for _, f := range frames {
			if _, err := d.Decode(f, "firehose"); err != nil {
				b.Fatal(err)
			}
		}
	}
	secs := time.Since(start).Seconds()
	b.ReportMetric(float64(posts*b.N)/secs, "posts/s")
	b.ReportMetric(float64(len(frames)*b.N)/secs, "frames/s")
}
