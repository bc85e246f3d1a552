package detect_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/downsignal/downsignal/detect"
	"github.com/downsignal/downsignal/record"
)

// An undecodable record (handed on marked Invalid by broker.Consumer)
// changes nothing but the offset of its partition, as in the index.
func TestInvalidRecordsMoveOffsetsOnly(t *testing.T) {
	e, err := detect.Open(detect.Options{Path: filepath.Join(t.TempDir(), "alerts.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	at := time.Date(2026, 1, 22, 19, 31, 0, 0, time.UTC)
	res := record.Result{Outage: true, Intent: record.IntentOutage, Score: 0.9,
		Services: []record.ServiceHit{{ID: "outlook", Name: "Outlook", Group: "Microsoft 365"}}, ErrorCodes: []record.ErrorCode{}}
	sig := record.Signal{V: 1, Result: &res, Event: record.Event{V: 1, Kind: record.KindPost, DID: "did:plc:a",
		URI: "at://did:plc:a/app.bsky.feed.post/3a", Time: at, Text: "outlook down", Source: "replay"}}
	batch := []record.Delivery[record.Signal]{
		{Position: record.Position{Partition: 2, Offset: 7, HighWaterMark: 9}, Value: sig},
		{Position: record.Position{Partition: 2, Offset: 8, HighWaterMark: 9}, Invalid: true},
		{Position: record.Position{Partition: 4, Offset: 0, HighWaterMark: 1}, Invalid: true},
	}
	if err := e.Apply(context.Background(), batch, at.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	pos := e.Position()
	if pos[2] != 9 || pos[4] != 1 {
		t.Errorf("positions %v, want partition 2 at 9 and 4 at 1: past the invalid records", pos)
	}
}
