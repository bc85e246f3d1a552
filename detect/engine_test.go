package detect_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/downsignal/downsignal/classify"
	"github.com/downsignal/downsignal/detect"
	"github.com/downsignal/downsignal/detect/detecttest"
	"github.com/downsignal/downsignal/record"
)

var clf = func() *classify.Classifier {
	c, err := classify.New()
	if err != nil {
		panic(err)
	}
	return c
}()

// signals classifies posts as the classify stage would.
func signals(posts []detecttest.Post) []record.Signal {
	out := make([]record.Signal, 0, len(posts))
	for _, p := range posts {
		ev := record.Event{V: record.EventVersion, DID: p.DID, URI: p.URI(), Time: p.Time, Source: "replay"}
		if p.Delete {
			ev.Kind = record.KindDelete
			out = append(out, record.Signal{V: 1, Event: ev})
			continue
		}
		ev.Kind, ev.Text, ev.Langs = record.KindPost, p.Text, []string{"en"}
		r := clf.Classify(classify.Input{Text: p.Text, Langs: ev.Langs})
		out = append(out, record.Signal{V: 1, Event: ev, Result: &r})
	}
	return out
}

// feeder spreads signals over partitions by author, like Kafka's key
// hashing, and applies them in batches.
type feeder struct {
	t       *testing.T
	parts   int
	offsets map[int]int64
	batch   int
	now     time.Time
}

func newFeeder(t *testing.T, parts int) *feeder {
	return &feeder{t: t, parts: parts, offsets: map[int]int64{}, batch: 200, now: time.Now()}
}

func (f *feeder) changes(sigs []record.Signal) []record.Delivery[record.Signal] {
	out := make([]record.Delivery[record.Signal], 0, len(sigs))
	for _, s := range sigs {
		p := int(hash(s.Event.DID) % uint32(f.parts))
		out = append(out, record.Delivery[record.Signal]{
			Position: record.Position{Partition: p, Offset: f.offsets[p], HighWaterMark: 1 << 40}, Value: s})
		f.offsets[p]++
	}
	return out
}

func (f *feeder) apply(e *detect.Engine, chs []record.Delivery[record.Signal]) {
	f.t.Helper()
	for len(chs) > 0 {
		n := min(f.batch, len(chs))
		f.now = f.now.Add(10 * time.Millisecond)
		if err := e.Apply(context.Background(), chs[:n], f.now); err != nil {
			f.t.Fatalf("apply: %v", err)
		}
		chs = chs[n:]
	}
}

func hash(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint32(s[i])) * 16777619
	}
	return h
}

func open(t *testing.T, path string) *detect.Engine {
	t.Helper()
	e, err := detect.Open(detect.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func run(t *testing.T, o detecttest.DayOptions) (*detect.Engine, []detect.Event) {
	t.Helper()
	e := open(t, filepath.Join(t.TempDir(), "alerts.db"))
	t.Cleanup(func() { e.Close() })
	f := newFeeder(t, 4)
	f.apply(e, f.changes(signals(detecttest.Day(o))))
	evs, err := e.EventsAfter(0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return e, evs
}

var day = time.Date(2026, 1, 22, 0, 0, 0, 0, time.UTC)

func TestQuietDayHasNoIncident(t *testing.T) {
	e, evs := run(t, detecttest.DayOptions{Date: day, Seed: 1})
	if got := e.Incidents(detect.Filter{Limit: 100}); len(got) != 0 || len(evs) != 0 {
		t.Fatalf("quiet day: %d incidents %+v and %d events, want none", len(got), got, len(evs))
	}
	if wm := e.Watermark(); wm.Before(day.Add(23 * time.Hour)) {
		t.Errorf("watermark %v, want near the end of the day", wm)
	}
}

func TestBrigadeFiresNothing(t *testing.T) {
	e, evs := run(t, detecttest.DayOptions{Date: day, Seed: 2, Brigade: true})
	if got := e.Incidents(detect.Filter{Limit: 100}); len(got) != 0 || len(evs) != 0 {
		t.Fatalf("3-account brigade: %d incidents %+v, want none", len(got), got)
	}
}

func TestCopyPasteFromManyAccountsIsOneVoice(t *testing.T) {
	// 40 accounts paste one long message (with small edits) within minutes.
	posts := detecttest.Day(detecttest.DayOptions{Date: day, Seed: 3, To: 12})
	at := day.Add(11 * time.Hour)
	for i := range 40 {
		text := "Discord is down AGAIN and nobody at that company cares. Boycott Discord today, delete the app and tell your friends to leave too"
		if i%3 == 0 {
			text = "discord is down again and nobody at that company cares!! boycott Discord today, delete the app and tell your friends to leave too"
		}
		posts = append(posts, detecttest.Post{DID: fmt.Sprintf("did:plc:paste%02d", i), RKey: fmt.Sprintf("3paste%02d", i),
			Time: at.Add(time.Duration(i*7) * time.Second), Text: text})
	}
	slices.SortStableFunc(posts, func(a, b detecttest.Post) int { return a.Time.Compare(b.Time) })
	e := open(t, filepath.Join(t.TempDir(), "alerts.db"))
	defer e.Close()
	f := newFeeder(t, 3)
	f.apply(e, f.changes(signals(posts)))
	if got := e.Incidents(detect.Filter{Limit: 100}); len(got) != 0 {
		t.Fatalf("copy-paste from 40 accounts: incidents %+v, want none", got)
	}
}

func TestMicrosoft365Incident(t *testing.T) {
	e, evs := run(t, detecttest.DayOptions{Date: day, Seed: 4, Surge: true})
	incs := e.Incidents(detect.Filter{Limit: 100})
	if len(incs) != 1 {
		t.Fatalf("incidents %+v, want exactly one", incs)
	}
	in, _ := e.Incident(incs[0].ID)
	onset := detecttest.SurgeOnset(day)
	if in.Service != "Microsoft 365" || !slices.Contains(in.Services, "Outlook") || !slices.Contains(in.Services, "Microsoft Teams") {
		t.Errorf("incident service %q services %v, want Microsoft 365 grouping Outlook and Teams", in.Service, in.Services)
	}
	if lead := in.FiringAt.Sub(onset); lead <= 0 || lead > 5*time.Minute {
		t.Errorf("fired at %v, %v after the onset %v; want within 5 minutes", in.FiringAt, lead, onset)
	}
	if in.State != detect.Resolved || in.ResolvedAt.Before(detecttest.SurgeEnd(day).Add(-30*time.Minute)) {
		t.Errorf("state %s resolved at %v, want resolved after the complaints died down (%v)", in.State, in.ResolvedAt, detecttest.SurgeEnd(day))
	}
	if len(in.TopCodes) == 0 || in.TopCodes[0].Code != "451 4.3.2" {
		t.Errorf("top codes %+v, want 451 4.3.2 first", in.TopCodes)
	}
	if in.Confidence != detect.High || in.Severity.Rank() < detect.Major.Rank() {
		t.Errorf("confidence %s severity %s, want high and at least major", in.Confidence, in.Severity)
	}
	if len(in.Samples) == 0 || len(in.Timeline) < 10 {
		t.Errorf("samples %d timeline %d, want both filled", len(in.Samples), len(in.Timeline))
	}
	var types []string
	for _, ev := range evs {
		if ev.Incident.ID != in.ID {
			t.Errorf("event for another incident %q", ev.Incident.ID)
		}
		types = append(types, ev.Type)
	}
	if len(types) < 2 || types[0] != detect.EventFiring || types[len(types)-1] != detect.EventResolved {
		t.Errorf("event types %v, want firing first and resolved last", types)
	}
	for i, ev := range evs {
		if ev.Seq != uint64(i+1) || ev.Incident.Seq != i+1 {
			t.Errorf("event %d: seq %d incident seq %d", i, ev.Seq, ev.Incident.Seq)
		}
	}
	// The states as they were at each moment of the day, and now.
	type stateAt struct {
		at   time.Time
		want string
	}
	cases := []stateAt{
		{time.Time{}, ""},
		{onset.Add(-time.Hour), ""},
		{in.FiringAt, "firing"},
		{in.ResolvedAt.Add(-time.Minute), "firing"},
		{in.ResolvedAt, ""},
	}
	if in.FiringAt.After(in.PendingAt) {
		cases = append(cases, stateAt{in.PendingAt, "pending"})
	}
	for _, tc := range cases {
		if got := e.IncidentStates(context.Background(), tc.at)["Outlook"]; got != tc.want {
			t.Errorf("Outlook at %v: %q, want %q", tc.at, got, tc.want)
		}
	}
	t.Logf("lead time %v, resolved %v after onset, %d events, peak %d authors", in.FiringAt.Sub(onset), in.ResolvedAt.Sub(onset), len(evs), in.PeakAuthors)
}

// A restart in the middle, with part of the last batch delivered again,
// ends in the same incidents and events as one uninterrupted run.
func TestRestartAndRedeliveryAreExactlyOnce(t *testing.T) {
	posts := detecttest.Day(detecttest.DayOptions{Date: day, Seed: 5, From: 12, To: 23, Surge: true})
	ref, refEvents := func() ([]detect.Incident, []detect.Event) {
		e := open(t, filepath.Join(t.TempDir(), "a.db"))
		defer e.Close()
		f := newFeeder(t, 3)
		f.apply(e, f.changes(signals(posts)))
		evs, _ := e.EventsAfter(0, 1000)
		return e.Incidents(detect.Filter{}), evs
	}()
	if len(ref) != 1 {
		t.Fatalf("reference run: %d incidents, want 1", len(ref))
	}

	path := filepath.Join(t.TempDir(), "b.db")
	f := newFeeder(t, 3)
	chs := f.changes(signals(posts))
	cut := len(chs) * 3 / 5 // in the middle of the surge's aftermath
	e := open(t, path)
	f.apply(e, chs[:cut])
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	e = open(t, path)
	defer e.Close()
	f.apply(e, chs[cut-150:]) // 150 records delivered twice
	// And duplicates at new offsets (a producer retry) change nothing.
	dup := f.changes(signals(posts[cut-50 : cut]))
	f.apply(e, dup)
	got := e.Incidents(detect.Filter{})
	evs, _ := e.EventsAfter(0, 1000)
	if len(got) != 1 || got[0].ID != ref[0].ID || got[0].PeakAuthors != ref[0].PeakAuthors || got[0].Reports != ref[0].Reports ||
		!got[0].FiringAt.Equal(ref[0].FiringAt) || !got[0].ResolvedAt.Equal(ref[0].ResolvedAt) {
		t.Fatalf("after restart: %+v\nwant %+v", got, ref)
	}
	if len(evs) != len(refEvents) {
		t.Fatalf("after restart: %d events, want %d", len(evs), len(refEvents))
	}
	for i := range evs {
		if evs[i].Type != refEvents[i].Type || !evs[i].Time.Equal(refEvents[i].Time) {
			t.Errorf("event %d: %s at %v, want %s at %v", i, evs[i].Type, evs[i].Time, refEvents[i].Type, refEvents[i].Time)
		}
	}
}

func TestDeletedBrigadeIsNotCounted(t *testing.T) {
	posts := detecttest.Day(detecttest.DayOptions{Date: day, Seed: 6, To: 12})
	at := day.Add(11 * time.Hour)
	var brigade []detecttest.Post
	for i := range 12 {
		p := detecttest.Post{DID: fmt.Sprintf("did:plc:gone%02d", i), RKey: fmt.Sprintf("3gone%02d", i),
			Time: at.Add(time.Duration(i*5) * time.Second), Text: []string{"Slack down?", "is slack down", "Slack not working"}[i%3]}
		del := p
		del.Delete, del.Time = true, p.Time.Add(20*time.Second)
		brigade = append(brigade, p, del)
	}
	posts = append(posts, brigade...)
	slices.SortStableFunc(posts, func(a, b detecttest.Post) int { return a.Time.Compare(b.Time) })

	e := open(t, filepath.Join(t.TempDir(), "alerts.db"))
	defer e.Close()
	f := newFeeder(t, 2)
	f.apply(e, f.changes(signals(posts)))
	if got := e.Incidents(detect.Filter{}); len(got) != 0 {
		t.Fatalf("deleted brigade: incidents %+v, want none", got)
	}
	// The same 12 posts left standing do fire: the test can fail.
	e2 := open(t, filepath.Join(t.TempDir(), "alerts2.db"))
	defer e2.Close()
	var kept []detecttest.Post
	for _, p := range posts {
		if !p.Delete {
			kept = append(kept, p)
		}
	}
	f2 := newFeeder(t, 2)
	f2.apply(e2, f2.changes(signals(kept)))
	if got := e2.Incidents(detect.Filter{}); len(got) != 1 || got[0].Service != "Slack" {
		t.Fatalf("standing brigade: incidents %+v, want one Slack incident", got)
	}
}

// One post dated years ahead must not drag the watermark (and with it
// every later evaluation) into the future.
func TestFutureDatedPostIsIgnored(t *testing.T) {
	posts := detecttest.Day(detecttest.DayOptions{Date: day, Seed: 12, From: 17, To: 23, Surge: true})
	cut := len(posts) / 3
	bad := detecttest.Post{DID: "did:plc:timetraveller", RKey: "3future", Time: time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC), Text: "Outlook down?"}
	posts = append(posts[:cut:cut], append([]detecttest.Post{bad}, posts[cut:]...)...)
	e := open(t, filepath.Join(t.TempDir(), "alerts.db"))
	defer e.Close()
	f := newFeeder(t, 1)
	f.apply(e, f.changes(signals(posts)))
	if wm := e.Watermark(); wm.Year() != 2026 {
		t.Errorf("watermark %v, want in 2026", wm)
	}
	if got := e.Incidents(detect.Filter{}); len(got) != 1 || got[0].State != detect.Resolved {
		t.Errorf("incidents %+v, want the outage, resolved", got)
	}
}

// A brigade whose posts later vanish from their repositories (a relay
// #sync answered with a reset that does not list them) stops counting
// like a deleted one; the same accounts' reset keeping the posts changes
// nothing.
func TestResetRemovesPostsFromTheWindow(t *testing.T) {
	posts := detecttest.Day(detecttest.DayOptions{Date: day, Seed: 6, To: 12})
	at := day.Add(11 * time.Hour)
	var brigade []detecttest.Post
	for i := range 12 {
		brigade = append(brigade, detecttest.Post{DID: fmt.Sprintf("did:plc:gone%02d", i), RKey: fmt.Sprintf("3gone%02d", i),
			Time: at.Add(time.Duration(i*5) * time.Second), Text: []string{"Slack down?", "is slack down", "Slack not working"}[i%3]})
	}
	all := append(slices.Clone(posts), brigade...)
	slices.SortStableFunc(all, func(a, b detecttest.Post) int { return a.Time.Compare(b.Time) })

	for _, tc := range []struct {
		name      string
		keep      bool
		incidents int
	}{{"posts gone", false, 0}, {"posts kept", true, 1}} {
		t.Run(tc.name, func(t *testing.T) {
			sigs := signals(all)
			// Each brigade account's reset, 20 s after its post.
			for _, p := range brigade {
				ev := record.Event{V: record.EventVersion, Kind: record.KindReset, DID: p.DID, Time: p.Time.Add(20 * time.Second), Source: "firehose"}
				if tc.keep {
					ev.Keep = []string{p.RKey}
				}
				i := slices.IndexFunc(sigs, func(s record.Signal) bool { return s.Event.Time.After(ev.Time) })
				sigs = slices.Insert(sigs, i, record.Signal{V: 1, Event: ev})
			}
			e := open(t, filepath.Join(t.TempDir(), "alerts.db"))
			defer e.Close()
			f := newFeeder(t, 2)
			f.apply(e, f.changes(sigs))
			got := e.Incidents(detect.Filter{})
			if len(got) != tc.incidents || (tc.incidents == 1 && got[0].Service != "Slack") {
				t.Fatalf("incidents %+v, want %d", got, tc.incidents)
			}
		})
	}
}
