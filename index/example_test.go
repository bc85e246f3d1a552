package index_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/downsignal/downsignal/classify"
	"github.com/downsignal/downsignal/index"
	"github.com/downsignal/downsignal/record"
)

func ExampleIndex_Search() {
	dir, _ := os.MkdirTemp("", "downsignal-example")
	defer os.RemoveAll(dir)
	x, err := index.Open(index.Options{Dir: dir})
	if err != nil {
		panic(err)
	}
	defer x.Close()

	// One record of downsignal.signals, as the classify stage writes it.
	clf, _ := classify.New()
	at := time.Date(2026, 1, 22, 19, 31, 12, 0, time.UTC)
	text := "Outlook down for anyone else? 451 4.3.2 temporary server issue"
	res := clf.Classify(classify.Input{Text: text})
	sig := record.Signal{V: 1, Result: &res, Event: record.Event{V: 1, Kind: record.KindPost, DID: "did:plc:bob",
		URI: "at://did:plc:bob/app.bsky.feed.post/3bbb", Time: at, Text: text, Source: "replay"}}
	batch := []record.Delivery[record.Signal]{{Position: record.Position{Partition: 0, Offset: 0}, Value: sig}}
	if err := x.Handle(context.Background(), batch); err != nil {
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
