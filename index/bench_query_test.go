package index

import "testing"

// BenchmarkPrepare is the cost of reading a query before any partition is
// searched: parsing, the all-words rewrite and, for a regular expression,
// building its automaton once to check it (the *_first cases forget the
// verdicts each time; otherwise a repeated pattern is remembered).
//
//	go test -run XXX -bench Prepare -count 6 ./index/
func BenchmarkPrepare(b *testing.B) {
	for _, bc := range []struct {
		name, q string
		forget  bool
	}{
		{"words", "outlook down again", false},
		{"or_not_phrase", `outlook OR hotmail NOT calendar "temporary server"`, false},
		{"regexp", "text:/outl[o0]{2}k/ down", false},
		{"regexp_first", "text:/outl[o0]{2}k/ down", true},
		{"wildcard", "aadsts5*", false},
		{"wildcard_first", "aadsts5*", true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if bc.forget {
					checkedPatterns.mu.Lock()
					checkedPatterns.m = nil
					checkedPatterns.mu.Unlock()
				}
				if _, err := prepare(SearchRequest{Query: bc.q}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
