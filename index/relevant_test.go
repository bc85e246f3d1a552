package index

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/downsignal/downsignal/record"
)

func TestRelevant(t *testing.T) {
	none := func() *record.Result {
		return &record.Result{Services: []record.ServiceHit{}, ErrorCodes: []record.ErrorCode{}, Intent: record.IntentNone}
	}
	cases := []struct {
		name string
		res  func(r *record.Result)
		want bool
	}{
		{"no candidate: nothing named, score 0", func(*record.Result) {}, false},
		{"regions alone", func(r *record.Result) { r.Regions = []record.Region{{Name: "Chicago", Kind: "city"}} }, false},
		{"names a service", func(r *record.Result) { r.Services = []record.ServiceHit{{ID: "outlook", Name: "Outlook"}} }, true},
		{"quotes a code", func(r *record.Result) { r.ErrorCodes = []record.ErrorCode{{Code: "HTTP 503", Family: "http"}} }, true},
		{"failure cue only: scored", func(r *record.Result) { r.Score = 0.101 }, true},
		{"recovery", func(r *record.Result) { r.Intent = record.IntentRecovery }, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := none()
			c.res(r)
			if got := Relevant(&record.Signal{Result: r}); got != c.want {
				t.Fatalf("Relevant(%+v) = %v, want %v", r, got, c.want)
			}
		})
	}
	if Relevant(&record.Signal{}) {
		t.Fatal("a signal without a result (not a post) is relevant")
	}
	for _, s := range []string{"", "relevant", "all"} {
		if _, err := ParsePosts(s); err != nil {
			t.Errorf("ParsePosts(%q): %v", s, err)
		}
	}
	if _, err := ParsePosts("some"); err == nil {
		t.Error("ParsePosts(some): no error")
	}
}

// With PostsRelevant, chatter is counted in the whole-stream series but
// never reaches Bleve; edits move a post in and out; deleting a post that
// was never indexed takes back its count and touches no partition.
func TestRelevantPostsAreIndexedEveryPostCounted(t *testing.T) {
	dir := t.TempDir()
	x, err := Open(Options{Dir: dir, Now: func() time.Time { return day0.Add(48 * time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { x.Close() }()
	ctx := context.Background()
	report := post("did:plc:a", rk(1), day0, "outlook down, 451 4.3.2", outlookDown("451 4.3.2", "Chicago"))
	chat := post("did:plc:b", rk(2), day0.Add(time.Minute), "good morning, coffee first", nil)
	cue := post("did:plc:c", rk(3), day0.Add(2*time.Minute), "it does not work again", &record.Result{
		Score: 0.1, Intent: record.IntentNone, Services: []record.ServiceHit{}, ErrorCodes: []record.ErrorCode{}})
	late := post("did:plc:d", rk(4), day0.Add(26*time.Hour), "lunch", nil) // alone in its day
	mustApply(t, x, feed(0, report, chat, cue, late))

	wantIndexed := func(step string, want ...string) {
		t.Helper()
		got := uris(t, x, SearchRequest{})
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("%s: indexed %v, want %v", step, got, want)
		}
	}
	wantMentions := func(step string, want int) {
		t.Helper()
		pts, err := x.Trend(TrendRequest{Since: day0, Until: day0.Add(48 * time.Hour), Step: 24 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		got := 0
		for _, p := range pts {
			got += p.Mentions
		}
		if got != want {
			t.Fatalf("%s: whole stream counts %d posts, want %d", step, got, want)
		}
	}
	wantIndexed("first batch", report.Event.URI, cue.Event.URI)
	wantMentions("first batch", 4)
	if days := x.Partitions(); len(days) != 1 {
		t.Fatalf("partitions %v: want only the first day (the second has no indexed post)", days)
	}
	if _, err := x.Get(ctx, chat.Event.URI); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get an unindexed post: %v, want not found", err)
	}

	// The chatter is edited into a report, the report into chatter; the
	// duplicate of the cue post at a new offset changes nothing.
	chatEdited := post("did:plc:b", rk(2), day0.Add(time.Minute), "outlook down for me too", outlookDown("", ""))
	reportEdited := post("did:plc:a", rk(1), day0, "never mind, my mistake", nil)
	mustApply(t, x, feed(4, chatEdited, reportEdited, cue))
	wantIndexed("after edits", chatEdited.Event.URI, cue.Event.URI)
	wantMentions("after edits", 4)
	pts, _ := x.Trend(TrendRequest{Service: "Outlook", Since: day0, Until: day0.Add(time.Hour), Step: time.Hour})
	if len(pts) != 1 || pts[0].Posts != 1 {
		t.Fatalf("Outlook after edits: %+v, want the edited chatter alone", pts)
	}

	// Deletes of posts never indexed (or no longer): counts go, nothing else.
	mustApply(t, x, feed(7, del("did:plc:a", rk(1), day0.Add(time.Hour)), del("did:plc:d", rk(4), day0.Add(27*time.Hour))))
	wantIndexed("after deletes", chatEdited.Event.URI, cue.Event.URI)
	wantMentions("after deletes", 2)
	if days := x.Partitions(); len(days) != 1 {
		t.Fatalf("partitions %v after deleting unindexed posts, want one", days)
	}

	// A redelivery of everything (a crash before the commit) converges.
	all := feed(0, report, chat, cue, late, chatEdited, reportEdited, cue,
		del("did:plc:a", rk(1), day0.Add(time.Hour)), del("did:plc:d", rk(4), day0.Add(27*time.Hour)))
	mustApply(t, x, all)
	x.Close()
	if x, err = Open(Options{Dir: dir, Now: func() time.Time { return day0.Add(48 * time.Hour) }}); err != nil {
		t.Fatal(err)
	}
	wantIndexed("after redelivery and reopen", chatEdited.Event.URI, cue.Event.URI)
	wantMentions("after redelivery and reopen", 2)
	if n, _ := x.DocCount(); n != 2 {
		t.Fatalf("docs %d, want 2", n)
	}
}

// PostsAll keeps today's behaviour: every post is searchable.
func TestAllPostsIndexesChatter(t *testing.T) {
	x := openTest(t, t.TempDir())
	defer x.Close()
	chat := post("did:plc:b", rk(2), day0, "good morning, coffee first", nil)
	mustApply(t, x, feed(0, chat))
	if got := uris(t, x, SearchRequest{}); !slices.Equal(got, []string{chat.Event.URI}) {
		t.Fatalf("indexed %v, want the chatter", got)
	}
}
