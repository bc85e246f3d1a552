package app_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/downsignal/downsignal/app"
	"github.com/downsignal/downsignal/health"
	"github.com/downsignal/downsignal/ingest/ingesttest"
	"github.com/downsignal/downsignal/internal/apptest"
)

// waitStatus polls /v1/status until cond holds, and returns the status
// and how long it took.
func waitStatus(t *testing.T, p *apptest.Process, what string, limit time.Duration, cond func(health.Status) bool) (health.Status, time.Duration) {
	t.Helper()
	start := time.Now()
	var st health.Status
	for time.Since(start) < limit {
		st = health.Status{}
		p.GetJSON(t, "/v1/status", &st)
		if cond(st) {
			return st, time.Since(start)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: not within %s; last status %+v", what, limit, st)
	return st, 0
}

func sourceIs(s health.State) func(health.Status) bool {
	return func(st health.Status) bool { return st.Source.State == s }
}

// TestSourceHealthThroughOutage starts with the source down, brings it up,
// kills it while live and brings it back: /v1/status follows every step
// with the error, the time away and each stage's lag.
func TestSourceHealthThroughOutage(t *testing.T) {
	js, err := ingesttest.NewJetstream(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(js.Close)
	js.Down()
	const stallAfter = 2 * time.Second
	rc := newHookReceiver(t)
	p := apptest.Start(t, app.Options{JetstreamURL: js.URL(), StallAfter: stallAfter, AdminToken: adminToken,
		WebhookURLs: []string{"native=" + rc.URL}, WebhookSecret: testSecret, WebhookAllowNets: []string{"127.0.0.0/8"}})

	// No network from the start: never "live", stalled after stall-after,
	// with the dial error and the time away.
	st, _ := waitStatus(t, p, "stalled without network", 30*time.Second, sourceIs(health.Stalled))
	if !strings.Contains(st.Source.LastError, "refused") || st.Source.AwaySeconds < stallAfter.Seconds() ||
		st.Source.Reconnects == 0 || st.Source.LastEventAt != nil || st.StreamTime != nil {
		t.Fatalf("stalled source reported as %+v", st)
	}
	if st.Source.Name != "jetstream" || st.Source.StallAfter != stallAfter.Seconds() {
		t.Fatalf("source %+v", st.Source)
	}

	// The source comes up and posts flow: live, with a rate, and the
	// stages read everything.
	if err := js.Up(); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	posting := make(chan struct{})
	go func() {
		defer close(posting)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			js.Post("did:plc:alice", fmt.Sprintf("3kp%06d", i), "Outlook down again? 451 4.3.2")
		}
	}()
	st, d := waitStatus(t, p, "live after the source returned", 60*time.Second, sourceIs(health.Live))
	t.Logf("live %s after the source came up", d.Round(10*time.Millisecond))
	st, _ = waitStatus(t, p, "a rate", 60*time.Second, func(st health.Status) bool {
		return st.Source.EventsPerSecond > 0 && st.StreamTime != nil
	})
	if st.Source.AwaySeconds != 0 || st.Source.LastEventAt == nil || st.Source.LastEventTime == nil {
		t.Fatalf("live source reported as %+v", st.Source)
	}
	gaps := st.Source.Gaps
	close(stop)
	<-posting

	// Killed while live: reconnecting, then stalled stall-after after the
	// last post, counted as a gap.
	js.Down()
	died := time.Now()
	st, _ = waitStatus(t, p, "stalled after the source died", 30*time.Second, sourceIs(health.Stalled))
	t.Logf("stalled %s after the source died (stall-after %s)", time.Since(died).Round(10*time.Millisecond), stallAfter)
	if st.Source.Gaps != gaps+1 || st.Source.AwaySeconds < stallAfter.Seconds()-1 {
		t.Fatalf("second stall reported as %+v", st.Source)
	}
	// With nothing coming in, every stage drains to the source's last post.
	waitStatus(t, p, "every stage caught up", 60*time.Second, func(st health.Status) bool {
		if len(st.Stages) != 3 || st.StreamTime == nil {
			return false
		}
		for _, s := range st.Stages {
			if s.Lag != 0 || s.Watermark == nil || !s.Watermark.Equal(*st.StreamTime) {
				return false
			}
		}
		return true
	})
	if err := js.Up(); err != nil {
		t.Fatal(err)
	}
	js.Post("did:plc:bob", "3kqback", "Teams is back")
	waitStatus(t, p, "live again", 60*time.Second, sourceIs(health.Live))

	// Webhooks, signed and verified by the receiver: each stall once, its
	// recovery once, in order.
	var types []string
	deadline := time.Now().Add(60 * time.Second)
	for len(types) < 4 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		types = types[:0]
		for _, ev := range rc.got() {
			types = append(types, ev.Type)
		}
	}
	// (With no more posts, a third stall may follow: only the first four
	// count.)
	want := []string{"source.stalled", "source.recovered", "source.stalled", "source.recovered"}
	if len(types) < 4 || strings.Join(types[:4], " ") != strings.Join(want, " ") {
		var hooks struct {
			Webhooks []struct{ ID string } `json:"webhooks"`
		}
		p.Do(t, "GET", "/v1/webhooks", adminToken, nil, &hooks)
		var dels any
		if len(hooks.Webhooks) > 0 {
			p.Do(t, "GET", "/v1/webhooks/"+hooks.Webhooks[0].ID+"/deliveries", adminToken, nil, &dels)
		}
		t.Fatalf("webhooks %v, want %v; deliveries %+v", types, want, dels)
	}
	second := rc.got()[2]
	if d := second.Timestamp.Sub(died); d < 0 || d > 30*time.Second {
		t.Errorf("the second source.stalled says %s, the source died at %s", second.Timestamp, died)
	}
	t.Logf("source.stalled webhook stamped %s after the source died", second.Timestamp.Sub(died).Round(10*time.Millisecond))
}

// TestStatusOfReplay: a replay is replaying, then done, never stalled; its
// stream time is the capture's, and a gap in the capture's time is counted.
func TestStatusOfReplay(t *testing.T) {
	base := time.Date(2026, 1, 22, 19, 0, 0, 0, time.UTC)
	lines := []string{
		apptest.JetstreamPost("did:plc:alice", "3aaa", base, "Outlook down?"),
		apptest.JetstreamPost("did:plc:bob", "3bbb", base.Add(time.Minute), "Teams down"),
		// An hour with no post at all: the stream broke.
		apptest.JetstreamPost("did:plc:carol", "3ccc", base.Add(61*time.Minute), "is Outlook back?"),
	}
	path := apptest.WriteReplay(t, lines...)
	p := apptest.Start(t, app.Options{Source: "replay:" + path, StallAfter: time.Minute})
	p.WaitReplayed(t)
	st, _ := waitStatus(t, p, "replay done", 30*time.Second, sourceIs(health.Done))
	if st.StreamTime == nil || !st.StreamTime.Equal(base.Add(61*time.Minute)) || st.Source.Gaps != 1 {
		t.Fatalf("replay status %+v", st)
	}
	if st.Source.Name != "replay:"+path {
		t.Fatalf("replay source name %q", st.Source.Name)
	}
}
