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

// Identified is a Source whose input can change under one name: a replay
// file written over with another capture. Its cursor holds only for the
// input it was saved in, so the Stage saves Identity with the cursor and,
// when the input's identity changed, logs a warning and reads it from the
// start (duplicates are harmless downstream; a skipped post is lost).
type Identified interface {
	// Identity names the input as it is now (for a file: its size and a
	// hash of its start).
	Identity() (string, error)
}
