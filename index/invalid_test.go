package index_test

import (
	"context"
	"testing"
	"time"

	"github.com/downsignal/downsignal/index"
	"github.com/downsignal/downsignal/record"
)

// An undecodable record (handed on marked Invalid by broker.Consumer)
// changes nothing but the offset of its partition: the index records that
// it is past it, with the valid records around it indexed once.
func TestInvalidRecordsMoveOffsetsOnly(t *testing.T) {
	x, err := index.Open(index.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	at := time.Date(2026, 1, 22, 19, 31, 0, 0, time.UTC)
	post := func(rkey string) record.Signal {
		res := record.Result{Outage: true, Intent: record.IntentOutage, Score: 0.9,
			Services: []record.ServiceHit{{ID: "outlook", Name: "Outlook"}}, ErrorCodes: []record.ErrorCode{}}
		return record.Signal{V: 1, Result: &res, Event: record.Event{V: 1, Kind: record.KindPost, DID: "did:plc:a",
			URI: "at://did:plc:a/app.bsky.feed.post/" + rkey, Time: at, Text: "outlook down", Source: "replay"}}
	}
	batch := []record.Delivery[record.Signal]{
		{Position: record.Position{Partition: 0, Offset: 0}, Value: post("3a")},
		{Position: record.Position{Partition: 0, Offset: 1}, Invalid: true},
		{Position: record.Position{Partition: 0, Offset: 2}, Value: post("3b")},
		{Position: record.Position{Partition: 0, Offset: 3}, Invalid: true},
	}
	for range 2 { // the second time is a redelivery
		if err := x.Handle(context.Background(), batch); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := x.DocCount(); err != nil || n != 2 {
		t.Errorf("%d documents (%v), want the 2 valid posts once", n, err)
	}
	if got := x.Position()[0]; got != 4 {
		t.Errorf("position of partition 0 = %d, want 4: past the invalid record at offset 3", got)
	}
	pts, err := x.Trend(index.TrendRequest{Service: "Outlook", Since: at.Truncate(time.Minute), Until: at.Truncate(time.Minute).Add(time.Minute), Step: time.Minute})
	if err != nil || len(pts) != 1 || pts[0].Posts != 2 {
		t.Errorf("Outlook trend %+v (%v), want 2 posts once", pts, err)
	}
}
