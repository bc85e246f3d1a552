package web_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/downsignal/downsignal/app"
	"github.com/downsignal/downsignal/internal/apptest"
)

// A process that has seen twenty minutes of posts knows no service's
// normal level: the overview lists the most reported services as
// "learning", not as a ratio against a guess, and calls none of them
// above normal.
func TestOverviewSaysLearning(t *testing.T) {
	exe := chromium(t)
	dir := artifacts(t)
	now := time.Now().UTC()
	var lines []string
	for i := range 40 {
		at := now.Add(-20*time.Minute + time.Duration(i)*25*time.Second)
		lines = append(lines, apptest.JetstreamPost(fmt.Sprintf("did:plc:early%03d", i), fmt.Sprintf("3lrn%05d", i), at,
			"Is Slack down? can't load a single channel"))
	}
	p := apptest.Start(t, app.Options{Source: "replay:" + apptest.WriteReplay(t, lines...)})
	p.WaitReplayed(t)

	b := newBrowser(t, exe, p.URL(), dir)
	b.open(t, "#/")
	text := wait[string](t, b, "Slack among the most reported", `(() => {
		const li = [...document.querySelectorAll('.panel li')].find(e => e.textContent.includes('Slack'));
		return li ? li.textContent : '';
	})()`, 30*time.Second)
	if !strings.Contains(text, "learning") || strings.Contains(text, "normal") {
		t.Errorf("Slack reads %q, want learning and no ratio", text)
	}
	if n := eval[int](t, b, `document.querySelectorAll('.service-card').length`); n != 0 {
		t.Errorf("%d services above normal with under an hour of history, want none", n)
	}
	b.shot(t, "overview-learning")
	b.noProblems(t, "overview while learning")
}
