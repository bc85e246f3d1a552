package learn

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Post is one real post of the corpus, with where it came from.
type Post struct {
	ID      string    `json:"id"` // "<source>:<id in the source>"
	Source  string    `json:"source"`
	Lang    string    `json:"lang"`
	Time    time.Time `json:"time,omitzero"`
	Ref     string    `json:"ref"`     // URL, or repository/path#row
	Licence string    `json:"licence"` // as the source states it
	Group   string    `json:"group"`   // near-duplicate key: copies share it
	Text    string    `json:"text"`
}

// Label is what labellers said of a post (testdata/real/GUIDE.md).
type Label struct {
	ID       string   `json:"id"`
	Outage   bool     `json:"outage"`
	Intent   string   `json:"intent"`
	Services []string `json:"services"`
	Codes    []string `json:"codes"`
	Note     string   `json:"note,omitempty"`
}

// Intents a label may carry.
var Intents = []string{"outage", "recovery", "own-device", "support", "opinion", "news", "other"}

// Example is a post with its settled label.
type Example struct {
	Post
	Label Label
}

// Langs is the post's language as the classifier takes it.
func (e *Example) Langs() []string {
	if e.Lang == "" {
		return nil
	}
	return []string{e.Lang}
}

// Fold is the cross-validation fold of the example's near-duplicate group:
// copies of one text always fall in the same fold.
func (e *Example) Fold(k int) int {
	h := fnv.New32a()
	h.Write([]byte(e.Group))
	return int(h.Sum32() % uint32(k))
}

// LoadCorpus reads dir/posts/*.jsonl and the settled labels of
// dir/labels/final.jsonl. Every post must have exactly one label.
func LoadCorpus(dir string) ([]Example, error) {
	files, err := filepath.Glob(filepath.Join(dir, "posts", "*.jsonl"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("corpus %s: no posts files (%v)", dir, err)
	}
	var posts []Post
	for _, f := range files {
		ps, err := readNonEmpty[Post](f)
		if err != nil {
			return nil, err
		}
		posts = append(posts, ps...)
	}
	labels, err := LoadLabels(filepath.Join(dir, "labels", "final.jsonl"))
	if err != nil {
		return nil, err
	}
	out := make([]Example, 0, len(posts))
	seen := make(map[string]bool, len(posts))
	for _, p := range posts {
		if seen[p.ID] {
			return nil, fmt.Errorf("corpus: post %s twice", p.ID)
		}
		seen[p.ID] = true
		l, ok := labels[p.ID]
		if !ok {
			return nil, fmt.Errorf("corpus: post %s has no settled label", p.ID)
		}
		if p.Group == "" {
			p.Group = p.ID
		}
		out = append(out, Example{Post: p, Label: l})
	}
	if len(labels) != len(out) {
		return nil, fmt.Errorf("corpus: %d labels for %d posts", len(labels), len(out))
	}
	slices.SortFunc(out, func(a, b Example) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// LoadLabels reads a labels file, one Label per line, keyed by post id.
func LoadLabels(path string) (map[string]Label, error) {
	ls, err := readNonEmpty[Label](path)
	if err != nil {
		return nil, err
	}
	out := make(map[string]Label, len(ls))
	for _, l := range ls {
		if !slices.Contains(Intents, l.Intent) || l.Outage != (l.Intent == "outage") {
			return nil, fmt.Errorf("%s: label %s: intent %q with outage %v", path, l.ID, l.Intent, l.Outage)
		}
		if _, dup := out[l.ID]; dup {
			return nil, fmt.Errorf("%s: label %s twice", path, l.ID)
		}
		out[l.ID] = l
	}
	return out, nil
}

// Written is a post of the written evaluation sets (testdata/eval).
type Written struct {
	ID       string   `json:"id"`
	Langs    []string `json:"langs"`
	Text     string   `json:"text"`
	Outage   bool     `json:"outage"`
	Services []string `json:"services"`
	Codes    []string `json:"codes"`
}

// Held reports whether a written post is in the held-back half, which
// neither tuning nor training may read.
func (w *Written) Held() bool {
	h := fnv.New32a()
	h.Write([]byte(w.ID))
	return h.Sum32()%2 == 1
}

// LoadWritten reads written evaluation posts from the files glob matches.
func LoadWritten(glob string) ([]Written, error) {
	files, err := filepath.Glob(glob)
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("written posts %s: no files (%v)", glob, err)
	}
	var out []Written
	for _, f := range files {
		ws, err := readNonEmpty[Written](f)
		if err != nil {
			return nil, err
		}
		out = append(out, ws...)
	}
	return out, nil
}

// AsExamples turns the tune half of written posts into training examples
// of the source "written". The held half is never returned.
func AsExamples(ws []Written) []Example {
	var out []Example
	for _, w := range ws {
		if w.Held() {
			continue
		}
		intent := "other"
		if w.Outage {
			intent = "outage"
		}
		lang := ""
		if len(w.Langs) > 0 {
			lang = w.Langs[0]
		}
		out = append(out, Example{
			Post:  Post{ID: "written:" + w.ID, Source: "written", Lang: lang, Group: "written:" + w.ID, Text: w.Text},
			Label: Label{ID: "written:" + w.ID, Outage: w.Outage, Intent: intent},
		})
	}
	return out
}

func readJSONL[T any](path string) ([]T, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []T
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		if len(strings.TrimSpace(sc.Text())) == 0 {
			continue
		}
		var v T
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		out = append(out, v)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

// readNonEmpty is readJSONL for files that must hold something: a corpus
// file or a label file that reads as empty is a mistake, not no data.
func readNonEmpty[T any](path string) ([]T, error) {
	out, err := readJSONL[T](path)
	if err == nil && len(out) == 0 {
		err = errors.New(path + ": empty")
	}
	return out, err
}

// Exported is one line of 'downsignal labels export': a post an analyst
// corrected, in the corpus's post fields with the label's.
type Exported struct {
	Post
	Outage   bool     `json:"outage"`
	Intent   string   `json:"intent"`
	Services []string `json:"services"`
}

// LoadExport reads the corrections of 'downsignal labels export' as
// examples of the source "analyst". An empty export is no examples: a
// deployment nobody corrected yet.
func LoadExport(path string) ([]Example, error) {
	es, err := readJSONL[Exported](path)
	if err != nil {
		return nil, err
	}
	out := make([]Example, 0, len(es))
	for _, e := range es {
		if e.Source == "" {
			e.Source = "analyst"
		}
		if e.Group == "" {
			e.Group = e.ID
		}
		intent := e.Intent
		if intent == "" || !slices.Contains(Intents, intent) || (intent == "outage") != e.Outage {
			intent = "other"
			if e.Outage {
				intent = "outage"
			}
		}
		out = append(out, Example{Post: e.Post, Label: Label{ID: e.ID, Outage: e.Outage, Intent: intent, Services: e.Services}})
	}
	return out, nil
}
