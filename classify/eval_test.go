package classify

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"hash/fnv"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/downsignal/downsignal/record"
)

// The evaluation set is split by the hash of each post's id: the rules were tuned by looking at the
// mistakes on the "tune" half only; the "held" half is what the numbers below report and gate on.
// -eval.show=tune prints the mistakes of the tune half (never use it on the held half while tuning).
var evalShow = flag.String("eval.show", "", "print the evaluation mistakes of this split (tune or held)")

// Gates on the held-back half.
const (
	minPrecision = 0.92
	minRecall    = 0.88
	minService   = 0.92
	minCodes     = 0.95
	maxRealFP    = 0.01 // share of real Bluesky posts (none of them an outage report) flagged as outages
)

// realPosts is the path of real Jetstream events, relative to this package, when shared data is present.
const realPosts = "../../shared/data/bluesky/expected_v1.jsonl"

type evalPost struct {
	ID       string   `json:"id"`
	Langs    []string `json:"langs"`
	Text     string   `json:"text"`
	Outage   bool     `json:"outage"`
	Services []string `json:"services"`
	Codes    []string `json:"codes"`
}

// lang is the language in the id: "en-0001", "blind-en-001", "b2-en-001".
func (p evalPost) lang() string {
	parts := strings.Split(p.ID, "-")
	if len(parts) < 2 {
		return "?"
	}
	return parts[len(parts)-2]
}

func (p evalPost) held() bool {
	h := fnv.New32a()
	h.Write([]byte(p.ID))
	return h.Sum32()%2 == 1
}

func loadEval(t testing.TB) []evalPost {
	t.Helper()
	return loadPosts(t, "testdata/eval/*.jsonl")
}

func loadPosts(t testing.TB, glob string) []evalPost {
	t.Helper()
	files, err := filepath.Glob(glob)
	if err != nil || len(files) == 0 {
		t.Fatalf("no evaluation files: %v", err)
	}
	var posts []evalPost
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		for line := 1; sc.Scan(); line++ {
			var p evalPost
			if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
				t.Fatalf("%s:%d: %v", f, line, err)
			}
			posts = append(posts, p)
		}
		fh.Close()
	}
	return posts
}

// score counts the outcomes of one split.
type score struct {
	n, tp, fp, fn int
	svcOK, svcN   int // true positives whose service set is exactly right
	codeOK, codeN int // posts with a gold or predicted code whose code set is exactly right
	mistakes      []string
}

func (s *score) add(p evalPost, r record.Result) {
	s.n++
	switch {
	case p.Outage && r.Outage:
		s.tp++
		s.svcN++
		if sameSet(p.Services, serviceIDs(r)) {
			s.svcOK++
		} else {
			s.mistakes = append(s.mistakes, fmt.Sprintf("SERVICES %s want %v got %v: %s", p.ID, p.Services, serviceIDs(r), p.Text))
		}
	case r.Outage:
		s.fp++
		s.mistakes = append(s.mistakes, fmt.Sprintf("FP %s %.2f %v: %s", p.ID, r.Score, serviceIDs(r), p.Text))
	case p.Outage:
		s.fn++
		s.mistakes = append(s.mistakes, fmt.Sprintf("FN %s %.2f %v: %s", p.ID, r.Score, serviceIDs(r), p.Text))
	}
	got := codeList(r)
	if len(p.Codes) > 0 || len(got) > 0 {
		s.codeN++
		if sameSet(p.Codes, got) {
			s.codeOK++
		} else {
			s.mistakes = append(s.mistakes, fmt.Sprintf("CODES %s want %v got %v: %s", p.ID, p.Codes, got, p.Text))
		}
	}
}

func (s *score) precision() float64 { return ratio(s.tp, s.tp+s.fp) }
func (s *score) recall() float64    { return ratio(s.tp, s.tp+s.fn) }
func (s *score) service() float64   { return ratio(s.svcOK, s.svcN) }
func (s *score) codes() float64     { return ratio(s.codeOK, s.codeN) }

func (s *score) String() string {
	return fmt.Sprintf("n=%4d precision=%.3f recall=%.3f service=%.3f (%d/%d) codes=%.3f (%d/%d)",
		s.n, s.precision(), s.recall(), s.service(), s.svcOK, s.svcN, s.codes(), s.codeOK, s.codeN)
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 1
	}
	return float64(a) / float64(b)
}

func serviceIDs(r record.Result) []string {
	ids := make([]string, 0, len(r.Services))
	for _, s := range r.Services {
		ids = append(ids, s.ID)
	}
	return ids
}

func codeList(r record.Result) []string {
	codes := make([]string, 0, len(r.ErrorCodes))
	for _, c := range r.ErrorCodes {
		codes = append(codes, c.Code)
	}
	return codes
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}

func TestEvaluation(t *testing.T) {
	c := newTestClassifier(t)
	posts := loadEval(t)
	if len(posts) < 1500 {
		t.Errorf("evaluation set has %d posts, want at least 1500", len(posts))
	}
	for _, p := range posts {
		for _, id := range p.Services {
			if _, ok := c.Catalog().Index(id); !ok {
				t.Errorf("%s: label %q is not a catalog id", p.ID, id)
			}
		}
	}
	split := map[string]*score{"tune": {}, "held": {}}
	perLang := map[string]*score{}
	for _, p := range posts {
		r := c.Classify(Input{Text: p.Text, Langs: p.Langs})
		name := "tune"
		if p.held() {
			name = "held"
			if perLang[p.lang()] == nil {
				perLang[p.lang()] = &score{}
			}
			perLang[p.lang()].add(p, r)
		}
		split[name].add(p, r)
	}
	t.Logf("tune split: %v", split["tune"])
	held := split["held"]
	t.Logf("HELD-BACK:  %v", held)
	langs := make([]string, 0, len(perLang))
	for l := range perLang {
		langs = append(langs, l)
	}
	sort.Strings(langs)
	for _, l := range langs {
		t.Logf("  held %s: %v", l, perLang[l])
	}
	if *evalShow != "" {
		for _, m := range split[*evalShow].mistakes {
			t.Log(m)
		}
	}
	check := func(name string, got, want float64) {
		if got < want {
			t.Errorf("held-back %s = %.3f, want >= %.2f", name, got, want)
		}
	}
	check("outage precision", held.precision(), minPrecision)
	check("outage recall", held.recall(), minRecall)
	check("service accuracy", held.service(), minService)
	check("error-code exactness", held.codes(), minCodes)
}

// TestBlindEvaluation reports the classifier on the sets written by others
// who had not read its rules and never used for tuning (testdata/blind,
// testdata/blind2; their READMEs tell what each has seen since), and keeps it
// from falling below what blind2 measured when it was first run.
func TestBlindEvaluation(t *testing.T) {
	c := newTestClassifier(t)
	for _, set := range []struct {
		dir                                  string
		precision, recall, service, codesMin float64
	}{
		{"blind", 0, 0, 0, 0},
		// Measured when first run, nothing changed for it since: precision
		// 0.900, recall 0.931, services 0.985, codes 0.938 (the classifier
		// before the blind-set fixes: 0.865, 0.924, 0.985, 0.938). The floors
		// leave room for a post or two of noise, not for a regression.
		{"blind2", 0.88, 0.90, 0.96, 0.90},
	} {
		posts := loadPosts(t, "testdata/"+set.dir+"/*.jsonl")
		all := &score{}
		perLang := map[string]*score{}
		for _, p := range posts {
			for _, id := range p.Services {
				if _, ok := c.Catalog().Index(id); !ok {
					t.Errorf("%s: label %q is not a catalog id", p.ID, id)
				}
			}
			r := c.Classify(Input{Text: p.Text, Langs: p.Langs})
			all.add(p, r)
			if perLang[p.lang()] == nil {
				perLang[p.lang()] = &score{}
			}
			perLang[p.lang()].add(p, r)
		}
		t.Logf("%s (%d posts): %v", strings.ToUpper(set.dir), len(posts), all)
		for _, l := range slices.Sorted(maps.Keys(perLang)) {
			t.Logf("  %s %s: %v", set.dir, l, perLang[l])
		}
		if *evalShow == set.dir {
			for _, m := range all.mistakes {
				t.Log(m)
			}
		}
		check := func(name string, got, want float64) {
			if got < want {
				t.Errorf("%s %s = %.3f, want >= %.2f", set.dir, name, got, want)
			}
		}
		check("outage precision", all.precision(), set.precision)
		check("outage recall", all.recall(), set.recall)
		check("service accuracy", all.service(), set.service)
		check("error-code exactness", all.codes(), set.codesMin)
	}
}

// TestRealPostsAreNotOutages runs the real Bluesky posts of the shared data set, none of which
// reports an outage, through the classifier.
func TestRealPostsAreNotOutages(t *testing.T) {
	posts := readRealPosts(t)
	c := newTestClassifier(t)
	var fp int
	for _, p := range posts {
		r := c.Classify(p)
		if r.Outage {
			fp++
			t.Logf("flagged: %.2f %v %q", r.Score, serviceIDs(r), p.Text)
		}
	}
	rate := ratio(fp, len(posts))
	if len(posts) == 0 {
		rate = 0
	}
	t.Logf("real posts: %d, flagged as outages: %d (%.3f)", len(posts), fp, rate)
	if rate > maxRealFP {
		t.Errorf("false-positive rate on real posts = %.3f, want <= %.2f", rate, maxRealFP)
	}
}

func readRealPosts(t testing.TB) []Input {
	t.Helper()
	f, err := os.Open(realPosts)
	if err != nil {
		t.Skipf("real posts not available: %v", err)
	}
	defer f.Close()
	var posts []Input
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<16), 1<<22)
	for sc.Scan() {
		var ev struct {
			Kind   string `json:"kind"`
			Commit struct {
				Operation  string `json:"operation"`
				Collection string `json:"collection"`
				Record     struct {
					Text  string   `json:"text"`
					Langs []string `json:"langs"`
				} `json:"record"`
			} `json:"commit"`
		}
		if json.Unmarshal(sc.Bytes(), &ev) != nil {
			continue
		}
		if ev.Kind == "commit" && ev.Commit.Operation == "create" && ev.Commit.Collection == "app.bsky.feed.post" && strings.TrimSpace(ev.Commit.Record.Text) != "" {
			posts = append(posts, Input{Text: ev.Commit.Record.Text, Langs: ev.Commit.Record.Langs})
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return posts
}

func newTestClassifier(t testing.TB) *Classifier {
	t.Helper()
	c, err := New()
	if err != nil {
		t.Fatal(err)
	}
	return c
}
