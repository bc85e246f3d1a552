package verify_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/klauspost/compress/zstd"

	"github.com/downsignal/downsignal/ingest"
	"github.com/downsignal/downsignal/ingest/ingesttest"
	"github.com/downsignal/downsignal/ingest/verify"
)

// sharedData is the real Bluesky data shared with the project; it is never
// copied into the repository.
const sharedData = "../../../shared/data/bluesky/"

func readZstd(t *testing.T, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(sharedData + name)
	if err != nil {
		t.Skipf("%s not available: %v", name, err)
	}
	dec, err := zstd.NewReader(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	b, err := dec.DecodeAll(raw, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func recordedFrames(t *testing.T) [][]byte {
	b := readZstd(t, "frames.bin.zst")
	var frames [][]byte
	for len(b) >= 4 {
		n := binary.LittleEndian.Uint32(b)
		if uint64(n) > uint64(len(b)-4) {
			t.Fatal("truncated frames file")
		}
		frames = append(frames, b[4:4+n])
		b = b[4+n:]
	}
	return frames
}

// TestVerifyRecordedFrames checks every real commit with the verifier,
// resolving keys from the recorded DID documents.
func TestVerifyRecordedFrames(t *testing.T) {
	frames := recordedFrames(t)
	plain := readZstd(t, "did_docs.json.zst")
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
		f, err := ingest.DecodeFrame(b, "firehose")
		if err != nil || f.Type != ingest.FrameCommit {
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
	f, _ := ingest.DecodeFrame(frames[0], "firehose")
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
