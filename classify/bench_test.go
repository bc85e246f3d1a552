package classify

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkClassify runs the classifier over the evaluation texts, one post per iteration.
//
//	go test ./classify -run '^$' -bench Classify -benchmem -cpu 1 -count 6
func BenchmarkClassify(b *testing.B) {
	c := newTestClassifier(b)
	posts := loadEval(b)
	in := make([]Input, len(posts))
	for i, p := range posts {
		in[i] = Input{Text: p.Text, Langs: p.Langs}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c.Classify(in[i])
		i++
		if i == len(in) {
			i = 0
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "posts/s")
}

// BenchmarkNew measures building the classifier: parsing the catalog and compiling the automaton.
func BenchmarkNew(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := New(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkClassifyWorstCase feeds 4 KB of back-to-back names, cues and codes: the per-post caps
// must keep this within a small multiple of a normal post.
func BenchmarkClassifyWorstCase(b *testing.B) {
	c := newTestClassifier(b)
	text := strings.Repeat("Teams outlook down? 503 #XDown is it down steam zoom ", 100)
	b.ReportAllocs()
	for b.Loop() {
		c.Classify(Input{Text: text})
	}
}

// realMix returns the real posts of the labelled corpus in the proportion
// a stream shows them: after each candidate (a post the model scores),
// others posts that name no service, quote no code and have no failure cue
// (which cost only the scan).
func realMix(b *testing.B, others int) []Input {
	b.Helper()
	files, err := filepath.Glob("testdata/real/posts/*.jsonl")
	if err != nil || len(files) == 0 {
		b.Fatalf("no corpus: %v", err)
	}
	c := newTestClassifier(b)
	var cand, rest []Input
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			b.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			var p struct{ Text, Lang string }
			if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
				b.Fatal(err)
			}
			in := Input{Text: p.Text, Langs: []string{p.Lang}}
			if c.Features(in).Candidate {
				cand = append(cand, in)
			} else {
				rest = append(rest, in)
			}
		}
		fh.Close()
	}
	out := make([]Input, 0, len(cand)*(1+others))
	for i, in := range cand {
		out = append(out, in)
		for j := range others {
			out = append(out, rest[(i*others+j)%len(rest)])
		}
	}
	return out
}

func benchInputs(b *testing.B, in []Input) {
	c := newTestClassifier(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c.Classify(in[i])
		if i++; i == len(in) {
			i = 0
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "posts/s")
}

// BenchmarkClassifyStream is a stream of real posts, one candidate in ten:
// what a classify worker sees.
//
//	go test ./classify -run '^$' -bench 'ClassifyStream|ClassifyCandidates' -benchmem -cpu 1 -count 6
func BenchmarkClassifyStream(b *testing.B) { benchInputs(b, realMix(b, 9)) }

// BenchmarkClassifyCandidates is candidates alone: every post is scored.
func BenchmarkClassifyCandidates(b *testing.B) { benchInputs(b, realMix(b, 0)) }
