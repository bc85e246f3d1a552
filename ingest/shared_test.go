package ingest_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"os"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// sharedData is the real Bluesky data shared with the project (see its
// README); it is never copied into the repository.
const sharedData = "../../shared/data/bluesky/"

// recordedFrames returns the 150 real relay frames, or skips the test.
func recordedFrames(tb testing.TB) [][]byte {
	tb.Helper()
	raw, err := os.ReadFile(sharedData + "frames.bin.zst")
	if err != nil {
		tb.Skipf("recorded frames not available: %v", err)
	}
	dec, err := zstd.NewReader(nil)
	if err != nil {
		tb.Fatal(err)
	}
	defer dec.Close()
	b, err := dec.DecodeAll(raw, nil)
	if err != nil {
		tb.Fatalf("decompress frames: %v", err)
	}
	var frames [][]byte
	for len(b) > 0 {
		if len(b) < 4 {
			tb.Fatalf("frames file: %d trailing bytes", len(b))
		}
		n := binary.LittleEndian.Uint32(b)
		if uint64(n) > uint64(len(b)-4) {
			tb.Fatalf("frames file: frame of %d bytes, %d left", n, len(b)-4)
		}
		frames = append(frames, b[4:4+n])
		b = b[4+n:]
	}
	return frames
}

// recordedJetstream returns the same events as Jetstream v1 served them,
// one JSON message per element, or skips the test.
func recordedJetstream(tb testing.TB) [][]byte {
	tb.Helper()
	raw, err := os.ReadFile(sharedData + "expected_v1.jsonl")
	if err != nil {
		tb.Skipf("recorded Jetstream capture not available: %v", err)
	}
	var lines [][]byte
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if len(sc.Bytes()) > 0 {
			lines = append(lines, bytes.Clone(sc.Bytes()))
		}
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return lines
}

func readShared(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(sharedData + name)
	if err != nil {
		tb.Skipf("%s not available: %v", name, err)
	}
	return b
}
