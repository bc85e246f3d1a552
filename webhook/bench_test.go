package webhook_test

import (
	"testing"

	"github.com/downsignal/downsignal/detect"
	"github.com/downsignal/downsignal/webhook"
)

// BenchmarkRender renders an incident.firing message in each format.
func BenchmarkRender(b *testing.B) {
	in := incident
	for _, f := range webhook.Formats {
		b.Run(string(f), func(b *testing.B) {
			ep := &webhook.Endpoint{Format: f, RoutingKey: "k"}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := webhook.Render(f, ep, webhook.Message{Type: detect.EventFiring, Time: in.StartedAt, Incident: &in}, ""); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
