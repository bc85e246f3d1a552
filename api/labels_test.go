package api_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/downsignal/downsignal/labels"
)

// post sends a JSON body with the bearer token (none when empty).
func (f *fixture) post(path, token, body string) (int, []byte) {
	f.t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.base+path, strings.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return res.StatusCode, b
}

// An analyst corrects the classifier on a post: only with the admin
// token, only for a post in the index, with services the catalog knows.
// The correction shows in search and on the post, leaves the counts as
// they were, and comes out of GET /v1/labels as a corpus line.
func TestLabelPost(t *testing.T) {
	const token = "s3cret"
	f := newFixture(t, options{admin: token})
	at := now.Add(-20 * time.Minute)
	f.index(signal("did:plc:alice", "3aaa", at, "Outlook down? 451 4.3.2", outlook("451 4.3.2", "")))
	uri := "at://did:plc:alice/app.bsky.feed.post/3aaa"
	path := "/v1/posts/" + url.PathEscape(uri) + "/label"
	var before struct{ Points []struct{ Posts int } }
	f.get("/v1/trends?service=Outlook&step=1h&since=-2h", "", &before)

	for _, tc := range []struct {
		name, path, token, body string
		want                    int
	}{
		{"no token", path, "", `{"outage":false}`, http.StatusUnauthorized},
		{"wrong token", path, "nope", `{"outage":false}`, http.StatusUnauthorized},
		{"no verdict", path, token, `{"services":["Outlook"]}`, http.StatusBadRequest},
		{"unknown field", path, token, `{"outage":false,"why":"x"}`, http.StatusBadRequest},
		{"unknown service", path, token, `{"outage":true,"services":["Nope Cloud"]}`, http.StatusBadRequest},
		{"unknown post", "/v1/posts/" + url.PathEscape("at://did:plc:bob/app.bsky.feed.post/3zzz") + "/label", token, `{"outage":false}`, http.StatusNotFound},
		{"not an at-uri", "/v1/posts/" + url.PathEscape("https://x") + "/label", token, `{"outage":false}`, http.StatusBadRequest},
		{"other action", "/v1/posts/" + url.PathEscape(uri) + "/like", token, `{"outage":false}`, http.StatusNotFound},
	} {
		if got, body := f.post(tc.path, tc.token, tc.body); got != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, got, body, tc.want)
		}
	}

	code, body := f.post(path, token, `{"outage":false,"services":["hotmail"]}`)
	if code != http.StatusOK {
		t.Fatalf("label: %d %s", code, body)
	}
	var stored labels.Label
	if err := json.Unmarshal(body, &stored); err != nil {
		t.Fatal(err)
	}
	if stored.URI != uri || stored.Outage || len(stored.Services) != 1 || stored.Services[0] != "Outlook" || stored.Post.Text != "Outlook down? 451 4.3.2" || !stored.Post.Outage {
		t.Errorf("stored %+v, want the post, its old verdict, and 'not an outage' about Outlook", stored)
	}

	var res searchBody
	f.get("/v1/search?q=451&since=-2h", "/v1/search", &res)
	var hit struct {
		Outage bool
		Label  *struct {
			Outage   bool
			Services []string
		}
	}
	raw, _ := json.Marshal(res.Hits[0])
	_ = json.Unmarshal(raw, &hit)
	if hit.Label == nil || hit.Label.Outage || !hit.Outage {
		t.Errorf("search hit %s: want the classifier's outage and the analyst's label beside it", raw)
	}
	var one struct{ Label *struct{ Outage bool } }
	f.get("/v1/posts/"+url.PathEscape(uri), "/v1/posts/{uri}", &one)
	if one.Label == nil || one.Label.Outage {
		t.Errorf("GET /v1/posts: label %+v, want the correction", one.Label)
	}
	var after struct{ Points []struct{ Posts int } }
	f.get("/v1/trends?service=Outlook&step=1h&since=-2h", "", &after)
	if b, a := sum(before.Points), sum(after.Points); b != a || a == 0 {
		t.Errorf("Outlook posts %d before the correction, %d after: counts must not change", b, a)
	}

	resp, err := http.Get(f.base + "/v1/labels")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	var lines []labels.Exported
	for sc.Scan() {
		var e labels.Exported
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, e)
	}
	if len(lines) != 1 || lines[0].Outage || lines[0].Intent != "other" || lines[0].Text != "Outlook down? 451 4.3.2" || lines[0].Ref != uri {
		t.Errorf("GET /v1/labels: %+v, want the one correction as a corpus line", lines)
	}
}

func sum(points []struct{ Posts int }) int {
	n := 0
	for _, p := range points {
		n += p.Posts
	}
	return n
}
