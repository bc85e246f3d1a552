package app_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/downsignal/downsignal/app"
)

// outagePost is the post the foundation must find end to end.
const outagePost = "Outlook down for anyone else? 451 4.3.2 temporary server issue"

// eventTime is when the outage post happened (22 Jan 2026, 14:31 ET).
var eventTime = time.Date(2026, 1, 22, 19, 31, 12, 0, time.UTC)

// jetLine builds one Jetstream v1 message for a post create.
func jetLine(did, rkey string, t time.Time, text string) string {
	rec, _ := json.Marshal(map[string]any{
		"$type": "app.bsky.feed.post", "text": text, "createdAt": t.Add(-2 * time.Second).Format(time.RFC3339Nano), "langs": []string{"en"},
	})
	return fmt.Sprintf(`{"did":%q,"time_us":%d,"kind":"commit","commit":{"rev":"r1","operation":"create","collection":"app.bsky.feed.post","rkey":%q,"record":%s,"cid":"bafy%s"}}`,
		did, t.UnixMicro(), rkey, rec, rkey)
}

func writeReplay(t *testing.T, lines ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "capture.jsonl")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// syncBuffer collects log output from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// process is one in-process downsignal run.
type process struct {
	t      *testing.T
	app    *app.App
	cancel context.CancelFunc
	done   chan error
	logs   *syncBuffer
}

func start(t *testing.T, o app.Options) *process {
	t.Helper()
	logs := &syncBuffer{}
	o.Logger = slog.New(slog.NewTextHandler(io.MultiWriter(logs), &slog.HandlerOptions{Level: slog.LevelDebug}))
	if o.Mode == "" {
		o.Mode = app.ModeRun
	}
	if o.Listen == "" {
		o.Listen = "127.0.0.1:0"
	}
	if o.BrokerListen == "" && len(o.Brokers) == 0 {
		o.BrokerListen = "127.0.0.1:0"
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.Build(ctx, o)
	if err != nil {
		cancel()
		t.Fatalf("build: %v", err)
	}
	p := &process{t: t, app: a, cancel: cancel, done: make(chan error, 1), logs: logs}
	go func() { p.done <- a.Run(ctx) }()
	t.Cleanup(func() { p.stop() })
	return p
}

// stop shuts the process down as SIGTERM would and checks it went cleanly.
func (p *process) stop() {
	p.t.Helper()
	if p.cancel == nil {
		return
	}
	p.cancel()
	p.cancel = nil
	select {
	case err := <-p.done:
		if err != nil {
			p.t.Errorf("run: %v", err)
		}
	case <-time.After(60 * time.Second):
		p.t.Fatalf("run did not stop within 60s; logs:\n%s", p.logs.String())
	}
	if err := p.app.Close(); err != nil {
		p.t.Errorf("close: %v", err)
	}
}

func (p *process) waitReplayed() {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := p.app.WaitReplayed(ctx); err != nil {
		p.t.Fatalf("wait for replay: %v; logs:\n%s", err, p.logs.String())
	}
}

// get fetches path from the API and decodes the JSON body into out.
func (p *process) get(path string, out any) int {
	p.t.Helper()
	res, err := http.Get("http://" + p.app.APIAddr() + path)
	if err != nil {
		p.t.Fatalf("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		p.t.Fatalf("GET %s: %v", path, err)
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			p.t.Fatalf("GET %s: decode %q: %v", path, body, err)
		}
	}
	return res.StatusCode
}

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
	replay := writeReplay(t,
		jetLine("did:plc:alice", "3aaa", eventTime.Add(-time.Minute), "lovely weather today, going for a walk"),
		jetLine("did:plc:bob", "3bbb", eventTime, outagePost),
		`{"did":"did:plc:carol","time_us":1769110300000000,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.like","rkey":"3ccc","record":{}}}`,
		`this line is not JSON`,
		jetLine("did:plc:dave", "3ddd", eventTime.Add(90*time.Second), "Outlook is fine here, just slow. Teams works"),
	)
	opts := app.Options{DataDir: dataDir, Source: "replay:" + replay}

	p := start(t, opts)
	p.waitReplayed()

	var byQuery searchResponse
	if code := p.get("/v1/search?q="+url.QueryEscape("4.3.2"), &byQuery); code != http.StatusOK {
		t.Fatalf("search q=4.3.2: status %d", code)
	}
	var byCode searchResponse
	p.get("/v1/search?code="+url.QueryEscape("451 4.3.2"), &byCode)
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
	if code := p.get(trendPath, &before); code != http.StatusOK {
		t.Fatalf("trends: status %d", code)
	}
	checkOutlookTrend(t, before)

	var all searchResponse
	p.get("/v1/search?limit=100", &all)
	if all.Total != 3 {
		t.Fatalf("all posts: total %d, want 3", all.Total)
	}
	p.stop()

	// A restart on the same data dir keeps the index and the counters, and
	// replaying the same file again adds nothing.
	p2 := start(t, opts)
	p2.waitReplayed()
	var again searchResponse
	p2.get("/v1/search?limit=100", &again)
	if again.Total != 3 {
		t.Errorf("after restart: total %d, want 3", again.Total)
	}
	var after trendResponse
	p2.get(trendPath, &after)
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
	want := postCreates(t, sharedCapture)
	if len(want) == 0 {
		t.Fatal("capture holds no post creates")
	}
	p := start(t, app.Options{DataDir: t.TempDir(), Source: "replay:" + sharedCapture})
	p.waitReplayed()

	var res searchResponse
	p.get("/v1/search?limit=500", &res)
	var got []string
	for _, h := range res.Hits {
		got = append(got, h.URI)
	}
	slices.Sort(got)
	if res.Total != uint64(len(want)) || !slices.Equal(got, want) {
		t.Fatalf("indexed %d posts %v\nwant %d %v", res.Total, got, len(want), want)
	}
}

// postCreates lists the at-URIs of the post creates in a Jetstream capture,
// read independently of the ingest decoder.
func postCreates(t *testing.T, path string) []string {
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
			} `json:"commit"`
		}
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		if m.Kind == "commit" && m.Commit.Operation == "create" && m.Commit.Collection == "app.bsky.feed.post" {
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
	p := start(t, app.Options{DataDir: t.TempDir(), JetstreamURL: "ws://127.0.0.1:1/subscribe"})

	deadline := time.Now().Add(20 * time.Second)
	for strings.Count(p.logs.String(), "jetstream connection failed; retrying") < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("no repeated retry log within 20s; logs:\n%s", p.logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, path := range []string{"/healthz", "/readyz", "/v1/search?q=outlook"} {
		if code := p.get(path, nil); code != http.StatusOK {
			t.Errorf("GET %s: status %d, want 200 while the source is offline", path, code)
		}
	}
	if !strings.Contains(p.logs.String(), "attempt=2") {
		t.Errorf("retry log does not count attempts:\n%s", p.logs.String())
	}
}
