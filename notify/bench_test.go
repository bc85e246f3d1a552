package notify_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/downsignal/downsignal/detect"
	"github.com/downsignal/downsignal/webhook"
)

// BenchmarkDeliveries sends each op's incident (a firing and its resolve)
// to one configured endpoint on loopback, and reports deliveries/s:
// "alone" is one process sending everything itself (run); "one-notifier"
// is a serve replica in the notify group on the embedded broker, which
// shares each settle on downsignal.notify-state before the incident's
// next change may leave.
func BenchmarkDeliveries(b *testing.B) {
	for _, mode := range []string{"alone", "one-notifier"} {
		b.Run(mode, func(b *testing.B) {
			var got atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got.Add(1) }))
			b.Cleanup(srv.Close)
			endpoints := []webhook.ConfigEndpoint{{Name: "ops", URL: srv.URL + "/ops", Format: "native", Secret: "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}}
			var log *eventLog
			if mode == "alone" {
				log = newLog("alone")
				d, err := webhook.Open(webhook.Options{Path: filepath.Join(b.TempDir(), "webhooks.db"), Source: log,
					Guard: webhook.NewGuard([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}), Poll: 100 * time.Millisecond})
				if err != nil {
					b.Fatal(err)
				}
				if err := d.Configure(context.Background(), endpoints); err != nil {
					b.Fatal(err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan struct{})
				go func() { _ = d.Run(ctx); close(done) }()
				b.Cleanup(func() { cancel(); <-done; d.Close() })
			} else {
				r := startReplica(b, "r1", startBroker(b), endpoints)
				log = r.log
				deadline := time.Now().Add(60 * time.Second)
				for !r.n.Owns("any incident") {
					if time.Now().After(deadline) {
						b.Fatal("the replica never joined the notify group")
					}
					time.Sleep(20 * time.Millisecond)
				}
			}
			b.ResetTimer()
			start := time.Now()
			for i := range b.N {
				log.add(fmt.Sprintf("incident-%d", i), detect.EventFiring, detect.EventResolved)
			}
			want := int64(2 * b.N)
			for got.Load() < want {
				time.Sleep(time.Millisecond)
			}
			b.StopTimer()
			b.ReportMetric(float64(want)/time.Since(start).Seconds(), "deliveries/s")
		})
	}
}
