package detect_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/downsignal/downsignal/detect"
	"github.com/downsignal/downsignal/detect/detecttest"
	"github.com/downsignal/downsignal/record"
)

// A day of classified posts with the Microsoft 365 outage goes in; one
// grouped incident and its notifications come out.
func Example() {
	dir, _ := os.MkdirTemp("", "alert-example")
	defer os.RemoveAll(dir)
	e, err := detect.Open(detect.Options{Path: filepath.Join(dir, "alerts.db")})
	if err != nil {
		panic(err)
	}
	defer e.Close()

	var batch []record.Delivery[record.Signal]
	for i, sig := range signals(detecttest.Day(detecttest.DayOptions{Seed: 4, From: 12, To: 23, Surge: true})) {
		batch = append(batch, record.Delivery[record.Signal]{Position: record.Position{Partition: 0, Offset: int64(i)}, Value: sig})
	}
	if err := e.Apply(context.Background(), batch, time.Now()); err != nil {
		panic(err)
	}
	onset := detecttest.SurgeOnset(time.Date(2026, 1, 22, 0, 0, 0, 0, time.UTC))
	for _, in := range e.Incidents(detect.Filter{}) {
		fmt.Println(in.Service, in.State, "- top code", in.TopCodes[0].Code)
		fmt.Println("fired within 5 minutes of the onset:", in.FiringAt.Sub(onset) <= 5*time.Minute)
	}
	events, _ := e.EventsAfter(0, 10)
	fmt.Println("first notification:", events[0].Type, "- last:", events[len(events)-1].Type)
	// Output:
	// Microsoft 365 resolved - top code 451 4.3.2
	// fired within 5 minutes of the onset: true
	// first notification: incident.firing - last: incident.resolved
}
