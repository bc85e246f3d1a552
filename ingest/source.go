package ingest

import (
	"context"

	"github.com/downsignal/downsignal/record"
)

// Item is what a source hands to the stage: an event, or only a cursor
// position when the source read something it does not keep (so the cursor
// still advances past it).
//
// Cursor is where a restart may resume once this item and every item
// before it are in Kafka. When one network message yields several events
// (a relay commit with several posts), all but the last carry the position
// before the message, so a restart re-reads the whole message.
type Item struct {
	Event  *record.Event
	Cursor int64
}

// Emit passes one item downstream. It blocks while the pipeline is busy
// (that is the back-pressure on a source) and fails only when ctx ends.
type Emit func(ctx context.Context, it Item) error

// Source reads events from the network or a file.
type Source interface {
	// Name identifies the source and, with it, its saved cursor:
	// "jetstream", "firehose:<relay host>", "replay:/abs/path".
	Name() string
	// Run emits items starting after cursor (0: the source's own default
	// start). It returns nil when a finite source is exhausted, ctx.Err()
	// when ctx ends; a live source retries network errors itself and
	// returns only for ctx.
	Run(ctx context.Context, cursor int64, emit Emit) error
}
