package index

import (
	"errors"
	"testing"
)

// Query strings and cursors come from anyone: they get a bad-request
// error or a query, never a panic.
func FuzzPrepare(f *testing.F) {
	for _, s := range []string{`outlook down`, `+services:Outlook +codes:"451 4.3.2"`, `text:"unclosed`, `a~2 b* /re.*/`,
		`(((x)))`, `-`, `+`, `score:>0.5`, `time:>"2026-01-01T00:00:00Z"`, "\x00\xff", `services:`} {
		f.Add(s, "")
	}
	f.Add("", encodeCursor(cursor{Sort: SortTime, After: []string{"x", "y"}}))
	f.Add("", "not base64 !")
	f.Fuzz(func(t *testing.T, q, cur string) {
		for _, sort := range []string{SortTime, SortRelevance} {
			p, err := prepare(SearchRequest{Query: q, Cursor: cur, Sort: sort})
			if err != nil {
				if !errors.Is(err, ErrBadRequest) {
					t.Fatalf("query %q cursor %q: error %v is not a bad request", q, cur, err)
				}
				continue
			}
			if countClauses(p.q) > MaxClauses {
				t.Fatalf("query %q passed with more than %d clauses", q, MaxClauses)
			}
		}
	})
}
