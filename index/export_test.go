package index

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/downsignal/downsignal/record"
)

// An export pages through every match, MaxLimit a page, across days: with
// ExportAll it stops only when the matches do, each post once, and Begin
// hears the match count first.
func TestExportAllPagesThroughEveryMatch(t *testing.T) {
	x := openTest(t, t.TempDir())
	defer x.Close()
	const n = 2*MaxLimit + 137
	var sigs []record.Signal
	for i := range n {
		at := day0.Add(time.Duration(i) * time.Minute) // spans two days
		sigs = append(sigs, post(fmt.Sprintf("did:plc:e%d", i%50), rk(i), at, "Outlook down", outlookDown("", "")))
	}
	mustApply(t, x, feed(0, sigs...))
	for _, tc := range []struct{ max, want int }{{ExportAll, n}, {MaxLimit + 1, MaxLimit + 1}, {0, n}} {
		var began []uint64
		seen := map[string]bool{}
		got, err := x.Export(context.Background(), ExportRequest{SearchRequest: SearchRequest{Query: "outlook down"}, Max: tc.max,
			Begin: func(m uint64) error {
				if len(seen) > 0 {
					t.Errorf("max %d: Begin after a post", tc.max)
				}
				began = append(began, m)
				return nil
			}},
			func(h Hit) error {
				if seen[h.URI] {
					t.Fatalf("max %d: %s exported twice", tc.max, h.URI)
				}
				seen[h.URI] = true
				return nil
			})
		if err != nil || got != tc.want || len(seen) != tc.want || len(began) != 1 || began[0] != n {
			t.Errorf("max %d: exported %d (%d distinct), Begin %v, err %v; want %d, Begin [%d]", tc.max, got, len(seen), began, err, tc.want, n)
		}
	}
}
