package app_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/downsignal/downsignal/app"
	"github.com/downsignal/downsignal/classify"
	"github.com/downsignal/downsignal/index"
	"github.com/downsignal/downsignal/internal/apptest"
	"github.com/downsignal/downsignal/record"
)

// TestCrashChild is the process TestKill9AnywhereLosesNothing kills; it
// does nothing in a normal test run.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv("DOWNSIGNAL_CRASH_DIR")
	if dir == "" {
		t.Skip("helper process for TestKill9AnywhereLosesNothing")
	}
	ctx := context.Background()
	a, err := app.Build(ctx, app.Options{Mode: app.ModeRun, DataDir: dir, Listen: "127.0.0.1:0",
		BrokerListen: os.Getenv("DOWNSIGNAL_CRASH_BROKER"), Source: "replay:" + os.Getenv("DOWNSIGNAL_CRASH_REPLAY"), ExitAfterReplay: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
}

func accountLine(did string, t time.Time, active bool, status string) string {
	return fmt.Sprintf(`{"did":%q,"time_us":%d,"kind":"account","account":{"active":%t,"status":%q,"did":%q,"seq":1,"time":%q}}`,
		did, t.UnixMicro(), active, status, did, t.Format(time.RFC3339))
}

func deleteLine(did, rkey string, t time.Time) string {
	return fmt.Sprintf(`{"did":%q,"time_us":%d,"kind":"commit","commit":{"rev":"r2","operation":"delete","collection":"app.bsky.feed.post","rkey":%q}}`,
		did, t.UnixMicro(), rkey)
}

// A whole `run` process is killed with SIGKILL at random moments while it
// replays posts, deletes and a takedown across several days, and
// restarted each time: the index ends with exactly the posts that should
// be there, once each, and the counters count each once.
func TestKill9AnywhereLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts a process several times")
	}
	clf, err := classify.New()
	if err != nil {
		t.Fatal(err)
	}
	texts := []string{
		"Outlook down again? 451 4.3.2 temporary server issue",
		"Teams is down for everyone in my office",
		"lovely weather today, going for a walk",
		"Gmail not working, error 503",
		"reading a book about the history of mail",
	}
	base := time.Date(2026, 1, 20, 12, 0, 0, 0, time.UTC)
	var lines []string
	want := map[string]bool{}
	outage := map[string]bool{} // uri -> outage post naming Outlook
	spam := "did:plc:spammer"
	for i := range 6000 {
		did := fmt.Sprintf("did:plc:user%d", i%300)
		if i%50 == 7 {
			did = spam
		}
		rkey := fmt.Sprintf("3l%06d", i)
		at := base.Add(time.Duration(i) * time.Minute) // about four days
		text := texts[i%len(texts)]
		lines = append(lines, apptest.JetstreamPost(did, rkey, at, text))
		uri := "at://" + did + "/app.bsky.feed.post/" + rkey
		r := clf.Classify(classify.Input{Text: text, Langs: []string{"en"}})
		if index.Relevant(&record.Signal{Result: &r}) {
			want[uri] = true // the rest are counted, never indexed
		}
		if r.Outage && slices.ContainsFunc(r.Services, func(s record.ServiceHit) bool { return s.Name == "Outlook" }) {
			outage[uri] = true
		}
		if i%97 == 5 {
			lines = append(lines, deleteLine(did, rkey, at.Add(30*time.Second)))
			delete(want, uri)
			delete(outage, uri)
		}
	}
	lines = append(lines, accountLine(spam, base.Add(6000*time.Minute), false, "takendown"))
	for uri := range want {
		if uri[len("at://"):len("at://")+len(spam)] == spam {
			delete(want, uri)
			delete(outage, uri)
		}
	}
	replay := apptest.WriteReplay(t, lines...)
	dir := t.TempDir()
	// Every child binds this address again after its predecessor died.
	brokerAddr := apptest.FreeAddr(t)

	rng := rand.New(rand.NewPCG(7, 9))
	run := func(killAfter time.Duration) (finished bool) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), "DOWNSIGNAL_CRASH_DIR="+dir, "DOWNSIGNAL_CRASH_BROKER="+brokerAddr, "DOWNSIGNAL_CRASH_REPLAY="+replay)
		out := &apptest.LogBuffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		var timer <-chan time.Time
		if killAfter > 0 {
			timer = time.After(killAfter)
		}
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("child failed: %v\n%s", err, out.String())
			}
			return true
		case <-timer:
			_ = cmd.Process.Kill() // SIGKILL: no shutdown, no flush
			<-done
			return false
		case <-time.After(90 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			t.Fatalf("child did not finish within 90s:\n%s", out.String())
		}
		return false
	}
	kills := 0
	for kills < 6 {
		if run(time.Duration(200+rng.IntN(1200)) * time.Millisecond) {
			break
		}
		kills++
	}
	for !run(0) {
	}
	t.Logf("killed %d times", kills)

	x, err := index.Open(index.Options{Dir: filepath.Join(dir, "index")})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	got := map[string]int{}
	if _, err := x.Export(context.Background(), index.ExportRequest{}, func(h index.Hit) error {
		got[h.URI]++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n, _ := x.DocCount(); int(n) != len(want) {
		t.Errorf("index holds %d documents, want %d", n, len(want))
	}
	for uri, n := range got {
		if n != 1 || !want[uri] {
			t.Errorf("%s found %d times, wanted: %v", uri, n, want[uri])
		}
	}
	for uri := range want {
		if got[uri] == 0 {
			t.Errorf("%s lost", uri)
		}
	}
	pts, err := x.Trend(index.TrendRequest{Service: "Outlook", Since: base, Until: base.Add(5 * 24 * time.Hour), Step: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	posts := 0
	for _, p := range pts {
		posts += p.Posts
	}
	if posts != len(outage) {
		t.Errorf("Outlook outage posts counted %d, want %d", posts, len(outage))
	}
}
