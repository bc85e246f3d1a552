package app_test

import (
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/downsignal/downsignal/app"
	"github.com/downsignal/downsignal/internal/apptest"
	"github.com/downsignal/downsignal/record"
)

// Bad input through the whole run pipeline: a post dated in the year 5138
// and a commit whose body is not an object are refused, each counted and
// logged with its line; a post whose createdAt is far after its event time
// is kept, placed by its event time, without the implausible createdAt.
func TestRunRefusesBadTimesAndBodies(t *testing.T) {
	future := apptest.JetstreamPost("did:plc:zed", "3fut", eventTime, "Outlook down again, from the far future")
	future = strings.Replace(future, `"time_us":`+itoa(eventTime.UnixMicro()), `"time_us":99999999999999999`, 1)
	lateCreated := apptest.JetstreamLine(record.Event{DID: "did:plc:yan", URI: record.PostURI("did:plc:yan", "3cre"), CID: "bafy3cre",
		Time: eventTime.Add(time.Minute), CreatedAt: time.UnixMicro(99999999999999999), Text: "Outlook is down for me too", Langs: []string{"en"}})
	replay := apptest.WriteReplay(t,
		apptest.JetstreamPost("did:plc:bob", "3bbb", eventTime, outagePost),
		future,
		`{"did":"did:plc:xav","time_us":1769110300000000,"kind":"commit","commit":"x"}`,
		lateCreated,
	)
	p := apptest.Start(t, app.Options{DataDir: t.TempDir(), Source: "replay:" + replay})
	p.WaitReplayed(t)

	var all searchResponse
	p.GetJSON(t, "/v1/search?limit=100&sort=time", &all)
	if all.Total != 2 {
		t.Fatalf("indexed %d posts %+v, want 2 (the year-5138 post refused)", all.Total, all.Hits)
	}
	for _, h := range all.Hits {
		if h.Author == "did:plc:yan" && !h.CreatedAt.IsZero() {
			t.Errorf("post with createdAt in 5138: created_at %v, want none", h.CreatedAt)
		}
	}
	var late searchResponse
	p.GetJSON(t, "/v1/search?since=2026-01-22T19:32:00Z&until=2026-01-22T19:33:00Z", &late)
	if late.Total != 1 || late.Hits[0].Author != "did:plc:yan" {
		t.Errorf("posts in the minute after the outage post: %+v, want the one with the implausible createdAt", late.Hits)
	}

	logs := p.Logs.String()
	for _, want := range []string{"line=2 err=\"event time 5138-11-16T09:46:39Z is in the future", "line=3 err=\"jetstream message: json: cannot unmarshal string"} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q", want)
		}
	}
	if got, want := metricLine(t, p, `downsignal_ingest_decode_errors_total{reason="json",source="replay"}`), "2"; got != want {
		t.Errorf("decode errors counted: %q, want %q", got, want)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// metricLine returns the value of one series on /metrics, or "" when absent.
func metricLine(t *testing.T, p *apptest.Process, series string) string {
	t.Helper()
	res, err := http.Get(p.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			return v
		}
	}
	return ""
}

// A replay's cursor is a line number in one file: another capture written
// to the same path is replayed from the start with a warning, not cut by
// the old file's length; the same file again adds nothing.
func TestReplayOfARewrittenFileStartsOver(t *testing.T) {
	dataDir := t.TempDir()
	path := apptest.WriteReplay(t,
		apptest.JetstreamPost("did:plc:a1", "3a1", eventTime, "first capture, post one"),
		apptest.JetstreamPost("did:plc:a2", "3a2", eventTime.Add(time.Second), "first capture, post two"),
		apptest.JetstreamPost("did:plc:a3", "3a3", eventTime.Add(2*time.Second), "first capture, post three"),
	)
	// Every post searchable: the posts name nothing, and the test counts them.
	opts := app.Options{DataDir: dataDir, Source: "replay:" + path, IndexPosts: "all"}
	total := func(p *apptest.Process) uint64 {
		var res searchResponse
		p.GetJSON(t, "/v1/search?limit=100", &res)
		return res.Total
	}
	p := apptest.Start(t, opts)
	p.WaitReplayed(t)
	if n := total(p); n != 3 {
		t.Fatalf("first capture: %d posts, want 3", n)
	}
	p.Stop(t)

	second := strings.Join([]string{
		apptest.JetstreamPost("did:plc:b1", "3b1", eventTime.Add(time.Hour), "second capture, post one"),
		apptest.JetstreamPost("did:plc:b2", "3b2", eventTime.Add(time.Hour+time.Second), "second capture, post two"),
	}, "\n") + "\n"
	if err := os.WriteFile(path, []byte(second), 0o644); err != nil {
		t.Fatal(err)
	}
	p = apptest.Start(t, opts)
	p.WaitReplayed(t)
	if n := total(p); n != 5 {
		t.Errorf("after the second capture: %d posts, want 5", n)
	}
	if !strings.Contains(p.Logs.String(), "level=WARN msg=\"input changed since its cursor was saved; reading it from the start\"") {
		t.Errorf("no warning that the file changed; logs:\n%s", p.Logs.Tail(3000))
	}
	p.Stop(t)

	p = apptest.Start(t, opts)
	p.WaitReplayed(t)
	logs := p.Logs.String()
	if n := total(p); n != 5 || strings.Contains(logs, "input changed") || !strings.Contains(logs, "replay resumes after the lines an earlier run produced") {
		t.Errorf("the same file again: %d posts, want 5, resumed without a warning; logs:\n%s", n, p.Logs.Tail(3000))
	}
}
