package web_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/downsignal/downsignal/internal/apptest"
)

// The replayed incident the browser tests look at: two hours of everyday
// chatter with the odd complaint, then many different people reporting
// that Outlook and Teams fail, half of them quoting "451 4.3.2", in the
// minutes before now. Times are relative to now because the dashboard
// shows what is happening now.
const (
	quietMinutes = 120
	surgeMinutes = 9
)

var chatterTexts = []string{
	"finally finished the puzzle my kid started three weeks ago",
	"coffee number three and it's not even 10am",
	"Anyone have a good recipe for lentil soup?",
	"the sunset tonight was unreal, no filter needed",
	"my cat has decided the keyboard is her bed now",
	"Just moved my calendar over to Outlook, it's fine I guess",
	"Teams meeting in five minutes and I haven't had lunch",
	"watching the snow come down from the office window",
	"new episode of the podcast is up, we talk about old arcade games",
	"Spent the morning cleaning up my GitHub repos, feels good",
	"Slack notifications are the bane of my existence but here we are",
	"Made pancakes for dinner because I'm an adult and I can",
	"Trying to learn Spanish with flashcards, día 14",
	"Did a 5k this morning, slow but done",
	"Shared the slides on OneDrive, let me know if you can't see them",
	"Found a new bakery around the corner, their croissants are perfect",
	"My inbox in Outlook is at zero for the first time in years",
	"Listening to old jazz records while I work",
}

var complaintTexts = []string{
	"is discord down or is it just me",
	"YouTube not loading on my TV again",
	"Gmail not working on my phone??",
	"Is Zoom down? my meeting link does nothing",
	"GitHub actions not loading at all",
}

var surgeTexts = []string{
	"Outlook down for anyone else? 451 4.3.2 temporary server issue",
	"Is Outlook down?? Can't send a single email",
	"getting 451 4.3.2 Temporary server error when sending from Outlook, what is going on",
	"Outlook not working at all here in Chicago. emails stuck in the outbox",
	"my emails keep bouncing with 451 4.3.2, Outlook is broken",
	"Outlook outage? our whole office in Toronto can't send mail",
	"Teams is down, can't join any meeting",
	"Microsoft Teams not working, messages won't send. 451 4.3.2 on email too",
	"Is Teams down for everyone in North America?",
	"Teams keeps crashing and Outlook says 451 4.3.2, Microsoft 365 outage?",
	"Microsoft 365 is down. Outlook and Teams both broken",
	"Outlook web isn't working, it just says something went wrong",
}

// hostileText is a post that would run a script if the dashboard let post
// text become markup.
const hostileText = `Outlook down again <img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script> 451 4.3.2`

// oneDriveTexts are the reports of a service that joins the outage late.
var oneDriveTexts = []string{
	"OneDrive not syncing at all now either, is it down?",
	"OneDrive down? none of my files open",
	"and now OneDrive is broken too, Microsoft 365 is a mess today",
}

// incidentReplay writes the replay file and returns its path. A join
// above zero has OneDrive join the outage that long after its onset.
func incidentReplay(t *testing.T, now time.Time, join time.Duration) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 22))
	onset := now.Truncate(time.Minute).Add(-surgeMinutes * time.Minute)
	start := onset.Add(-quietMinutes * time.Minute)
	type line struct {
		at   time.Time
		text string
	}
	var lines []line
	n := 0
	post := func(minute time.Time, did, text string) {
		n++
		at := minute.Add(time.Duration(rng.IntN(59_000)) * time.Millisecond)
		if at.After(now.Add(-5 * time.Second)) {
			return
		}
		lines = append(lines, line{at, apptest.JetstreamPost(did, fmt.Sprintf("3web%07d", n), at, text)})
	}
	for m := start; m.Before(now); m = m.Add(time.Minute) {
		for range 2 + rng.IntN(3) {
			post(m, fmt.Sprintf("did:plc:crowd%05d", rng.IntN(3000)), chatterTexts[rng.IntN(len(chatterTexts))])
		}
		if rng.IntN(12) == 0 {
			post(m, fmt.Sprintf("did:plc:crowd%05d", rng.IntN(3000)), complaintTexts[rng.IntN(len(complaintTexts))])
		}
		if !m.Before(onset) {
			// Fresh voices each minute, rising fast: 8, 16, ... 40 a minute.
			k := int(m.Sub(onset) / time.Minute)
			for range min(8*(k+1), 40) {
				post(m, fmt.Sprintf("did:plc:voice%05d", rng.IntN(100_000)), surgeTexts[rng.IntN(len(surgeTexts))])
			}
			for range 12 {
				if join > 0 && !m.Before(onset.Add(join)) {
					post(m, fmt.Sprintf("did:plc:drive%05d", rng.IntN(100_000)), oneDriveTexts[rng.IntN(len(oneDriveTexts))])
				}
			}
		}
	}
	// Posts are untrusted: one of the newest tries to run a script.
	at := now.Add(-15 * time.Second)
	lines = append(lines, line{at, apptest.JetstreamPost("did:plc:mallory", "3webhostile", at, hostileText)})
	// In event-time order, as a recorded stream would be.
	slices.SortStableFunc(lines, func(a, b line) int { return a.at.Compare(b.at) })
	texts := make([]string, len(lines))
	for i, l := range lines {
		texts[i] = l.text
	}
	path := apptest.WriteReplay(t, texts...)
	t.Logf("replay: %d posts from %s, surge from %s", len(lines), start.Format(time.TimeOnly), onset.Format(time.TimeOnly))
	return path
}
