package ingesttest

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// SharedDataDir is where the real recorded Bluesky data shared with the
// project lives: shared/data/bluesky beside the repository root (see
// DEVELOPERS.md). It is public network data, never copied into the
// repository; tests that need it skip when it is absent.
func SharedDataDir() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	// Tests run in their package's directory: climb to the module root.
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "..", "shared", "data", "bluesky")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// ReadSharedData reads one file of the shared data.
func ReadSharedData(name string) ([]byte, error) {
	dir := SharedDataDir()
	if dir == "" {
		return nil, errors.New("no module root above the working directory")
	}
	return os.ReadFile(filepath.Join(dir, name))
}

// SharedData returns one file of the shared data, or skips the test.
func SharedData(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := ReadSharedData(name)
	if err != nil {
		tb.Skipf("%s not available: %v", name, err)
	}
	return b
}

// SharedDataZstd returns one zstd-compressed file of the shared data,
// decompressed, or skips the test.
func SharedDataZstd(tb testing.TB, name string) []byte {
	tb.Helper()
	raw := SharedData(tb, name)
	dec, err := zstd.NewReader(nil)
	if err != nil {
		tb.Fatal(err)
	}
	defer dec.Close()
	b, err := dec.DecodeAll(raw, nil)
	if err != nil {
		tb.Fatalf("decompress %s: %v", name, err)
	}
	return b
}

// RecordedFrames returns the 150 real relay frames of the shared data, or
// skips the test.
func RecordedFrames(tb testing.TB) [][]byte {
	tb.Helper()
	b := SharedDataZstd(tb, "frames.bin.zst")
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

// RecordedJetstream returns the same events as Jetstream v1 served them,
// one JSON message per element, or skips the test.
func RecordedJetstream(tb testing.TB) [][]byte {
	tb.Helper()
	raw := SharedData(tb, "expected_v1.jsonl")
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
