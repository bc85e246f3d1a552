package ingest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// CursorStore remembers how far a source has been produced to Kafka, and
// in which input: identity is what the source's Identity said when the
// cursor was saved ("" for a source without one).
type CursorStore interface {
	Load(source string) (cursor int64, identity string, err error)
	Save(source string, cursor int64, identity string) error
}

// FileCursors keeps one small JSON file per source in a directory. Each save
// is written to a temporary file, synced and renamed over the old one, so a
// crash leaves either the old cursor or the new one.
type FileCursors struct {
	Dir string
}

type cursorFile struct {
	Source   string    `json:"source"`
	Cursor   int64     `json:"cursor"`
	Identity string    `json:"identity,omitempty"`
	SavedAt  time.Time `json:"saved_at"`
}

func (f FileCursors) path(source string) string {
	// The name must be a safe file name whatever the source is called.
	return filepath.Join(f.Dir, "cursor-"+fileSafe(source)+".json")
}

// Load returns 0 and no identity when no cursor was saved yet.
func (f FileCursors) Load(source string) (int64, string, error) {
	b, err := os.ReadFile(f.path(source))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, "", nil
	}
	if err != nil {
		return 0, "", fmt.Errorf("load cursor: %w", err)
	}
	var c cursorFile
	if err := json.Unmarshal(b, &c); err != nil {
		return 0, "", fmt.Errorf("load cursor %s: %w", f.path(source), err)
	}
	if c.Source != source {
		return 0, "", fmt.Errorf("load cursor %s: written for %q, not %q", f.path(source), c.Source, source)
	}
	return c.Cursor, c.Identity, nil
}

// Save replaces the saved cursor of source.
func (f FileCursors) Save(source string, cursor int64, identity string) error {
	if err := os.MkdirAll(f.Dir, 0o755); err != nil {
		return fmt.Errorf("save cursor: %w", err)
	}
	b, err := json.Marshal(cursorFile{Source: source, Cursor: cursor, Identity: identity, SavedAt: time.Now().UTC()})
	if err != nil {
		return err
	}
	dst := f.path(source)
	tmp, err := os.CreateTemp(f.Dir, ".cursor-*")
	if err != nil {
		return fmt.Errorf("save cursor: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("save cursor: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("save cursor: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save cursor: %w", err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return fmt.Errorf("save cursor: %w", err)
	}
	return nil
}

func fileSafe(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '.':
			b = append(b, c)
		default:
			b = append(b, '_')
		}
	}
	if len(b) > 120 {
		// Keep long paths distinct without a huge file name.
		return string(b[:80]) + fmt.Sprintf("-%x", fnv64(s))
	}
	return string(b)
}

func fnv64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}
