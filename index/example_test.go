package index_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/downsignal/downsignal/classify"
	"github.com/downsignal/downsignal/index"
	"github.com/downsignal/downsignal/ingest"
)

func ExampleIndex_Search() {
	dir, _ := os.MkdirTemp("", "downsignal-example")
	defer os.RemoveAll(dir)
	x, err := index.Open(index.Options{Dir: dir})
	if err != nil {
		panic(err)
	}
	defer x.Close()
	stage, _ := index.NewStage(x, nil)

	// One record of downsignal.signals, as the classify stage writes it.
	clf, _ := classify.New()
	at := time.Date(2026, 1, 22, 19, 31, 12, 0, time.UTC)
	text := "Outlook down for anyone else? 451 4.3.2 temporary server issue"
	res := clf.Classify(classify.Input{Text: text})
	sig := classify.Signal{V: 1, Result: &res, Event: ingest.Event{V: 1, Kind: ingest.KindPost, DID: "did:plc:bob",
		URI: "at://did:plc:bob/app.bsky.feed.post/3bbb", Time: at, Text: text, Source: "replay"}}
	b, _ := json.Marshal(sig)
	if err := stage.Handle(context.Background(), []kafka.Message{{Partition: 0, Offset: 0, Value: b}}); err != nil {
		panic(err)
	}

	page, err := x.Search(context.Background(), index.SearchRequest{Query: "down", Service: "Outlook", Code: "451 4.3.2", Since: at.Add(-time.Hour)})
	if err != nil {
		panic(err)
	}
	for _, h := range page.Hits {
		fmt.Println(h.URI, h.Services[0].Name, h.ErrorCodes[0].Code)
	}
	points, _ := x.Trend(index.TrendRequest{Service: "Outlook", Since: at.Truncate(time.Minute), Until: at.Truncate(time.Minute).Add(time.Minute), Step: time.Minute})
	fmt.Println(points[0].Posts, "outage post,", points[0].Authors, "author")
	// Output:
	// at://did:plc:bob/app.bsky.feed.post/3bbb Outlook 451 4.3.2
	// 1 outage post, 1 author
}
