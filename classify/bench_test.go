package classify

import (
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
