package verify_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/downsignal/downsignal/ingest/firehose"
	"github.com/downsignal/downsignal/ingest/firehose/verify"
	"github.com/downsignal/downsignal/ingest/ingesttest"
)

// TestVerifyRecordedFrames checks every real commit with the verifier,
// resolving keys from the recorded DID documents.
func TestVerifyRecordedFrames(t *testing.T) {
	frames := ingesttest.RecordedFrames(t)
	plain := ingesttest.SharedDataZstd(t, "did_docs.json.zst")
	var docs map[string]identity.DIDDocument
	if err := json.Unmarshal(plain, &docs); err != nil {
		t.Fatal(err)
	}
	dir := identity.NewMockDirectory()
	for _, d := range docs {
		dir.Insert(identity.ParseIdentity(&d))
	}
	v := verify.New(dir)
	n := 0
	for _, b := range frames {
		f, err := firehose.DecodeFrame(b, "firehose")
		if err != nil || f.Type != firehose.FrameCommit {
			continue
		}
		if err := v.VerifyCommit(context.Background(), f.Commit); err != nil {
			t.Errorf("seq %d: %v", f.Seq, err)
		}
		n++
	}
	if n != 148 {
		t.Errorf("verified %d commits, want 148", n)
	}
	// A commit signed by someone else must fail.
	f, _ := firehose.DecodeFrame(frames[0], "firehose")
	other := identity.NewMockDirectory()
	stranger, err := ingesttest.NewAccount("did:plc:stranger")
	if err != nil {
		t.Fatal(err)
	}
	id, _ := stranger.Identity()
	id.DID = syntax.DID(f.Commit.Repo)
	other.Insert(id)
	if err := verify.New(other).VerifyCommit(context.Background(), f.Commit); err == nil || !strings.Contains(err.Error(), "signature") {
		t.Errorf("commit verified against the wrong key: %v", err)
	}
}
