package index

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/downsignal/downsignal/record"
)

var day0 = time.Date(2026, 1, 22, 19, 0, 0, 0, time.UTC)

// openTest opens an index that keeps every post in Bleve: the tests of
// partitions, edits, retention and search index posts that name nothing.
func openTest(t *testing.T, dir string) *Index {
	t.Helper()
	x, err := Open(Options{Dir: dir, Posts: PostsAll, Now: func() time.Time { return day0.Add(48 * time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// post builds a classified post signal.
func post(did, rkey string, at time.Time, text string, res *record.Result) record.Signal {
	if res == nil {
		res = &record.Result{Services: []record.ServiceHit{}, ErrorCodes: []record.ErrorCode{}, Intent: "none"}
	}
	return record.Signal{V: 1, Event: record.Event{
		V: 1, Kind: record.KindPost, DID: did, URI: "at://" + did + "/app.bsky.feed.post/" + rkey,
		Time: at, CreatedAt: at, Text: text, Langs: []string{"en"}, Source: "replay",
	}, Result: res}
}

func outlookDown(code, region string) *record.Result {
	r := &record.Result{Outage: true, Score: 0.8, Intent: "outage",
		Services: []record.ServiceHit{{ID: "outlook", Name: "Outlook", Parent: "Microsoft 365", Matched: "outlook"}},
	}
	if code != "" {
		r.ErrorCodes = []record.ErrorCode{{Code: code, Family: "smtp", Meaning: "temporary server error"}}
	}
	if region != "" {
		r.Regions = []record.Region{{Name: region, Kind: "city"}}
	}
	return r
}

func del(did, rkey string, at time.Time) record.Signal {
	return record.Signal{V: 1, Event: record.Event{V: 1, Kind: record.KindDelete, DID: did,
		URI: "at://" + did + "/app.bsky.feed.post/" + rkey, Time: at, Source: "replay"}}
}

func account(did string, active bool, status string, at time.Time) record.Signal {
	return record.Signal{V: 1, Event: record.Event{V: 1, Kind: record.KindAccount, DID: did, Time: at,
		Active: &active, Status: status, Source: "replay"}}
}

// feed numbers signals as consecutive offsets of partition 0 from first.
func feed(first int64, sigs ...record.Signal) []delivery {
	out := make([]delivery, len(sigs))
	for i, s := range sigs {
		out[i] = delivery{Position: record.Position{Partition: 0, Offset: first + int64(i)}, Value: s}
	}
	return out
}

func mustApply(t *testing.T, x *Index, chs []delivery) {
	t.Helper()
	if err := x.apply(context.Background(), chs); err != nil {
		t.Fatal(err)
	}
}

func uris(t *testing.T, x *Index, r SearchRequest) []string {
	t.Helper()
	var out []string
	r.Limit = 3
	for {
		res, err := x.Search(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range res.Hits {
			out = append(out, h.URI)
		}
		if res.NextCursor == "" {
			return out
		}
		r.Cursor = res.NextCursor
	}
}

func rk(i int) string { return fmt.Sprintf("3k%04d", i) }

func TestPartitionsPagingAndRestart(t *testing.T) {
	dir := t.TempDir()
	x := openTest(t, dir)
	var sigs []record.Signal
	var want []string
	for i := range 10 {
		at := day0.Add(time.Duration(i) * 5 * time.Hour) // spans three days
		s := post("did:plc:a", rk(i), at, "outlook down again", outlookDown("", ""))
		sigs = append(sigs, s)
		want = append(want, s.Event.URI)
	}
	mustApply(t, x, feed(0, sigs...))
	if got := len(x.Partitions()); got != 3 {
		t.Fatalf("partitions: got %d, want 3", got)
	}
	slices.Reverse(want)
	if got := uris(t, x, SearchRequest{}); !slices.Equal(got, want) {
		t.Fatalf("newest-first pages:\n got %v\nwant %v", got, want)
	}
	if got := uris(t, x, SearchRequest{Sort: SortRelevance, Query: "outlook"}); len(got) != 10 {
		t.Fatalf("relevance pages: got %d hits, want 10", len(got))
	}
	// since/until restrict to the partitions and posts in range.
	got := uris(t, x, SearchRequest{Since: day0.Add(10 * time.Hour), Until: day0.Add(20 * time.Hour)})
	if !slices.Equal(got, want[6:8]) {
		t.Fatalf("range: got %v, want %v", got, want[6:8])
	}
	// Past days merge to one segment and answer the same.
	if err := x.Compact(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := uris(t, x, SearchRequest{}); !slices.Equal(got, want) {
		t.Fatalf("after compaction: %v", got)
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}

	// Redelivering everything after a restart changes nothing.
	x = openTest(t, dir)
	defer x.Close()
	if pos := x.Position(); pos[0] != 10 {
		t.Fatalf("position after restart: %v, want partition 0 at 10", pos)
	}
	mustApply(t, x, feed(0, sigs...))
	if n, _ := x.DocCount(); n != 10 {
		t.Fatalf("docs after redelivery: %d, want 10", n)
	}
	pts, err := x.Trend(TrendRequest{Service: "Outlook", Since: day0, Until: day0.Add(50 * time.Hour), Step: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, p := range pts {
		total += p.Posts
	}
	if total != 10 {
		t.Fatalf("outage posts counted after redelivery: %d, want 10", total)
	}
}

// A crash after some partitions of a batch were written, then a shorter
// redelivery and the rest: nothing lost, nothing twice.
func TestCrashBetweenPartitions(t *testing.T) {
	dir := t.TempDir()
	x := openTest(t, dir)
	var sigs []record.Signal
	for i := range 12 {
		at := day0.Add(time.Duration(i%3)*24*time.Hour + time.Duration(i)*time.Minute)
		sigs = append(sigs, post(fmt.Sprintf("did:plc:u%d", i), rk(i), at, "teams is down", outlookDown("", "")))
	}
	sigs = append(sigs, del("did:plc:u0", rk(0), day0.Add(time.Hour)))
	x.failAfterParts = 1
	err := x.apply(context.Background(), feed(0, sigs...))
	if err == nil {
		t.Fatal("injected crash did not happen")
	}
	x.Close() // everything written so far is durable, as after kill -9

	x = openTest(t, dir)
	defer x.Close()
	if pos := x.Position(); pos[0] != 0 {
		t.Fatalf("position after crash: %v, want 0 (a partition missed the batch)", pos)
	}
	mustApply(t, x, feed(0, sigs[:5]...))
	mustApply(t, x, feed(5, sigs[5:]...))
	got := uris(t, x, SearchRequest{})
	if len(got) != 11 || slices.Contains(got, sigs[0].Event.URI) {
		t.Fatalf("after recovery: %d posts %v, want the 11 not deleted", len(got), got)
	}
	pts, _ := x.Trend(TrendRequest{Service: "Outlook", Since: day0, Until: day0.Add(72 * time.Hour), Step: 24 * time.Hour})
	total := 0
	for _, p := range pts {
		total += p.Posts
	}
	if total != 11 {
		t.Fatalf("counted %d outage posts, want 11", total)
	}
	if pos := x.Position(); pos[0] != int64(len(sigs)) {
		t.Fatalf("position: %v, want %d", pos, len(sigs))
	}
}

func TestDeletesEditsAndAccounts(t *testing.T) {
	x := openTest(t, t.TempDir())
	defer x.Close()
	a := post("did:plc:a", rk(1), day0, "outlook down", outlookDown("", ""))
	b := post("did:plc:b", rk(2), day0.Add(time.Minute), "outlook down here too", outlookDown("", ""))
	c := post("did:plc:c", rk(3), day0.Add(2*time.Minute), "outlook down, 451 4.3.2", outlookDown("451 4.3.2", ""))
	mustApply(t, x, feed(0, a, b, c))

	// Delete, then a late duplicate at a new offset: stays deleted.
	mustApply(t, x, feed(3, del("did:plc:a", rk(1), day0.Add(time.Hour)), a))
	// An edit a day later moves the post to the new day's partition.
	edited := post("did:plc:b", rk(2), day0.Add(25*time.Hour), "edited: outlook fine", &record.Result{Intent: "none"})
	mustApply(t, x, feed(5, edited))
	got := uris(t, x, SearchRequest{})
	if want := []string{b.Event.URI, c.Event.URI}; !slices.Equal(got, want) {
		t.Fatalf("after delete and edit: got %v, want %v", got, want)
	}
	if h, err := x.Get(context.Background(), b.Event.URI); err != nil || h.Text != "edited: outlook fine" {
		t.Fatalf("edited post: %+v, %v", h, err)
	}
	if n, _ := x.DocCount(); n != 2 {
		t.Fatalf("docs: %d, want 2 (the edit left no copy behind)", n)
	}

	// A takedown removes the account's posts (those indexed before and in
	// the same batch), posts while inactive are not indexed, and posts
	// after reactivation are.
	c2 := post("did:plc:c", rk(4), day0.Add(3*time.Minute), "outlook still down", outlookDown("", ""))
	mustApply(t, x, feed(6, c2, account("did:plc:c", false, "takendown", day0.Add(4*time.Minute))))
	c3 := post("did:plc:c", rk(5), day0.Add(5*time.Minute), "outlook down while suspended", outlookDown("", ""))
	mustApply(t, x, feed(8, c3))
	if got := uris(t, x, SearchRequest{Query: "author:\"did:plc:c\""}); len(got) != 0 {
		t.Fatalf("taken-down account still has posts %v", got)
	}
	c4 := post("did:plc:c", rk(6), day0.Add(6*time.Minute), "outlook back", outlookDown("", ""))
	mustApply(t, x, feed(9, account("did:plc:c", true, "", day0.Add(6*time.Minute)), c4))
	if got := uris(t, x, SearchRequest{Query: "author:\"did:plc:c\""}); !slices.Equal(got, []string{c4.Event.URI}) {
		t.Fatalf("after reactivation: %v, want only the new post", got)
	}
	pts, _ := x.Trend(TrendRequest{Service: "Outlook", Since: day0, Until: day0.Add(10 * time.Minute), Step: 10 * time.Minute})
	// b was edited out of Outlook outage posts; a deleted; c, c2 taken down.
	if len(pts) != 1 || pts[0].Posts != 1 || pts[0].Mentions != 1 {
		t.Fatalf("trend after removals: %+v, want 1 post (c4)", pts)
	}
}

func TestRetentionDropsWholeDays(t *testing.T) {
	dir := t.TempDir()
	x, err := Open(Options{Dir: dir, Posts: PostsAll, Retention: 3 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	var sigs []record.Signal
	for i := range 6 {
		sigs = append(sigs, post("did:plc:a", rk(i), day0.Add(time.Duration(i)*24*time.Hour), "gmail down", nil))
	}
	mustApply(t, x, feed(0, sigs[:5]...))
	if err := x.EnforceRetention(); err != nil {
		t.Fatal(err)
	}
	if n := len(x.Partitions()); n != 4 {
		t.Fatalf("partitions after retention: %d, want 4 (days 1-4 within 3 days of day 4)", n)
	}
	// A redelivered old post is not brought back; a new one moves the
	// watermark and drops another day.
	mustApply(t, x, feed(5, sigs[0], sigs[5]))
	if err := x.EnforceRetention(); err != nil {
		t.Fatal(err)
	}
	got := uris(t, x, SearchRequest{})
	want := []string{sigs[5].Event.URI, sigs[4].Event.URI, sigs[3].Event.URI, sigs[2].Event.URI}
	if !slices.Equal(got, want) {
		t.Fatalf("after retention: %v, want %v", got, want)
	}
}

func TestSearchFiltersFacetsAndLimits(t *testing.T) {
	x := openTest(t, t.TempDir())
	defer x.Close()
	sigs := []record.Signal{
		post("did:plc:a", rk(1), day0, "Outlook down in Chicago: 451 4.3.2 temporary server issue", outlookDown("451 4.3.2", "Chicago")),
		post("did:plc:b", rk(2), day0.Add(time.Minute), "Outlook down in Paris", outlookDown("", "Paris")),
		post("did:plc:c", rk(3), day0.Add(2*time.Minute), "I like my outlook on life", nil),
	}
	sigs[1].Event.Langs = []string{"fr"}
	mustApply(t, x, feed(0, sigs...))
	cases := []struct {
		name string
		r    SearchRequest
		want int
	}{
		{"text down", SearchRequest{Query: "down"}, 2},
		{"service", SearchRequest{Service: "Outlook"}, 2},
		{"parent", SearchRequest{Parent: "Microsoft 365"}, 2},
		{"service by parent", SearchRequest{Service: "Microsoft 365"}, 2},
		{"code", SearchRequest{Code: "451 4.3.2"}, 1},
		{"family", SearchRequest{Family: "SMTP"}, 1},
		{"region", SearchRequest{Region: "Chicago"}, 1},
		{"lang", SearchRequest{Lang: "fr"}, 1},
		{"outage only", SearchRequest{OutageOnly: true}, 2},
		{"min score", SearchRequest{MinScore: 0.5}, 2},
		{"since", SearchRequest{Since: day0.Add(time.Minute)}, 2},
		{"since most of the day", SearchRequest{Since: day0.Add(-18 * time.Hour)}, 3},
		{"until most of the day", SearchRequest{Until: day0.Add(90 * time.Second)}, 2},
		{"until most of the day, relevance", SearchRequest{Query: "outlook", Until: day0.Add(90 * time.Second), Sort: SortRelevance}, 2},
		{"query string field", SearchRequest{Query: `+services:Outlook +codes:"451 4.3.2"`}, 1},
		{"everything", SearchRequest{Query: "outlook", Service: "Outlook", Region: "Chicago", Code: "451 4.3.2", Since: day0}, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := x.Search(context.Background(), tc.r)
			if err != nil {
				t.Fatal(err)
			}
			if int(res.Total) != tc.want || len(res.Hits) != tc.want {
				t.Fatalf("got total %d, %d hits; want %d", res.Total, len(res.Hits), tc.want)
			}
		})
	}

	res, err := x.Search(context.Background(), SearchRequest{Query: "temporary", Highlight: true, Facets: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Hits) != 1 || len(res.Hits[0].Fragments) == 0 || !contains(res.Hits[0].Fragments[0], "<mark>temporary</mark>") {
		t.Fatalf("highlight: %+v", res.Hits)
	}
	if f := res.Facets["codes"]; len(f) != 1 || f[0].Term != "451 4.3.2" || f[0].Count != 1 {
		t.Fatalf("codes facet: %+v", res.Facets)
	}

	var many string
	for i := range MaxClauses + 1 {
		many += fmt.Sprintf("w%d ", i)
	}
	for _, tc := range []struct {
		r     SearchRequest
		limit string
	}{
		{SearchRequest{Limit: MaxLimit + 1}, "max_results"},
		{SearchRequest{Query: many}, "max_clauses"},
		{SearchRequest{Query: "outlook~2 OR out* OR /o.*k/", Timeout: time.Nanosecond}, "timeout"},
	} {
		_, err := x.Search(context.Background(), tc.r)
		var le *LimitError
		if !asLimit(err, &le) || le.Limit != tc.limit {
			t.Errorf("want limit %s, got %v", tc.limit, err)
		}
	}
}

// Totals are counted per partition and cached until it is written again.
func TestTotalsFollowWrites(t *testing.T) {
	x := openTest(t, t.TempDir())
	defer x.Close()
	total := func() uint64 {
		t.Helper()
		res, err := x.Search(context.Background(), SearchRequest{Query: "down", Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		return res.Total
	}
	mustApply(t, x, feed(0, post("did:plc:a", rk(1), day0, "outlook down", nil), post("did:plc:a", rk(2), day0.Add(-24*time.Hour), "teams down", nil)))
	if n := total(); n != 2 {
		t.Fatalf("total %d, want 2", n)
	}
	mustApply(t, x, feed(2, post("did:plc:b", rk(3), day0.Add(-23*time.Hour), "gmail down", nil)))
	if n := total(); n != 3 {
		t.Fatalf("total after a write to a past day: %d, want 3", n)
	}
	mustApply(t, x, feed(3, del("did:plc:b", rk(3), day0)))
	if n := total(); n != 2 {
		t.Fatalf("total after a delete: %d, want 2", n)
	}
}

func reset(did string, at time.Time, keepFrom string, keep ...string) record.Signal {
	return record.Signal{V: 1, Event: record.Event{V: 1, Kind: record.KindReset, DID: did, Time: at,
		Keep: keep, KeepFrom: keepFrom, Source: "firehose"}}
}

// A #sync's reset removes the account's posts its repository no longer
// holds, those indexed before and in the same batch, from search and from
// the counts; other accounts and the kept posts stay. A truncated keep list
// (KeepFrom) leaves the older posts alone.
func TestResetRemovesPostsTheRepositoryNoLongerHolds(t *testing.T) {
	dir := t.TempDir()
	x := openTest(t, dir)
	a1 := post("did:plc:a", rk(1), day0, "outlook down", outlookDown("", ""))
	a2 := post("did:plc:a", rk(2), day0.Add(time.Minute), "outlook down again", outlookDown("", ""))
	a3 := post("did:plc:a", rk(3), day0.Add(25*time.Hour), "outlook down tomorrow", outlookDown("", ""))
	b1 := post("did:plc:b", rk(4), day0.Add(2*time.Minute), "outlook down for me", outlookDown("", ""))
	mustApply(t, x, feed(0, a1, a2, a3, b1))

	a4 := post("did:plc:a", rk(5), day0.Add(3*time.Minute), "outlook down in this batch", outlookDown("", ""))
	a5 := post("did:plc:a", rk(6), day0.Add(4*time.Minute), "outlook gone in this batch", outlookDown("", ""))
	// The repository holds rk(2) and rk(5): rk(1), rk(3) and rk(6) were
	// deleted without a commit saying so.
	mustApply(t, x, feed(4, a4, a5, reset("did:plc:a", day0.Add(26*time.Hour), "", rk(5), rk(2))))
	want := []string{a2.Event.URI, a4.Event.URI}
	if got := uris(t, x, SearchRequest{Query: `author:"did:plc:a"`}); !slices.Equal(sorted(got), want) {
		t.Fatalf("after reset: %v, want %v", got, want)
	}
	if got := uris(t, x, SearchRequest{Query: `author:"did:plc:b"`}); !slices.Equal(got, []string{b1.Event.URI}) {
		t.Fatalf("another account's posts: %v", got)
	}
	if n := outlookPosts(t, x); n != 3 {
		t.Fatalf("trend after reset: %d outage posts, want 3 (a2, a4, b1)", n)
	}

	// A truncated keep list: only posts at or after KeepFrom are judged.
	mustApply(t, x, feed(7, reset("did:plc:a", day0.Add(27*time.Hour), rk(5), rk(5))))
	if got := uris(t, x, SearchRequest{Query: `author:"did:plc:a"`}); !slices.Equal(sorted(got), want) {
		t.Fatalf("a truncated reset removed older posts: %v, want %v", got, want)
	}
	mustApply(t, x, feed(8, reset("did:plc:a", day0.Add(28*time.Hour), rk(2), rk(2))))
	if got := uris(t, x, SearchRequest{Query: `author:"did:plc:a"`}); !slices.Equal(got, []string{a2.Event.URI}) {
		t.Fatalf("reset keeping rk(2) from rk(2): %v, want only a2", got)
	}

	// The same records again after a restart (Kafka redelivers): nothing
	// changes, nothing comes back.
	x.Close()
	x = openTest(t, dir)
	defer x.Close()
	mustApply(t, x, feed(4, a4, a5, reset("did:plc:a", day0.Add(26*time.Hour), "", rk(5), rk(2))))
	if got := uris(t, x, SearchRequest{Query: `author:"did:plc:a"`}); !slices.Equal(got, []string{a2.Event.URI}) {
		t.Fatalf("after redelivery: %v, want only a2", got)
	}
	if n := outlookPosts(t, x); n != 2 {
		t.Fatalf("trend after redelivery: %d outage posts, want 2 (a2, b1)", n)
	}
}

// outlookPosts sums Outlook's outage posts over day0 and the day after.
func outlookPosts(t *testing.T, x *Index) int64 {
	t.Helper()
	pts, err := x.Trend(TrendRequest{Service: "Outlook", Since: day0, Until: day0.Add(48 * time.Hour), Step: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, p := range pts {
		n += int64(p.Posts)
	}
	return n
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
