package firehose

import (
	"bytes"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/api/bsky"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/downsignal/downsignal/record"
)

// A repository with more posts than a reset event may list keeps the
// newest record.MaxResetKeep, says where the list starts, and the event fits in a
// Kafka message. Records that do not decode are still kept: they exist.
func TestResetEventsTruncateToTheNewestPosts(t *testing.T) {
	var rec bytes.Buffer
	p := bsky.FeedPost{LexiconTypeID: record.PostCollection, Text: "outlook down", CreatedAt: "2026-01-22T19:31:00.000Z"}
	if err := p.MarshalCBOR(&rec); err != nil {
		t.Fatal(err)
	}
	clock := syntax.NewTIDClock(0)
	n := record.MaxResetKeep + 500
	recs := make([]RepoRecord, n)
	for i := range recs {
		recs[i] = RepoRecord{RKey: clock.Next().String(), CID: "bafyreib2rxk3rybk3aobmv5cjuql3bm2twh4jo5uxgf5nxy2rzvmdmmkry", Data: rec.Bytes()}
	}
	newest := recs[n-1].RKey
	oldestKept := recs[n-record.MaxResetKeep].RKey
	recs[n-2].Data = []byte("not cbor")
	// Out of order, as nothing promises otherwise.
	recs[0], recs[n-1] = recs[n-1], recs[0]

	at := time.Date(2026, 1, 23, 0, 0, 0, 0, time.UTC)
	evs, errs := resetEvents("did:plc:alice", at, recs, "firehose")
	if len(errs) != 1 {
		t.Fatalf("errors %v, want one for the bad record", errs)
	}
	if len(evs) != record.MaxResetKeep {
		t.Fatalf("%d events, want %d posts (one bad) and a reset", len(evs), record.MaxResetKeep-1)
	}
	reset := evs[len(evs)-1]
	if reset.Kind != record.KindReset || len(reset.Keep) != record.MaxResetKeep || reset.Keep[0] != newest || reset.KeepFrom != oldestKept {
		t.Fatalf("reset: %d kept, first %s, from %s; want %d from %s, first %s",
			len(reset.Keep), reset.Keep[0], reset.KeepFrom, record.MaxResetKeep, oldestKept, newest)
	}
	if evs[0].URI != record.PostURI("did:plc:alice", newest) || evs[0].Time.After(at) || evs[0].Text != "outlook down" {
		t.Fatalf("first post %+v", evs[0])
	}
	b, err := reset.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 512<<10 {
		t.Fatalf("reset event is %d bytes", len(b))
	}
	if _, err := record.DecodeEvent(b); err != nil {
		t.Fatal(err)
	}

	// A post dated after the #sync is placed at the #sync.
	p.CreatedAt = "2099-01-01T00:00:00Z"
	rec.Reset()
	if err := p.MarshalCBOR(&rec); err != nil {
		t.Fatal(err)
	}
	evs, _ = resetEvents("did:plc:alice", at, []RepoRecord{{RKey: "3kfuture", Data: rec.Bytes()}}, "firehose")
	if len(evs) != 2 || !evs[0].Time.Equal(at) {
		t.Fatalf("future post: %+v", evs)
	}
	// Bad record keys never reach an event.
	evs, errs = resetEvents("did:plc:alice", at, []RepoRecord{{RKey: "bad key/..", Data: rec.Bytes()}}, "firehose")
	if len(errs) != 1 || len(evs) != 1 || len(evs[0].Keep) != 0 {
		t.Fatalf("bad key: %v %+v", errs, evs)
	}
}
