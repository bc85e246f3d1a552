package app_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/downsignal/downsignal/app"
	"github.com/downsignal/downsignal/detect/detecttest"
	"github.com/downsignal/downsignal/internal/apptest"
)

// TestWebhookChild is the process TestKill9WithPendingDeliveries kills;
// it does nothing in a normal test run.
func TestWebhookChild(t *testing.T) {
	dir := os.Getenv("DOWNSIGNAL_HOOK_DIR")
	if dir == "" {
		t.Skip("helper process for TestKill9WithPendingDeliveries")
	}
	o := alertOptions(t, os.Getenv("DOWNSIGNAL_HOOK_REPLAY"), os.Getenv("DOWNSIGNAL_HOOK_URL"))
	o.Mode, o.DataDir, o.Listen, o.BrokerListen = app.ModeRun, dir, "127.0.0.1:0", os.Getenv("DOWNSIGNAL_HOOK_BROKER")
	o.WebhookSchedule = []time.Duration{0, 300 * time.Millisecond, 300 * time.Millisecond, 300 * time.Millisecond, time.Second, time.Second, time.Second}
	// Logs go straight to the parent, which shows them if the test fails.
	o.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx := context.Background()
	a, err := app.Build(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	// Runs until the parent kills it.
	if err := a.Run(ctx); err != nil {
		t.Fatal(err)
	}
}

// A run process is killed with SIGKILL while the incident's notifications
// are still pending (the receiver has only failed so far: the firing was
// retried, and the resolve waits behind it). After a restart on the same
// data directory every notification arrives, in order, and the receiver
// accepts each webhook-id exactly once.
func TestKill9WithPendingDeliveries(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts a process")
	}
	var mu sync.Mutex
	healthy := false
	seen := map[string]int{}     // attempts per webhook-id
	accepted := map[string]int{} // 2xx answers per webhook-id
	var kinds []string
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		id := r.Header.Get("webhook-id")
		mu.Lock()
		seen[id]++
		ok := healthy
		if ok {
			accepted[id]++
			if i := strings.Index(string(body), `"type":"`); i >= 0 {
				kinds = append(kinds, strings.SplitN(string(body[i+8:]), `"`, 2)[0])
			}
		}
		mu.Unlock()
		if !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer rc.Close()

	replay := replayOf(t, detecttest.DayOptions{Date: replayDay, Seed: 23, From: 17, To: 23, Surge: true})
	dir := t.TempDir()
	// Every child binds this address again after its predecessor died.
	brokerAddr := apptest.FreeAddr(t)
	child := func() (*exec.Cmd, *apptest.LogBuffer) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestWebhookChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), "DOWNSIGNAL_HOOK_DIR="+dir, "DOWNSIGNAL_HOOK_BROKER="+brokerAddr,
			"DOWNSIGNAL_HOOK_REPLAY="+replay, "DOWNSIGNAL_HOOK_URL="+rc.URL)
		out := &apptest.LogBuffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, out
	}
	waitFor := func(what string, d time.Duration, cond func() bool, out *apptest.LogBuffer) {
		t.Helper()
		deadline := time.Now().Add(d)
		for {
			mu.Lock()
			done := cond()
			mu.Unlock()
			if done {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s not within %v; child output:\n%s", what, d, out.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	cmd, out := child()
	// The firing was attempted, failed and was retried; the resolve waits
	// behind it, so nothing else is attempted. (Five failures open the
	// endpoint's circuit breaker for a minute: not something to wait for.)
	waitFor("the firing attempted and retried", 90*time.Second, func() bool {
		for _, c := range seen {
			if c >= 2 {
				return true
			}
		}
		return false
	}, out)
	_ = cmd.Process.Kill() // SIGKILL: no shutdown, no flush
	_ = cmd.Wait()
	mu.Lock()
	pending := make(map[string]bool, len(seen))
	for id := range seen {
		pending[id] = true
	}
	healthy = true
	mu.Unlock()

	cmd, out = child()
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	// The endpoint's circuit breaker survives the kill: after five failures
	// it holds for a minute, after a sixth for two, so under load the first
	// delivery after the restart may wait that long.
	waitFor("the firing and the resolve delivered", 3*time.Minute, func() bool {
		for id := range pending {
			if accepted[id] == 0 {
				return false
			}
		}
		return len(accepted) >= 2
	}, out)
	time.Sleep(time.Second) // room for a wrong second delivery to show up
	mu.Lock()
	defer mu.Unlock()
	for id, n := range accepted {
		if n != 1 {
			t.Errorf("webhook-id %s accepted %d times, want once", id, n)
		}
	}
	if len(kinds) != 2 || kinds[0] != "incident.firing" || kinds[1] != "incident.resolved" {
		t.Errorf("accepted %v, want the firing, then the resolve", kinds)
	}
	t.Logf("%d notification attempted before the kill, delivered after restart: %v", len(pending), kinds)
}
