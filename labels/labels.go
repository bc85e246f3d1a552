// Package labels keeps analysts' corrections of the classifier: for a post
// (by at-URI), whether it is an outage report and which services it is
// about, with the post as it was when corrected.
//
// Corrections do not rewrite history. Counters, trends and incidents keep
// what the classifier decided when the post arrived; a correction shows
// beside the post in search and becomes training data ([Store.Each], and
// `downsignal labels export` in the corpus format of classify/learn), so
// posts classified after a retrain benefit. The store is its own bbolt
// file, not part of the index: retention drops old days of posts, and a
// correction outlives the post it corrects.
package labels

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Post is the corrected post, as the index held it.
type Post struct {
	Author    string    `json:"author"`
	Text      string    `json:"text"`
	Langs     []string  `json:"langs,omitempty"`
	Time      time.Time `json:"time"`
	CreatedAt time.Time `json:"created_at,omitzero"`
	// Outage and Score are what the classifier had said.
	Outage bool    `json:"outage"`
	Score  float64 `json:"score"`
}

// Correction is what an analyst said of a post: search shows it beside
// the classifier's verdict.
type Correction struct {
	Outage   bool      `json:"outage"`
	Services []string  `json:"services,omitempty"`
	At       time.Time `json:"at"`
}

// Label is one stored correction with the post it corrects.
type Label struct {
	URI string `json:"uri"`
	Correction
	Post Post `json:"post"`
}

// Limits on what a correction may carry.
const (
	MaxServices   = 16
	maxServiceLen = 128
)

var bucket = []byte("labels")

// Store is the corrections file. It is safe for concurrent use.
type Store struct {
	db *bolt.DB
}

// Open opens (or creates) the store at path. It waits at most timeout for
// another process that has it open (0: 5 s).
func Open(path string, timeout time.Duration) (*Store, error) {
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout})
	if err != nil {
		return nil, fmt.Errorf("labels %s: %w", path, err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucket)
		return err
	}); err != nil {
		db.Close()
		return nil, fmt.Errorf("labels %s: %w", path, err)
	}
	return &Store{db: db}, nil
}

// Close closes the file.
func (s *Store) Close() error { return s.db.Close() }

// Validate reports why a label must not be stored.
func (l *Label) Validate() error {
	if l.URI == "" {
		return errors.New("label: no post")
	}
	if len(l.Services) > MaxServices {
		return fmt.Errorf("label: %d services, at most %d", len(l.Services), MaxServices)
	}
	for _, s := range l.Services {
		if s == "" || len(s) > maxServiceLen {
			return fmt.Errorf("label: service names must be 1 to %d bytes", maxServiceLen)
		}
	}
	return nil
}

// Put stores l, replacing an earlier correction of the same post; it
// returns once the write is durable.
func (s *Store) Put(ctx context.Context, l Label) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := l.Validate(); err != nil {
		return err
	}
	b, err := json.Marshal(l)
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucket).Put([]byte(l.URI), b) })
}

// Get returns the corrections of the posts among uris that have one.
func (s *Store) Get(uris []string) (map[string]Correction, error) {
	out := map[string]Correction{}
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		for _, u := range uris {
			v := b.Get([]byte(u))
			if v == nil {
				continue
			}
			var l Label
			if err := json.Unmarshal(v, &l); err != nil {
				return fmt.Errorf("label %s: %w", u, err)
			}
			out[u] = l.Correction
		}
		return nil
	})
	return out, err
}

// Each calls fn for every correction, in at-URI order.
func (s *Store) Each(fn func(Label) error) error {
	return s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucket).ForEach(func(k, v []byte) error {
			var l Label
			if err := json.Unmarshal(v, &l); err != nil {
				return fmt.Errorf("label %s: %w", k, err)
			}
			return fn(l)
		})
	})
}

// Exported is a correction in the corpus format that
// `go run ./classify/cmd/train -labels FILE` reads (classify/learn.Exported).
type Exported struct {
	ID       string    `json:"id"`
	Source   string    `json:"source"`
	Lang     string    `json:"lang,omitempty"`
	Time     time.Time `json:"time,omitzero"`
	Ref      string    `json:"ref"`
	Licence  string    `json:"licence"`
	Group    string    `json:"group"`
	Text     string    `json:"text"`
	Outage   bool      `json:"outage"`
	Intent   string    `json:"intent"`
	Services []string  `json:"services,omitempty"`
}

// Export turns a correction into its corpus line.
func (l *Label) Export() Exported {
	e := Exported{
		ID: "analyst:" + l.URI, Source: "analyst", Time: l.Post.Time, Ref: l.URI,
		Licence: "Bluesky post, corrected by an analyst of this deployment", Group: l.URI,
		Text: l.Post.Text, Outage: l.Outage, Intent: "other", Services: l.Services,
	}
	if len(l.Post.Langs) > 0 {
		e.Lang = l.Post.Langs[0]
	}
	if l.Outage {
		e.Intent = "outage"
	}
	return e
}

// WriteExport writes every correction to w, one corpus line each (see
// Exported), and returns how many.
func (s *Store) WriteExport(w io.Writer) (int, error) {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	n := 0
	err := s.Each(func(l Label) error {
		n++
		return enc.Encode(l.Export())
	})
	return n, err
}
