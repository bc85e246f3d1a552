package index

import (
	"errors"
	"testing"
)

// Query strings and cursors come from anyone: they get a bad-request
// error or a query, never a panic.
func FuzzPrepare(f *testing.F) {
	for _, s := range []string{`outlook down`, `+services:Outlook +codes:"451 4.3.2"`, `text:"unclosed`, `a~2 b* /re.*/`,
		`(((x)))`, `-`, `+`, `score:>0.5`, `/[/`, `text:/[z-a]/`, `a OR b NOT c AND d`, `OR`, `/.*x.{0,30}/`, `x*?`, `time:>"2026-01-01T00:00:00Z"`, "\x00\xff", `services:`} {
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

// Ledger entries and counter buckets are read back from disk: a damaged
// one is an error, never a panic, and a good one round-trips.
func FuzzStoredRecords(f *testing.F) {
	f.Add((&postRec{Day: 20475, PrevDay: 20474, Minute: 29484000, Author: 42, Outage: true,
		Services: []string{"Outlook", "Microsoft 365"}, Codes: []string{"451 4.3.2"}, Regions: []string{"Chicago"}}).encode())
	var h hll
	h.add(7)
	f.Add(encodeBucket(&bucket{posts: 3, mentions: 9, authors: h}))
	f.Fuzz(func(t *testing.T, v []byte) {
		if r, err := decodePostRec(v); err == nil {
			r2, err := decodePostRec(r.encode())
			if err != nil || r2.Day != r.Day || r2.Minute != r.Minute || len(r2.Services) != len(r.Services) {
				t.Fatalf("ledger entry does not round-trip: %+v -> %+v, %v", r, r2, err)
			}
		}
		if b, err := decodeBucket(v); err == nil {
			if _, err := decodeBucket(encodeBucket(b)); err != nil {
				t.Fatalf("bucket does not round-trip: %v", err)
			}
		}
	})
}
