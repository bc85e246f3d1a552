package deploy_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/downsignal/downsignal/classify"
)

// pager is a webhook receiver that takes each endpoint's first firing and
// refuses everything after it until released: the kill below happens
// while the owner's requests fail, so no request it sent can have been
// accepted unseen.
type pager struct {
	mu       sync.Mutex
	released bool
	got      []page
}

type page struct {
	endpoint, id, typ, incident string
	seq                         int
	accepted                    bool
	at                          time.Time
}

func (pg *pager) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var msg struct {
		Type string `json:"type"`
		Data struct {
			ID  string `json:"id"`
			Seq int    `json:"seq"`
		} `json:"data"`
	}
	_ = json.Unmarshal(b, &msg)
	pg.mu.Lock()
	defer pg.mu.Unlock()
	p := page{endpoint: r.URL.Path, id: r.Header.Get("webhook-id"), typ: msg.Type, incident: msg.Data.ID, seq: msg.Data.Seq, at: time.Now()}
	p.accepted = pg.released || (p.typ == "incident.firing" && pg.count(p.endpoint, "", accepted) == 0)
	pg.got = append(pg.got, p)
	if !p.accepted {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
}

// Which requests count.
const (
	anyAnswer = iota
	accepted
	refused
)

// count counts the requests to endpoint of type typ ("" for any) with
// the answer. The caller holds mu.
func (pg *pager) count(endpoint, typ string, answer int) int {
	n := 0
	for _, p := range pg.got {
		if p.endpoint == endpoint && (typ == "" || p.typ == typ) &&
			(answer == anyAnswer || (answer == accepted) == p.accepted) {
			n++
		}
	}
	return n
}

func (pg *pager) counted(endpoint, typ string, answer int) int {
	pg.mu.Lock()
	defer pg.mu.Unlock()
	return pg.count(endpoint, typ, answer)
}

func (pg *pager) release() {
	pg.mu.Lock()
	defer pg.mu.Unlock()
	pg.released = true
}

// replicated is three serve replicas sending to two configured endpoints
// on the pager, with ingest and classify, on a three-broker cluster.
type replicated struct {
	pg        *pager
	endpoints []string
	serve     []*proc
	others    []*proc // cluster, ingest, classify
	posts     int
}

// startReplicated starts the processes, replays 15:00 to 22:00 of a day
// with the outage (four and a half hours of warm-up before its onset at
// 19:30, its resolve near 21:00) at 600 times real time, so the incident
// lives about 8 s, and waits until each endpoint accepted the firing and
// refused the next change. It returns the one replica that sent them.
func startReplicated(t *testing.T) (*replicated, *proc) {
	t.Helper()
	clf, err := classify.New()
	if err != nil {
		t.Fatal(err)
	}
	c := newCaptureOf(t, clf, 15, 22)
	r := &replicated{pg: &pager{}, endpoints: []string{"/ops", "/sre"}, posts: len(c.uris)}
	rc := httptest.NewServer(r.pg)
	t.Cleanup(rc.Close)
	cfg := filepath.Join(t.TempDir(), "webhooks.json")
	secret := "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	var list []string
	for _, ep := range r.endpoints {
		list = append(list, fmt.Sprintf(`{"name": %q, "url": %q, "format": "native", "secret": %q, "event_types": ["incident.firing", "incident.updated", "incident.resolved"]}`,
			strings.TrimPrefix(ep, "/"), rc.URL+ep, secret))
	}
	if err := os.WriteFile(cfg, []byte(`{"webhooks": [`+strings.Join(list, ",")+`]}`), 0o600); err != nil {
		t.Fatal(err)
	}

	cluster, brokers := startCluster(t, 3)
	kafka := []string{"--brokers", brokers, "--topic-partitions", "6", "--topic-replication", "3"}
	for i := range 3 {
		r.serve = append(r.serve, stage(t, fmt.Sprintf("serve-%d", i+1), append([]string{"serve", "--data-dir", t.TempDir(),
			"--no-dashboard", "--rate-limit", "-1", "--webhook-config", cfg, "--webhook-max-age", "0",
			"--webhook-allow-net", "127.0.0.0/8", "--notify-session-timeout", "6s"}, kafka...)...))
	}
	work := stage(t, "classify", append([]string{"classify", "--data-dir", t.TempDir()}, kafka...)...)
	ingest := stage(t, "ingest", append([]string{"ingest", "--data-dir", t.TempDir(),
		"--source", "replay:" + c.path, "--replay-speed", "600"}, kafka...)...)
	r.others = []*proc{cluster, ingest, work}

	for _, ep := range r.endpoints {
		waitFor(t, 120*time.Second, ep+" accepts the firing and refuses the next change", func() (bool, string) {
			fired, no := r.pg.counted(ep, "incident.firing", accepted), r.pg.counted(ep, "", refused)
			return fired == 1 && no > 0, fmt.Sprintf("firing accepted %d, refused %d", fired, no)
		})
	}
	var owner *proc
	for _, s := range r.serve {
		v, status := metric(t, s, "downsignal_webhook_attempts_total")
		switch {
		case v > 0 && owner != nil:
			t.Fatalf("two replicas sent webhooks: %s and %s", owner.name, status)
		case v > 0:
			owner = s
		}
		t.Log(status)
	}
	if owner == nil {
		t.Fatal("no replica reports a webhook attempt")
	}
	checkShares(t, r.serve, owner)
	if v, status := metric(t, ingest, "downsignal_ingest_produced_total"); v >= float64(r.posts) {
		t.Logf("the replay had ended when the owner was stopped (%s): mid-incident only for the receivers", status)
	}
	return r, owner
}

// checkShares reads each replica's share of the notify group from
// /v1/status: together they hold each partition of downsignal.incidents
// once, and the replica that sent holds some and is sending.
func checkShares(t *testing.T, serve []*proc, sender *proc) {
	t.Helper()
	held := map[int]string{}
	of := 0
	for _, s := range serve {
		var st struct {
			Notify *struct {
				Group      string `json:"group"`
				Partitions []int  `json:"partitions"`
				Of         int    `json:"of"`
				Sending    bool   `json:"sending"`
			} `json:"notify"`
		}
		getJSON(t, s, "/v1/status", &st)
		if st.Notify == nil || st.Notify.Group != "downsignal-notify" {
			t.Fatalf("%s: /v1/status notify %+v", s.name, st.Notify)
		}
		t.Logf("%s: partitions %v of %d, sending %v", s.name, st.Notify.Partitions, st.Notify.Of, st.Notify.Sending)
		of = st.Notify.Of
		for _, p := range st.Notify.Partitions {
			if other, ok := held[p]; ok {
				t.Errorf("partition %d held by %s and %s", p, other, s.name)
			}
			held[p] = s.name
		}
		if s == sender && (!st.Notify.Sending || len(st.Notify.Partitions) == 0) {
			t.Errorf("%s sent webhooks but says %+v", s.name, st.Notify)
		}
	}
	if of != 6 || len(held) != of {
		t.Errorf("the replicas hold %d partitions of %d, want all 6", len(held), of)
	}
}

// finish releases the receivers and waits until each endpoint accepted
// the resolve and the replicas but skip have nothing left to send; it
// logs the first request after since.
func (r *replicated) finish(t *testing.T, skip *proc, since time.Time) {
	t.Helper()
	r.pg.release()
	for _, ep := range r.endpoints {
		waitFor(t, 120*time.Second, ep+" accepts the resolve", func() (bool, string) {
			n := r.pg.counted(ep, "incident.resolved", accepted)
			return n >= 1, fmt.Sprintf("resolve accepted %d times", n)
		})
	}
	for _, s := range r.serve {
		if s == skip {
			continue
		}
		waitFor(t, 60*time.Second, s.name+" has nothing left to send", func() (bool, string) {
			v, status := metric(t, s, "downsignal_webhook_outbox_pending")
			return v == 0, status
		})
	}
	r.pg.mu.Lock()
	defer r.pg.mu.Unlock()
	for _, p := range r.pg.got {
		if p.at.After(since) {
			t.Logf("first request after the sender stopped: %s, %.1f s later (session timeout 6 s)", p.typ, p.at.Sub(since).Seconds())
			break
		}
	}
}

// One notifier across three serve replicas, as separate OS processes on a
// three-broker cluster. The outage's firing reaches both endpoints from
// one replica; then the receivers fail, and that replica is killed with
// SIGKILL mid-incident. Another replica takes the incident over after the
// group's session timeout: it does not send the firing again (it read
// downsignal.notify-state), sends the rest under the same webhook-ids, and
// each endpoint accepts each webhook-id once, in order, up to the resolve.
func TestOneNotifierAcrossReplicasSurvivesKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster and five downsignal processes")
	}
	r, owner := startReplicated(t)
	owner.kill(t)
	killed := time.Now()
	t.Logf("killed %s (SIGKILL), the replica sending the incident's webhooks", owner.name)
	r.finish(t, owner, killed)
	time.Sleep(2 * time.Second) // a repeat would arrive now
	checkPagedOnceInOrder(t, r.pg, r.endpoints)
	took := 0.0
	for _, s := range r.serve {
		if s == owner {
			continue
		}
		v, status := metric(t, s, "downsignal_webhook_attempts_total")
		took += v
		t.Log(status)
	}
	if took == 0 {
		t.Error("no surviving replica sent anything: the resolve came from nowhere")
	}
	for _, p := range append(r.others, r.serve...) {
		if mib, err := p.peakRSS(); err == nil && p != owner {
			t.Logf("peak RSS %s: %.0f MiB", p.name, mib)
		}
	}
}

// The sending replica is frozen (SIGSTOP, as a stopped container or a
// paused VM) for longer than the group's session while its receivers
// fail; another replica takes the incident over and finishes it. When the
// frozen one wakes (SIGCONT) with retries due, it must send nothing: the
// group gave its partitions away while it slept.
func TestFrozenNotifierSendsNothingOnWaking(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster and five downsignal processes")
	}
	r, owner := startReplicated(t)
	before, status := metric(t, owner, "downsignal_webhook_attempts_total")
	if err := owner.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	frozen := time.Now()
	woken := false
	wake := func() {
		if !woken {
			woken = true
			_ = owner.cmd.Process.Signal(syscall.SIGCONT)
		}
	}
	t.Cleanup(wake) // before the SIGTERM of the process's own cleanup
	t.Logf("froze %s (SIGSTOP) after %s", owner.name, status)
	r.finish(t, owner, frozen)
	wake()
	t.Logf("woke %s (SIGCONT) %.1f s after freezing it", owner.name, time.Since(frozen).Seconds())
	time.Sleep(8 * time.Second) // its due retries, its heartbeat's failure, a new generation
	after, status := metric(t, owner, "downsignal_webhook_attempts_total")
	if after != before {
		t.Errorf("%s sent %v requests after waking: %s", owner.name, after-before, status)
	}
	checkPagedOnceInOrder(t, r.pg, r.endpoints)
}

// checkPagedOnceInOrder: each endpoint accepted each webhook-id once, the
// incident's changes in increasing seq, the firing exactly once (one
// request in all), and the resolve.
func checkPagedOnceInOrder(t *testing.T, pg *pager, endpoints []string) {
	t.Helper()
	pg.mu.Lock()
	defer pg.mu.Unlock()
	for _, ep := range endpoints {
		ids := map[string]int{}
		last := map[string]int{}
		var seen []string
		for _, p := range pg.got {
			if p.endpoint != ep {
				continue
			}
			seen = append(seen, fmt.Sprintf("%s %s/%d %s accepted=%v", p.at.Format("15:04:05.000"), p.typ, p.seq, p.id, p.accepted))
			if !p.accepted {
				continue
			}
			if ids[p.id]++; ids[p.id] > 1 {
				t.Errorf("%s accepted %s (%s %d) twice", ep, p.id, p.typ, p.seq)
			}
			if p.seq <= last[p.incident] {
				t.Errorf("%s accepted change %d (%s) of %s after change %d", ep, p.seq, p.typ, p.incident, last[p.incident])
			}
			last[p.incident] = p.seq
		}
		if n := pg.count(ep, "incident.firing", anyAnswer); n != 1 {
			t.Errorf("%s got the firing %d times, want once", ep, n)
		}
		if n := pg.count(ep, "incident.resolved", accepted); n != 1 {
			t.Errorf("%s accepted %d resolves, want 1", ep, n)
		}
		t.Logf("%s:\n  %s", ep, strings.Join(seen, "\n  "))
	}
}
