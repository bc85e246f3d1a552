// Package detecttest writes recorded-style days of Bluesky posts for tests
// of the detector and of the whole pipeline: quiet chatter that follows a
// daily rhythm, background complaints at their usual low rate, and on
// request a Microsoft 365 outage like the one of 22 January 2026 or a
// copy-paste brigade. Days are generated from a seed, so every run
// replays the same posts.
package detecttest

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// Post is one post of a generated day.
type Post struct {
	DID  string
	RKey string
	Time time.Time
	Text string
	// Delete marks a deletion of the post RKey by DID at Time.
	Delete bool
}

// URI is the post's at-URI.
func (p Post) URI() string { return "at://" + p.DID + "/app.bsky.feed.post/" + p.RKey }

// DayOptions says what a day holds.
type DayOptions struct {
	// Date is the day (UTC midnight is used). Default 22 Jan 2026.
	Date time.Time
	Seed uint64
	// From and To bound the generated hours (default 0 and 24).
	From, To int
	// ChatterPerMinute is the average volume of everyday posts. Default 3.
	ChatterPerMinute float64
	// Surge adds the Microsoft 365 outage starting at SurgeOnset.
	Surge bool
	// SurgesAt adds the same outage again at each of these onsets (a
	// service that fails twice in a day).
	SurgesAt []time.Time
	// Brigade adds three accounts copy-pasting one complaint about Discord
	// every minute for half an hour at 16:00.
	Brigade bool
}

// SurgeOnset is when the first people complained (14:30 ET).
func SurgeOnset(date time.Time) time.Time {
	d := date.UTC().Truncate(24 * time.Hour)
	return d.Add(19*time.Hour + 30*time.Minute)
}

// SurgeEnd is when the outage's complaints have died down.
func SurgeEnd(date time.Time) time.Time { return SurgeOnset(date).Add(75 * time.Minute) }

// Day generates the posts of one day, ordered by time.
func Day(o DayOptions) []Post {
	if o.Date.IsZero() {
		o.Date = time.Date(2026, 1, 22, 0, 0, 0, 0, time.UTC)
	}
	day := o.Date.UTC().Truncate(24 * time.Hour)
	if o.To <= 0 {
		o.To = 24
	}
	if o.ChatterPerMinute <= 0 {
		o.ChatterPerMinute = 3
	}
	g := &gen{rng: rand.New(rand.NewPCG(o.Seed, 0x5eed)), day: day}
	from := day.Add(time.Duration(o.From) * time.Hour)
	to := day.Add(time.Duration(o.To) * time.Hour)
	for t := from; t.Before(to); t = t.Add(time.Minute) {
		hour := float64(t.Sub(day)) / float64(time.Hour)
		// Daily rhythm: quiet at night (UTC ~ US night), busy in the afternoon.
		rhythm := 0.35 + 0.65*math.Pow(math.Sin(math.Pi*math.Mod(hour+18, 24)/24), 2)
		for range g.poisson(o.ChatterPerMinute * rhythm) {
			g.post(t, pick(g.rng, chatter), g.crowd(4000))
		}
		// Everyday complaints: a few an hour across all services.
		for range g.poisson(0.12 * rhythm) {
			g.post(t, pick(g.rng, everydayComplaints), g.crowd(4000))
		}
		if o.Surge {
			g.surge(t, SurgeOnset(day))
		}
		for _, onset := range o.SurgesAt {
			g.surge(t, onset)
		}
		if o.Brigade {
			g.brigade(t)
		}
	}
	slices.SortStableFunc(g.posts, func(a, b Post) int { return a.Time.Compare(b.Time) })
	return g.posts
}

type gen struct {
	rng   *rand.Rand
	day   time.Time
	posts []Post
	n     int
}

func (g *gen) poisson(lambda float64) int {
	// Knuth's method: fine for the small rates used here.
	l, k, p := math.Exp(-lambda), 0, 1.0
	for {
		p *= g.rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// crowd picks one of n everyday accounts.
func (g *gen) crowd(n int) string { return fmt.Sprintf("did:plc:user%05d", g.rng.IntN(n)) }

func (g *gen) post(minute time.Time, text, did string) {
	g.n++
	t := minute.Add(time.Duration(g.rng.IntN(60_000)) * time.Millisecond)
	g.posts = append(g.posts, Post{DID: did, RKey: fmt.Sprintf("3m%07d", g.n), Time: t, Text: decorate(g.rng, text)})
}

// surge writes the outage that began at onset: a fast rise, a plateau, a
// slow decay, each minute by people who mostly had not posted about it yet.
func (g *gen) surge(t, onset time.Time) {
	min := t.Sub(onset).Minutes()
	var rate float64
	switch {
	case min < 0:
		return
	case min < 6:
		rate = 5 + 9*min // 5, 14, 23, 32, 41, 50
	case min < 30:
		rate = 55
	case min < 75:
		rate = 55 * math.Exp(-(min-30)/9)
	default:
		return
	}
	for range g.poisson(rate) {
		// A fresh voice most of the time; now and then someone posts again.
		did := fmt.Sprintf("did:plc:m365user%05d", g.rng.IntN(6000))
		if g.rng.IntN(8) == 0 {
			did = fmt.Sprintf("did:plc:m365user%05d", g.rng.IntN(40))
		}
		var text string
		switch r := g.rng.IntN(10); {
		case min > 45 && r < 4:
			text = pick(g.rng, m365Recovery)
		case r < 4:
			text = pick(g.rng, outlookPosts)
		case r < 7:
			text = pick(g.rng, teamsPosts)
		default:
			text = pick(g.rng, m365Posts)
		}
		g.post(t, text, did)
	}
}

// brigade: three accounts paste one message every minute, 16:00-16:30.
func (g *gen) brigade(t time.Time) {
	start := g.day.Add(16 * time.Hour)
	if t.Before(start) || !t.Before(start.Add(30*time.Minute)) {
		return
	}
	for i := range 3 {
		g.post(t, brigadeText, fmt.Sprintf("did:plc:brigade%d", i))
	}
}

const brigadeText = "Discord is down AGAIN and nobody at that company cares. Boycott Discord today, delete the app and tell your friends to leave too"

func pick(r *rand.Rand, s []string) string { return s[r.IntN(len(s))] }

// decorate varies a text the way people do: case, punctuation, an emoji.
func decorate(r *rand.Rand, s string) string {
	switch r.IntN(7) {
	case 0:
		s = strings.ToLower(s)
	case 1:
		s = strings.TrimRight(s, ".!?") + "..."
	case 2:
		s += " " + pick(r, []string{"😩", "🙃", "🤦", "😤", "lol", "ugh", "smh", "😭"})
	}
	return s
}

// JetstreamLine renders a post (or its deletion) as one Jetstream v1
// message, the format of a recorded capture.
func JetstreamLine(p Post) string {
	if p.Delete {
		return fmt.Sprintf(`{"did":%q,"time_us":%d,"kind":"commit","commit":{"rev":"r%s","operation":"delete","collection":"app.bsky.feed.post","rkey":%q}}`,
			p.DID, p.Time.UnixMicro(), p.RKey, p.RKey)
	}
	rec, _ := json.Marshal(map[string]any{
		"$type": "app.bsky.feed.post", "text": p.Text, "langs": []string{"en"},
		"createdAt": p.Time.Add(-1500 * time.Millisecond).Format(time.RFC3339Nano),
	})
	return fmt.Sprintf(`{"did":%q,"time_us":%d,"kind":"commit","commit":{"rev":"r%s","operation":"create","collection":"app.bsky.feed.post","rkey":%q,"record":%s,"cid":"bafy%s"}}`,
		p.DID, p.Time.UnixMicro(), p.RKey, p.RKey, rec, p.RKey)
}
