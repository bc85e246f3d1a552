package benchposts

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/downsignal/downsignal/classify"
	"github.com/downsignal/downsignal/record"
)

// Count is the number of posts a benchmark indexes: DOWNSIGNAL_BENCH_POSTS,
// default def.
func Count(tb testing.TB, def int) int {
	tb.Helper()
	if s := os.Getenv("DOWNSIGNAL_BENCH_POSTS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			tb.Fatalf("DOWNSIGNAL_BENCH_POSTS=%q: want a positive integer", s)
		}
		return n
	}
	return def
}

var (
	services = []string{"Outlook", "Teams", "Microsoft 365", "OneDrive", "Azure", "AWS", "Gmail", "YouTube", "iCloud",
		"Bluesky", "Instagram", "WhatsApp", "Reddit", "Slack", "Zoom", "Discord", "GitHub", "Cloudflare", "Facebook", "SharePoint"}
	codes   = []string{"451 4.3.2", "HTTP 503", "HTTP 502", "550 5.1.1", "421 4.7.0", "HTTP 500", "error 504"}
	cities  = []string{"Chicago", "New York", "London", "Paris", "Tokyo", "Berlin", "Sydney", "Toronto", "Madrid", "Seattle"}
	langs   = []string{"en", "en", "en", "en", "en", "en", "ja", "pt", "de", "es", "fr", "ko"}
	chatter = []string{
		"good morning everyone, coffee first", "just finished a long run along the river", "this album is incredible on repeat",
		"anyone have book recommendations for a long flight", "my cat has claimed the keyboard again", "the sunset tonight was unreal",
		"working from the library today, it is so quiet", "new paper out on graph neural networks, thread below",
		"trying a new ramen place downtown", "the game last night went to overtime", "garden update: the tomatoes are finally red",
		"reminder that it is okay to rest", "learning Go generics this weekend", "rain all day, perfect for reading",
	}
	mentions = []string{
		"%s just shipped a redesign and I kind of like it", "moving my files to %s this weekend", "anyone using %s for work?",
		"the %s keynote was long", "switched from %s and never looked back", "%s pricing changed again",
	}
	reports = []string{
		"%s down for anyone else?", "is %s down? nothing loads", "%s not working again", "%s outage, can't log in",
		"%s is down in %s", "getting %s from %s all morning, not working", "%s broken for me, %s", "can't sign in to %s, is it down?",
	}
)

// Generator makes the stream. One goroutine owns it.
type Generator struct {
	rng   *rand.Rand
	clf   *classify.Classifier
	start time.Time
	step  time.Duration
	n     int
	// relevant is the share of posts outside incidents that name a
	// service (half mentions, half outage reports); the rest is chatter.
	relevant float64
}

// New returns a generator of posts spread evenly from start, one every
// step.
func New(seed uint64, start time.Time, step time.Duration) (*Generator, error) {
	clf, err := classify.New()
	if err != nil {
		return nil, err
	}
	return &Generator{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b9)), clf: clf, start: start, step: step, relevant: 0.30}, nil
}

// SetRelevantShare sets the share of posts outside incidents that name a
// service (default 0.30); the rest is chatter that names nothing. About
// 0.085 makes one post in ten relevant (incidents add theirs), as on the
// real network.
func (g *Generator) SetRelevantShare(share float64) { g.relevant = share }

func (g *Generator) pick(v []string) string { return v[g.rng.IntN(len(v))] }

// incident says whether t falls in a surge: every 6 hours, 20 minutes of
// Outlook (or Teams) failing with 451 4.3.2 in Chicago and elsewhere.
func incident(t time.Time) (string, bool) {
	m := t.Unix() / 60 % 360
	if m >= 120 && m < 140 {
		if t.Unix()/21600%2 == 0 {
			return "Outlook", true
		}
		return "Teams", true
	}
	return "", false
}

// text returns a post's text and the region it names, if any.
func (g *Generator) text(t time.Time) (string, string) {
	city := ""
	if svc, ok := incident(t); ok && g.rng.IntN(3) == 0 {
		city = g.pick(cities)
		if g.rng.IntN(2) == 0 {
			city = "Chicago"
		}
		return fmt.Sprintf("%s down in %s, mail bounces with 451 4.3.2 temporary server issue", svc, city), city
	}
	switch r := float64(g.rng.IntN(100)); {
	case r < 100-100*g.relevant:
		return g.pick(chatter), ""
	case r < 100-50*g.relevant:
		return fmt.Sprintf(g.pick(mentions), g.pick(services)), ""
	default:
		svc := g.pick(services)
		tmpl := g.pick(reports)
		switch strings.Count(tmpl, "%s") {
		case 1:
			return fmt.Sprintf(tmpl, svc), ""
		default:
			if strings.Contains(tmpl, " in %s") {
				city = g.pick(cities)
				return fmt.Sprintf(tmpl, svc, city), city
			}
			a, b := g.pick(codes), svc
			if strings.HasPrefix(tmpl, "%s broken") {
				a, b = svc, g.pick(codes)
			}
			return fmt.Sprintf(tmpl, a, b), ""
		}
	}
}

// Next returns the next post as an ingest event.
func (g *Generator) Next() record.Event {
	i := g.n
	g.n++
	t := g.start.Add(time.Duration(i) * g.step)
	text, _ := g.text(t)
	did := fmt.Sprintf("did:plc:bench%07d", g.rng.IntN(200_000))
	return record.Event{V: 1, Kind: record.KindPost, DID: did, URI: fmt.Sprintf("at://%s/app.bsky.feed.post/3lb%09d", did, i),
		CID: fmt.Sprintf("bafy%09d", i), Time: t, CreatedAt: t.Add(-time.Second), Text: text, Langs: []string{g.pick(langs)}, Source: "replay"}
}

// Signal classifies an event like the classify stage; regions are added
// from the city the synthetic text names (the first classifier finds none).
func (g *Generator) Signal(ev record.Event) record.Signal {
	res := g.clf.Classify(classify.Input{Text: ev.Text, Langs: ev.Langs})
	if len(res.Regions) == 0 {
		for _, c := range cities {
			if strings.Contains(ev.Text, " in "+c) {
				res.Regions = []record.Region{{Name: c, Kind: "city"}}
			}
		}
	}
	return record.Signal{V: record.SignalVersion, Event: ev, Result: &res}
}
