package detect_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/downsignal/downsignal/detect"
	"github.com/downsignal/downsignal/detect/detecttest"
)

// BenchmarkApplyOutageDay applies a whole generated day with the Microsoft
// 365 outage (classified beforehand) in batches of 1000 across 6
// partitions, into a fresh store: counting, evaluating every minute and
// persisting each batch.
func BenchmarkApplyOutageDay(b *testing.B) {
	sigs := signals(detecttest.Day(detecttest.DayOptions{Date: day, Seed: 4, Surge: true}))
	f := &feeder{parts: 6, offsets: map[int]int64{}}
	chs := f.changes(sigs)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		e, err := detect.Open(detect.Options{Path: filepath.Join(b.TempDir(), "alerts.db")})
		if err != nil {
			b.Fatal(err)
		}
		now := time.Now()
		for i := 0; i < len(chs); i += 1000 {
			if err := e.Apply(context.Background(), chs[i:min(i+1000, len(chs))], now); err != nil {
				b.Fatal(err)
			}
		}
		if len(e.Incidents(detect.Filter{})) != 1 {
			b.Fatal("want one incident")
		}
		e.Close()
		n += len(chs)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}
