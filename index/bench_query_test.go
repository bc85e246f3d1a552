package index

import "testing"

// BenchmarkPrepare is the cost of reading a query before any partition is
// searched: parsing, the all-words rewrite and, for a regular expression,
// building its automaton once to check it.
//
//	go test -run XXX -bench Prepare -count 6 ./index/
func BenchmarkPrepare(b *testing.B) {
	for _, bc := range []struct{ name, q string }{
		{"words", "outlook down again"},
		{"or_not_phrase", `outlook OR hotmail NOT calendar "temporary server"`},
		{"regexp", "text:/outl[o0]{2}k/ down"},
		{"wildcard", "aadsts5*"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := prepare(SearchRequest{Query: bc.q}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
