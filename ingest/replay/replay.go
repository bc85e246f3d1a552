package replay

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/downsignal/downsignal/ingest"
	"github.com/downsignal/downsignal/ingest/jetstream"
)

// Options configures a replay of a Jetstream v1 capture.
type Options struct {
	Path string
	// Speed paces the replay at Speed times real time, following the
	// events' time_us. 0 replays as fast as the pipeline takes it.
	Speed   float64
	Logger  *slog.Logger
	Metrics *ingest.Metrics
}

// Source reads a file of Jetstream v1 JSON lines. Its cursor is the number
// of lines consumed, so a restart continues after the last acknowledged line
// of the same file (see Identity).
type Source struct {
	path    string
	speed   float64
	log     *slog.Logger
	metrics *ingest.Metrics
}

// maxLineBytes bounds one line of a capture. Jetstream messages are a few
// KB; a longer line is counted as a decode error and skipped.
const maxLineBytes = 1 << 20

// New validates the options. It does not open the file yet.
func New(o Options) (*Source, error) {
	if o.Path == "" {
		return nil, errors.New("replay: empty path")
	}
	if o.Speed < 0 {
		return nil, fmt.Errorf("replay: negative speed %v", o.Speed)
	}
	abs, err := filepath.Abs(o.Path)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	if _, err := os.Stat(abs); err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Source{path: abs, speed: o.Speed, log: o.Logger, metrics: o.Metrics}, nil
}

// Name implements ingest.Source.
func (r *Source) Name() string { return "replay:" + r.path }

// identityBytes is how much of the file's start Identity hashes: enough to
// tell two captures apart (hundreds of lines), cheap for any file.
const identityBytes = 64 << 10

// Identity implements ingest.Identified: the file's size and a SHA-256 of
// its first 64 KiB. A cursor saved in one capture is a line number that
// means nothing in another written to the same path; with the identity
// saved beside it, the Stage replays a changed file from the start. A file
// that grew (a capture still being written) changes identity too: it is
// replayed again from the start, which costs duplicates, never a post.
func (r *Source) Identity() (string, error) {
	f, err := os.Open(r.path)
	if err != nil {
		return "", fmt.Errorf("replay: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("replay: %w", err)
	}
	h := sha256.New()
	if _, err := io.CopyN(h, f, identityBytes); err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("replay: read %s: %w", r.path, err)
	}
	return fmt.Sprintf("size=%d sha256-64k=%x", st.Size(), h.Sum(nil)), nil
}

// Run implements ingest.Source.
func (r *Source) Run(ctx context.Context, cursor int64, emit ingest.Emit) error {
	f, err := os.Open(r.path)
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	defer f.Close()
	if cursor > 0 {
		r.log.Info("replay resumes after the lines an earlier run produced (same file)", "path", r.path, "lines", cursor)
	}
	br := bufio.NewReaderSize(f, 256<<10)

	var (
		line      int64
		firstUS   int64
		startWall time.Time
	)
	for {
		b, err := readLine(br)
		if errors.Is(err, io.EOF) {
			return nil
		}
		line++
		if err != nil {
			if !errors.Is(err, errLineTooLong) {
				return fmt.Errorf("replay %s line %d: %w", r.path, line, err)
			}
			r.metrics.DecodeError("replay", "oversize")
			r.log.Warn("skip replay line", "line", line, "err", err)
			continue
		}
		if line <= cursor || len(b) == 0 {
			continue
		}
		ev, timeUS, kind, err := jetstream.DecodeKind(b, "replay")
		r.metrics.Event("replay", kind)
		it := ingest.Item{Cursor: line}
		switch {
		case err == nil:
			it.Event = &ev
			r.metrics.Record("replay", ev.Kind)
		case errors.Is(err, jetstream.ErrIgnored):
		default:
			r.metrics.DecodeError("replay", "json")
			r.log.Warn("skip replay line", "line", line, "err", err)
		}
		if r.speed > 0 && timeUS > 0 {
			if firstUS == 0 {
				firstUS, startWall = timeUS, time.Now()
			}
			due := startWall.Add(time.Duration(float64(time.Duration(timeUS-firstUS)*time.Microsecond) / r.speed))
			if d := time.Until(due); d > 0 {
				t := time.NewTimer(d)
				select {
				case <-ctx.Done():
					t.Stop()
					return ctx.Err()
				case <-t.C:
				}
			}
		}
		if err := emit(ctx, it); err != nil {
			return err
		}
	}
}

var errLineTooLong = errors.New("line longer than 1 MiB")

// readLine returns the next line without its newline. Over-long lines are
// consumed and reported, so one bad line cannot stop a replay.
func readLine(br *bufio.Reader) ([]byte, error) {
	b, err := br.ReadSlice('\n')
	switch {
	case err == nil:
		return trimEOL(b), nil
	case errors.Is(err, bufio.ErrBufferFull):
		buf := append([]byte(nil), b...)
		for errors.Is(err, bufio.ErrBufferFull) {
			b, err = br.ReadSlice('\n')
			if len(buf) <= maxLineBytes {
				buf = append(buf, b...)
			}
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		if len(buf) > maxLineBytes {
			return nil, errLineTooLong
		}
		return trimEOL(buf), nil
	case errors.Is(err, io.EOF) && len(b) > 0:
		return trimEOL(b), nil
	default:
		return nil, err
	}
}

func trimEOL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
