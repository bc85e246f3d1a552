package deploy_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/downsignal/downsignal/classify"
	"github.com/downsignal/downsignal/detect/detecttest"
)

// capture is a generated day with the Microsoft 365 outage, as a replay
// file, and what the pipeline must make of it.
type capture struct {
	path string
	day  time.Time
	uris map[string]bool
	// outage counts the posts the classifier takes for an outage report
	// naming each service: the trend counters must count each once.
	outage map[string]int
}

func newCapture(t *testing.T, clf *classify.Classifier) capture { return newCaptureOf(t, clf, 0, 24) }

// newCaptureOf is the capture of the hours [from, to) of yesterday.
func newCaptureOf(t *testing.T, clf *classify.Classifier, from, to int) capture {
	t.Helper()
	// Yesterday, so the posts are within the default retention.
	day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -1)
	c := capture{path: filepath.Join(t.TempDir(), "capture.jsonl"), day: day, uris: map[string]bool{}, outage: map[string]int{}}
	var buf bytes.Buffer
	for _, p := range detecttest.Day(detecttest.DayOptions{Date: day, Seed: 16, Surge: true, From: from, To: to}) {
		if p.Delete {
			t.Fatal("the generated day holds a deletion: count it")
		}
		buf.WriteString(detecttest.JetstreamLine(p) + "\n")
		c.uris[p.URI()] = true
		r := clf.Classify(classify.Input{Text: p.Text, Langs: []string{"en"}})
		for _, s := range r.Services {
			if r.Outage {
				c.outage[s.Name]++
			}
		}
	}
	if err := os.WriteFile(c.path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return c
}

// metric scrapes p and sums the series of name matching labels.
func metric(t *testing.T, p *proc, name string, labels ...string) (float64, string) {
	t.Helper()
	ss, err := scrape(p.addr)
	if err != nil {
		return -1, fmt.Sprintf("%s: %v", p.name, err)
	}
	v, n := sum(ss, name, labels...)
	if n == 0 {
		return -1, fmt.Sprintf("%s: no %s%v", p.name, name, labels)
	}
	return v, fmt.Sprintf("%s: %s%v = %v", p.name, name, labels, v)
}

// The split deployment, as deploy/ describes it, as separate OS processes:
// one ingest, two classify workers and two serve replicas against a
// three-broker Kafka-protocol cluster. A day with an outage is replayed;
// mid-stream one classify worker is killed with SIGKILL (its partitions
// must move to the other) and one serve replica is restarted. In the end
// every post is indexed exactly once on both replicas, which answer the
// same search totals, trends and incidents, and every consumer group has
// committed everything.
func TestSplitDeploymentSurvivesAWorkerDeathAndAReplicaRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster and five downsignal processes")
	}
	clf, err := classify.New()
	if err != nil {
		t.Fatal(err)
	}
	c := newCapture(t, clf)
	cluster, brokers := startCluster(t, 3)
	kafka := []string{"--brokers", brokers, "--topic-partitions", "6", "--topic-replication", "3"}
	serveArgs := func(dir string) []string {
		// Every post in Bleve, so "indexed exactly once" covers the whole
		// capture, not only the posts the default keeps.
		return append([]string{"serve", "--data-dir", dir, "--no-dashboard", "--rate-limit", "-1", "--index-posts", "all"}, kafka...)
	}
	serveDirs := []string{t.TempDir(), t.TempDir()}
	serve := []*proc{stage(t, "serve-1", serveArgs(serveDirs[0])...), stage(t, "serve-2", serveArgs(serveDirs[1])...)}
	work := []*proc{
		stage(t, "classify-1", append([]string{"classify", "--data-dir", t.TempDir()}, kafka...)...),
		stage(t, "classify-2", append([]string{"classify", "--data-dir", t.TempDir()}, kafka...)...),
	}
	// 24 h of event time in about 36 s: long enough to act mid-stream.
	ingest := stage(t, "ingest", append([]string{"ingest", "--data-dir", t.TempDir(),
		"--source", "replay:" + c.path, "--replay-speed", "2400"}, kafka...)...)
	total := float64(len(c.uris))
	midStream := func(what string) {
		t.Helper()
		if v, status := metric(t, ingest, "downsignal_ingest_produced_total"); v >= total {
			t.Fatalf("%s: the replay had already ended (%s of %v): the test no longer acts mid-stream", what, status, total)
		}
	}

	// Both workers own partitions and classify, then one dies hard.
	for _, w := range work {
		waitFor(t, 60*time.Second, w.name+" classifies", func() (bool, string) {
			v, status := metric(t, w, "downsignal_classify_posts_total")
			return v > 0, status
		})
	}
	midStream("kill -9 classify-1")
	work[0].kill(t)
	t.Logf("killed classify-1 (SIGKILL)")

	// A serve replica restarts on its data directory and resumes.
	waitFor(t, 60*time.Second, "serve-2 indexes", func() (bool, string) {
		v, status := metric(t, serve[1], "downsignal_index_posts_indexed_total")
		return v > 0, status
	})
	midStream("restart serve-2")
	serve[1].stop(t)
	if serve[1].err != nil {
		t.Fatalf("serve-2 on SIGTERM: %v", serve[1].err)
	}
	serve[1] = stageAt(t, "serve-2 (restarted)", serve[1].addr, serveArgs(serveDirs[1])...)
	t.Logf("restarted serve-2")

	waitFor(t, 120*time.Second, "ingest produces the whole capture", func() (bool, string) {
		v, status := metric(t, ingest, "downsignal_ingest_produced_total")
		return v == total, status
	})
	// The dead worker's partitions move to the live one after its session
	// times out; then every group has committed everything.
	waitLagZero(t, work[1], "classify")
	for _, s := range serve {
		waitLagZero(t, s, "index")
		waitLagZero(t, s, "alert")
	}

	for _, s := range serve {
		checkIndexedOnce(t, s, c)
	}
	checkSameAnswers(t, serve, c)
	for _, p := range []*proc{cluster, ingest, work[1], serve[0], serve[1]} {
		if mib, err := p.peakRSS(); err == nil {
			t.Logf("peak RSS %s: %.0f MiB", p.name, mib)
		}
	}
}

// waitLagZero waits until the consumer group of p's stage has committed
// every record, as p's /metrics reports it from Kafka.
func waitLagZero(t *testing.T, p *proc, stage string) {
	t.Helper()
	waitFor(t, 120*time.Second, p.name+" "+stage+" lag back to zero", func() (bool, string) {
		v, status := metric(t, p, "downsignal_consumer_lag_records", `stage="`+stage+`"`)
		return v == 0, status
	})
}

// checkIndexedOnce exports everything a replica indexed for the day: each
// post of the capture once, nothing else, and the Outlook counters count
// each outage report once.
func checkIndexedOnce(t *testing.T, s *proc, c capture) {
	t.Helper()
	q := url.Values{"since": {c.day.Format(time.RFC3339)}, "until": {c.day.Add(24 * time.Hour).Format(time.RFC3339)}, "max": {"100000"}}
	code, body, err := get(s.addr, "/v1/search/export?"+q.Encode())
	if err != nil || code != http.StatusOK {
		t.Fatalf("%s export: %d %v %.300s", s.name, code, err, body)
	}
	seen := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var hit struct {
			URI string `json:"uri"`
		}
		if err := json.Unmarshal(sc.Bytes(), &hit); err != nil || hit.URI == "" {
			t.Fatalf("%s export line %q: %v", s.name, sc.Bytes(), err)
		}
		seen[hit.URI]++
	}
	for uri, n := range seen {
		if n != 1 || !c.uris[uri] {
			t.Errorf("%s: %s exported %d times, in the capture: %v", s.name, uri, n, c.uris[uri])
		}
	}
	missing := 0
	for uri := range c.uris {
		if seen[uri] == 0 {
			missing++
		}
	}
	if missing > 0 || len(seen) != len(c.uris) {
		t.Errorf("%s indexed %d posts (%d of the capture missing), want the capture's %d", s.name, len(seen), missing, len(c.uris))
	}
	for _, svc := range []string{"Outlook", "Microsoft Teams"} {
		got := trendPosts(t, s, c, svc)
		if got != c.outage[svc] || got == 0 {
			t.Errorf("%s counts %d %s outage posts, the classifier finds %d in the capture", s.name, got, svc, c.outage[svc])
		}
	}
}

func trendPosts(t *testing.T, s *proc, c capture, service string) int {
	t.Helper()
	var tr struct {
		Points []struct {
			Posts int `json:"posts"`
		} `json:"points"`
	}
	getJSON(t, s, trendPath(c, service), &tr)
	n := 0
	for _, p := range tr.Points {
		n += p.Posts
	}
	return n
}

func trendPath(c capture, service string) string {
	return "/v1/trends?" + url.Values{"service": {service}, "step": {"1h"},
		"since": {c.day.Format(time.RFC3339)}, "until": {c.day.Add(24 * time.Hour).Format(time.RFC3339)}}.Encode()
}

func getJSON(t *testing.T, s *proc, path string, out any) {
	t.Helper()
	code, body, err := get(s.addr, path)
	if err != nil || code != http.StatusOK {
		t.Fatalf("%s GET %s: %d %v %.300s", s.name, path, code, err, body)
	}
	if err := json.Unmarshal(body, out); err != nil {
		t.Fatalf("%s GET %s: %v in %.300s", s.name, path, err, body)
	}
}

// checkSameAnswers asks both replicas the same questions: search totals,
// trends and incidents must be identical, and the outage must be there.
func checkSameAnswers(t *testing.T, serve []*proc, c capture) {
	t.Helper()
	since, until := c.day.Format(time.RFC3339), c.day.Add(24*time.Hour).Format(time.RFC3339)
	var paths []string
	for _, q := range []string{"", "outlook", "teams down"} {
		paths = append(paths, "/v1/search?"+url.Values{"q": {q}, "since": {since}, "until": {until}, "limit": {"1"}}.Encode())
	}
	for _, svc := range []string{"Outlook", "Microsoft Teams", "Microsoft 365"} {
		paths = append(paths, trendPath(c, svc))
	}
	for _, path := range paths {
		var a, b map[string]any
		getJSON(t, serve[0], path, &a)
		getJSON(t, serve[1], path, &b)
		delete(a, "took_ms")
		delete(b, "took_ms")
		if !reflect.DeepEqual(a, b) {
			t.Errorf("GET %s differs between replicas:\n%v\n%v", path, a, b)
		}
		if strings.HasPrefix(path, "/v1/search?q=&") && a["total"] != float64(len(c.uris)) {
			t.Errorf("GET %s: total %v, want the capture's %d posts", path, a["total"], len(c.uris))
		}
	}
	type incident struct {
		Service   string    `json:"service"`
		Services  []string  `json:"services"`
		State     string    `json:"state"`
		StartedAt time.Time `json:"started_at"`
		FiringAt  time.Time `json:"firing_at"`
	}
	var lists [2]struct {
		Incidents []incident `json:"incidents"`
	}
	for i, s := range serve {
		getJSON(t, s, "/v1/incidents", &lists[i])
	}
	if !reflect.DeepEqual(lists[0], lists[1]) {
		t.Errorf("incidents differ between replicas:\n%+v\n%+v", lists[0], lists[1])
	}
	if !slices.ContainsFunc(lists[0].Incidents, func(in incident) bool {
		return slices.Contains(in.Services, "Outlook") && !in.FiringAt.IsZero()
	}) {
		t.Errorf("no incident fired for Outlook: %+v", lists[0].Incidents)
	}
}
