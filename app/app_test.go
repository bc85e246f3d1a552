package app_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/downsignal/downsignal/app"
	"github.com/downsignal/downsignal/classify"
	"github.com/downsignal/downsignal/index"
	"github.com/downsignal/downsignal/internal/apptest"
	"github.com/downsignal/downsignal/record"
)

// outagePost is the post the foundation must find end to end.
const outagePost = "Outlook down for anyone else? 451 4.3.2 temporary server issue"

// eventTime is when the outage post happened (22 Jan 2026, 14:31 ET).
var eventTime = time.Date(2026, 1, 22, 19, 31, 12, 0, time.UTC)

type searchResponse struct {
	Total uint64 `json:"total"`
	Hits  []struct {
		URI        string                  `json:"uri"`
		Author     string                  `json:"author"`
		Text       string                  `json:"text"`
		CreatedAt  time.Time               `json:"created_at"`
		Services   []struct{ Name string } `json:"services"`
		ErrorCodes []struct {
			Code   string `json:"code"`
			Family string `json:"family"`
		} `json:"error_codes"`
		Score float64 `json:"score"`
	} `json:"hits"`
	NextCursor string `json:"next_cursor"`
}

type trendResponse struct {
	Service string `json:"service"`
	Points  []struct {
		T        time.Time `json:"t"`
		Posts    int       `json:"posts"`
		Authors  int       `json:"authors"`
		Mentions int       `json:"mentions"`
	} `json:"points"`
}

func TestRunFindsOutagePostEndToEnd(t *testing.T) {
	dataDir := t.TempDir()
	replay := apptest.WriteReplay(t,
		apptest.JetstreamPost("did:plc:alice", "3aaa", eventTime.Add(-time.Minute), "lovely weather today, going for a walk"),
		apptest.JetstreamPost("did:plc:bob", "3bbb", eventTime, outagePost),
		`{"did":"did:plc:carol","time_us":1769110300000000,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.like","rkey":"3ccc","record":{}}}`,
		`this line is not JSON`,
		apptest.JetstreamPost("did:plc:dave", "3ddd", eventTime.Add(90*time.Second), "Outlook is fine here, just slow. Teams works"),
	)
	opts := app.Options{DataDir: dataDir, Source: "replay:" + replay}

	p := apptest.Start(t, opts)
	p.WaitReplayed(t)

	var byQuery searchResponse
	if code := p.Get(t, "/v1/search?q="+url.QueryEscape("4.3.2"), &byQuery); code != http.StatusOK {
		t.Fatalf("search q=4.3.2: status %d", code)
	}
	var byCode searchResponse
	p.Get(t, "/v1/search?code="+url.QueryEscape("451 4.3.2"), &byCode)
	for name, res := range map[string]searchResponse{"q=4.3.2": byQuery, "code=451 4.3.2": byCode} {
		if res.Total != 1 || len(res.Hits) != 1 || res.Hits[0].Text != outagePost {
			t.Fatalf("%s: got %+v, want exactly the outage post", name, res)
		}
		h := res.Hits[0]
		if h.URI != "at://did:plc:bob/app.bsky.feed.post/3bbb" || h.Author != "did:plc:bob" {
			t.Errorf("%s: hit uri %q author %q", name, h.URI, h.Author)
		}
		if len(h.Services) == 0 || h.Services[0].Name != "Outlook" {
			t.Errorf("%s: services %+v, want Outlook", name, h.Services)
		}
		if !slices.ContainsFunc(h.ErrorCodes, func(c struct {
			Code   string `json:"code"`
			Family string `json:"family"`
		}) bool {
			return c.Code == "451 4.3.2" && c.Family == "smtp"
		}) {
			t.Errorf("%s: error codes %+v, want 451 4.3.2 (smtp)", name, h.ErrorCodes)
		}
		if h.Score <= 0 {
			t.Errorf("%s: score %v, want > 0", name, h.Score)
		}
	}

	trendPath := "/v1/trends?service=Outlook&step=1m&since=2026-01-22T19:28:00Z&until=2026-01-22T19:34:00Z"
	var before trendResponse
	if code := p.Get(t, trendPath, &before); code != http.StatusOK {
		t.Fatalf("trends: status %d", code)
	}
	checkOutlookTrend(t, before)

	// The walk post names nothing: counted in the whole stream, not indexed.
	var all searchResponse
	p.Get(t, "/v1/search?limit=100", &all)
	if all.Total != 2 {
		t.Fatalf("all posts: total %d, want 2 (the walk post is not indexed)", all.Total)
	}
	var stream trendResponse
	p.Get(t, "/v1/trends?step=1h&since=2026-01-22T19:00:00Z&until=2026-01-22T20:00:00Z", &stream)
	if len(stream.Points) != 1 || stream.Points[0].Mentions != 3 {
		t.Fatalf("whole-stream trend %+v, want 3 posts counted", stream.Points)
	}
	p.Stop(t)

	// A restart on the same data dir keeps the index and the counters, and
	// replaying the same file again adds nothing.
	p2 := apptest.Start(t, opts)
	p2.WaitReplayed(t)
	var again searchResponse
	p2.Get(t, "/v1/search?limit=100", &again)
	if again.Total != 2 {
		t.Errorf("after restart: total %d, want 2", again.Total)
	}
	var after trendResponse
	p2.Get(t, trendPath, &after)
	checkOutlookTrend(t, after)
}

// checkOutlookTrend wants the outage post counted at its event minute and
// the other Outlook post as a mention only, a minute later.
func checkOutlookTrend(t *testing.T, tr trendResponse) {
	t.Helper()
	if tr.Service != "Outlook" || len(tr.Points) != 6 {
		t.Fatalf("trend: service %q with %d points, want Outlook with 6", tr.Service, len(tr.Points))
	}
	for _, pt := range tr.Points {
		want := [3]int{} // posts, authors, mentions
		switch pt.T {
		case eventTime.Truncate(time.Minute):
			want = [3]int{1, 1, 1}
		case eventTime.Add(90 * time.Second).Truncate(time.Minute):
			want = [3]int{0, 0, 1}
		}
		if got := [3]int{pt.Posts, pt.Authors, pt.Mentions}; got != want {
			t.Errorf("trend at %s: posts/authors/mentions %v, want %v", pt.T.Format(time.TimeOnly), got, want)
		}
	}
}

// sharedCapture is the real Jetstream capture shared with the project.
const sharedCapture = "../../shared/data/bluesky/expected_v1.jsonl"

func TestReplaySharedCaptureIndexesExactlyItsPosts(t *testing.T) {
	if _, err := os.Stat(sharedCapture); err != nil {
		t.Skipf("shared capture not available: %v", err)
	}
	clf, err := classify.New()
	if err != nil {
		t.Fatal(err)
	}
	relevant := func(text string, langs []string) bool {
		r := clf.Classify(classify.Input{Text: text, Langs: langs})
		return index.Relevant(&record.Signal{Result: &r})
	}
	every := postCreates(t, sharedCapture, nil)
	if len(every) == 0 {
		t.Fatal("capture holds no post creates")
	}
	for _, c := range []struct {
		posts string
		want  []string
	}{
		{"all", every},
		{"relevant", postCreates(t, sharedCapture, relevant)},
	} {
		t.Run(c.posts, func(t *testing.T) {
			p := apptest.Start(t, app.Options{DataDir: t.TempDir(), Source: "replay:" + sharedCapture, IndexPosts: c.posts})
			p.WaitReplayed(t)
			var res searchResponse
			p.Get(t, "/v1/search?limit=500", &res)
			var got []string
			for _, h := range res.Hits {
				got = append(got, h.URI)
			}
			slices.Sort(got)
			if res.Total != uint64(len(c.want)) || !slices.Equal(got, c.want) {
				t.Fatalf("indexed %d posts %v\nwant %d %v", res.Total, got, len(c.want), c.want)
			}
			var stream trendResponse
			p.Get(t, "/v1/trends?step=1d&since=2026-07-04T00:00:00Z&until=2026-07-05T00:00:00Z", &stream)
			if len(stream.Points) != 1 || stream.Points[0].Mentions != len(every) {
				t.Fatalf("whole-stream trend %+v, want all %d posts counted", stream.Points, len(every))
			}
			t.Logf("--index-posts %s: %d of %d posts indexed", c.posts, len(got), len(every))
		})
	}
}

// postCreates lists the at-URIs of the post creates in a Jetstream capture
// that keep accepts (all when nil), read independently of the ingest
// decoder.
func postCreates(t *testing.T, path string, keep func(text string, langs []string) bool) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var uris []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m struct {
			DID    string `json:"did"`
			Kind   string `json:"kind"`
			Commit struct {
				Operation, Collection, RKey string
				Record                      struct {
					Text  string   `json:"text"`
					Langs []string `json:"langs"`
				} `json:"record"`
			} `json:"commit"`
		}
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		if m.Kind == "commit" && m.Commit.Operation == "create" && m.Commit.Collection == "app.bsky.feed.post" &&
			(keep == nil || keep(m.Commit.Record.Text, m.Commit.Record.Langs)) {
			uris = append(uris, "at://"+m.DID+"/app.bsky.feed.post/"+m.Commit.RKey)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(uris)
	return uris
}

func TestRunWithoutNetworkKeepsServing(t *testing.T) {
	// Nothing listens on port 1: every Jetstream attempt fails at once.
	p := apptest.Start(t, app.Options{DataDir: t.TempDir(), JetstreamURL: "ws://127.0.0.1:1/subscribe"})

	deadline := time.Now().Add(20 * time.Second)
	for strings.Count(p.Logs.String(), "jetstream connection failed; retrying") < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("no repeated retry log within 20s; logs:\n%s", p.Logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, path := range []string{"/healthz", "/readyz", "/v1/search?q=outlook"} {
		if code := p.Get(t, path, nil); code != http.StatusOK {
			t.Errorf("GET %s: status %d, want 200 while the source is offline", path, code)
		}
	}
	if !strings.Contains(p.Logs.String(), "attempt=2") {
		t.Errorf("retry log does not count attempts:\n%s", p.Logs.String())
	}
}
