package synthetic

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strings"
	"time"
)

// Options shape a capture.
type Options struct {
	Seed uint64
	// Posts stops the capture after this many posts, Duration after this
	// much event time from Start; whichever comes first. One is required.
	Posts    int
	Duration time.Duration
	// Start is the event time of the first post.
	Start time.Time
	// PerSecond is the average posting rate in event time; the actual
	// rate follows a daily rhythm around it. Default 30 (Bluesky's
	// average is about 25 posts/s).
	PerSecond float64
	// OutageShare is the fraction of posts that report an outage.
	// Default 0.02.
	OutageShare float64
	// MentionShare is the fraction that name a service without
	// reporting an outage. Default 0.05.
	MentionShare float64
	// Incident, if set, adds an outage's complaints on top of the
	// everyday stream.
	Incident *Incident
}

// Incident is an outage as people report it: complaints naming its
// services, from people who mostly had not posted about it before, rising
// fast, holding, then fading. Its posts come from a random stream of their
// own, so the everyday posts are the same with or without it.
type Incident struct {
	// Services the complaints name, one picked per post.
	Services []string
	// Codes are the error messages some complaints quote.
	Codes []string
	// Start is the first complaint's event time; Length how long they
	// last: a rise over the first tenth, a plateau until six tenths, then
	// a linear fade.
	Start  time.Time
	Length time.Duration
	// Peak is complaints per minute on the plateau. Default 40.
	Peak float64
}

// MicrosoftOutage is an Outlook and Teams outage like the one of 22
// January 2026, starting at start and lasting 45 minutes.
func MicrosoftOutage(start time.Time) *Incident {
	return &Incident{
		Services: []string{"Outlook", "Outlook", "Teams", "Microsoft 365"},
		Codes:    []string{"451 4.3.2 temporary server issue", "HTTP 503"},
		Start:    start, Length: 45 * time.Minute,
	}
}

// Demo is the capture the README replays and capturegen writes by default:
// four hours of 22 January 2026 from 17:00 UTC at a post every two seconds
// on average (11,734 lines, 1,311 of them the outage's), with
// MicrosoftOutage from 19:30, long after the detector's one-hour warm-up.
// The rate is low so that the whole pipeline replays it in seconds, also
// in tests under the race detector.
func Demo() Options {
	return Options{
		Seed: 1, Duration: 4 * time.Hour, PerSecond: 0.5,
		Start:    time.Date(2026, 1, 22, 17, 0, 0, 0, time.UTC),
		Incident: MicrosoftOutage(time.Date(2026, 1, 22, 19, 30, 0, 0, time.UTC)),
	}
}

func (o *Options) defaults() {
	if o.Start.IsZero() {
		o.Start = time.Date(2026, 1, 22, 0, 0, 0, 0, time.UTC)
	}
	if o.PerSecond <= 0 {
		o.PerSecond = 30
	}
	if o.OutageShare <= 0 {
		o.OutageShare = 0.02
	}
	if o.MentionShare <= 0 {
		o.MentionShare = 0.05
	}
	if o.Incident != nil && o.Incident.Peak <= 0 {
		o.Incident.Peak = 40
	}
}

var services = []string{
	"Outlook", "Teams", "OneDrive", "SharePoint", "Microsoft 365", "Azure", "AWS", "Gmail", "Google Drive",
	"YouTube", "iCloud", "Slack", "Zoom", "Discord", "GitHub", "Cloudflare", "Instagram", "WhatsApp",
	"Reddit", "Steam", "PlayStation Network", "Xbox Live", "Netflix", "Spotify", "Bluesky",
}

var outageTemplates = []string{
	"is %s down for anyone else?",
	"%s not working again. great start to the day",
	"can't log in to %s, keeps spinning",
	"%s outage?? nothing loads",
	"anyone else getting errors on %s right now",
	"%s down? getting %s",
	"%s keeps failing with %s, is it just me",
	"well %s is dead again %s",
	"%s está caído? no carga nada",
	"%s não está funcionando aqui",
	"%s ne marche plus depuis ce matin",
	"%s geht schon wieder nicht, Störung?",
	"%sが落ちてる？ログインできない",
}

var codes = []string{
	"451 4.3.2 temporary server issue", "HTTP 503", "error 502 bad gateway", "550 5.7.1", "AADSTS50058",
	"0x80070005", "error 500", "CAA20003", "ThrottlingException", "HTTP 504",
}

var mentionTemplates = []string{
	"just uploaded a new video to %s, link in bio",
	"moving our team chat from %s to something else next month",
	"the new %s design is actually nice",
	"does %s have a dark mode yet",
	"%s quarterly earnings are out today",
	"finally cleaned up my %s inbox",
	"nuevo video en %s, pásate",
	"j'adore la nouvelle version de %s",
}

var chatter = []string{
	"good morning everyone, coffee first",
	"the sunset tonight was unreal",
	"who else is watching the match later",
	"reading a great book about the history of maps",
	"my cat has decided the keyboard is her bed now",
	"new recipe: roasted squash with miso butter",
	"train delayed again, as usual",
	"weekend plans: absolutely nothing",
	"buenos días a todos, que tengan un lindo día",
	"bom dia! hoje tem jogo",
	"bonne journée à tous",
	"guten Morgen, erstmal Kaffee",
	"今日はいい天気ですね",
	"sitting down to write for an hour, wish me luck",
	"the stock is down 8% after the earnings call",
}

var fillers = []string{
	"honestly", "again", "lol", "today", "this week", "at work", "from home", "please", "ugh", "btw",
	"right now", "for real", "ok", "anyway", "seriously",
}

// Write writes Jetstream v1 post-create messages, one per line, in event
// time order, until o.Posts posts or o.Duration of event time.
func Write(w io.Writer, o Options) error {
	o.defaults()
	if o.Posts <= 0 && o.Duration <= 0 {
		return errors.New("synthetic: set Posts or Duration")
	}
	if in := o.Incident; in != nil && (len(in.Services) == 0 || in.Length <= 0) {
		return errors.New("synthetic: an incident needs services and a length")
	}
	rng := rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15))
	bw := bufio.NewWriterSize(w, 1<<16)
	authors := make([]string, 5000)
	for i := range authors {
		authors[i] = fmt.Sprintf("did:plc:syn%021x", rng.Uint64()>>4)
	}
	var out *outage
	if o.Incident != nil {
		out = &outage{Incident: o.Incident, rng: rand.New(rand.NewPCG(o.Seed, 0x0ba6e)), at: o.Incident.Start}
		out.advance()
	}
	end := o.Start.Add(o.Duration)
	bgAt, bg := o.step(rng, o.Start), 0
	for n := 0; o.Posts <= 0 || n < o.Posts; n++ {
		at := bgAt
		fromOutage := out != nil && out.at.Before(bgAt)
		if fromOutage {
			at = out.at
		}
		if o.Duration > 0 && !at.Before(end) {
			break
		}
		var err error
		if fromOutage {
			err = out.write(bw)
			out.advance()
		} else {
			err = o.writePost(bw, rng, authors, bg, at)
			bg++
			bgAt = o.step(rng, bgAt)
		}
		if err != nil {
			return err
		}
	}
	return bw.Flush()
}

// step returns the time of the everyday post after one at t: a daily
// rhythm, twice as busy at 18:00 UTC as at 06:00 UTC.
func (o *Options) step(rng *rand.Rand, t time.Time) time.Time {
	hour := float64(t.Hour()) + float64(t.Minute())/60
	rate := o.PerSecond * (1 + 0.5*math.Sin((hour-12)/24*2*math.Pi))
	return t.Add(time.Duration(rng.ExpFloat64() / rate * float64(time.Second)))
}

// writePost writes the i-th everyday post, at t.
func (o *Options) writePost(w io.Writer, rng *rand.Rand, authors []string, i int, t time.Time) error {
	text, lang := post(rng, *o)
	rec, err := json.Marshal(map[string]any{
		"$type":     "app.bsky.feed.post",
		"text":      text,
		"createdAt": t.Add(-time.Duration(rng.IntN(3000)) * time.Millisecond).Format(time.RFC3339Nano),
		"langs":     []string{lang},
	})
	if err != nil {
		return err
	}
	did := authors[rng.IntN(len(authors))]
	_, err = fmt.Fprintf(w, `{"did":%q,"time_us":%d,"kind":"commit","commit":{"rev":"3syn%09d","operation":"create","collection":"app.bsky.feed.post","rkey":"3syn%09d","record":%s,"cid":"bafysyn%09d"}}`+"\n",
		did, t.UnixMicro(), i, i, rec, i)
	return err
}

// outage writes an Incident's complaints: a Poisson stream thinned to the
// incident's shape, so the rate at each moment is Peak times shape.
type outage struct {
	*Incident
	rng *rand.Rand
	at  time.Time // the next complaint; past the end when there is none
	n   int
}

// shape is the incident's rate at t as a fraction of its peak.
func (in *Incident) shape(t time.Time) float64 {
	f := float64(t.Sub(in.Start)) / float64(in.Length)
	switch {
	case f < 0 || f >= 1:
		return 0
	case f < 0.1:
		return 0.1 + 9*f // from a tenth of the peak to all of it
	case f < 0.6:
		return 1
	default:
		return (1 - f) / 0.4
	}
}

// advance moves at to the next complaint, or to never after the incident.
func (u *outage) advance() {
	end := u.Start.Add(u.Length)
	perSecond := u.Peak / 60
	for {
		u.at = u.at.Add(time.Duration(u.rng.ExpFloat64() / perSecond * float64(time.Second)))
		if !u.at.Before(end) {
			u.at = time.Unix(1<<40, 0)
			return
		}
		if u.rng.Float64() < u.shape(u.at) {
			return
		}
	}
}

// write writes the complaint at u.at, by a fresh voice most of the time.
func (u *outage) write(w io.Writer) error {
	svc := u.Services[u.rng.IntN(len(u.Services))]
	tpl := outageTemplates[u.rng.IntN(len(outageTemplates))]
	code := ""
	if len(u.Codes) > 0 {
		code = u.Codes[u.rng.IntN(len(u.Codes))]
	}
	var text string
	switch {
	case strings.Count(tpl, "%s") == 2:
		text = fmt.Sprintf(tpl, svc, code)
	case u.rng.IntN(3) == 0 && code != "":
		text = fmt.Sprintf(tpl, svc) + " " + code
	default:
		text = fmt.Sprintf(tpl, svc)
	}
	rec, err := json.Marshal(map[string]any{
		"$type": "app.bsky.feed.post", "text": text, "langs": []string{langOf(text)},
		"createdAt": u.at.Add(-time.Duration(u.rng.IntN(3000)) * time.Millisecond).Format(time.RFC3339Nano),
	})
	if err != nil {
		return err
	}
	did := fmt.Sprintf("did:plc:synout%016x", u.rng.IntN(20000))
	u.n++
	_, err = fmt.Fprintf(w, `{"did":%q,"time_us":%d,"kind":"commit","commit":{"rev":"3out%09d","operation":"create","collection":"app.bsky.feed.post","rkey":"3out%09d","record":%s,"cid":"bafyout%09d"}}`+"\n",
		did, u.at.UnixMicro(), u.n, u.n, rec, u.n)
	return err
}

func post(rng *rand.Rand, o Options) (text, lang string) {
	svc := services[rng.IntN(len(services))]
	r := rng.Float64()
	switch {
	case r < o.OutageShare:
		tpl := outageTemplates[rng.IntN(len(outageTemplates))]
		code := codes[rng.IntN(len(codes))]
		if strings.Count(tpl, "%s") == 2 {
			text = fmt.Sprintf(tpl, svc, code)
		} else {
			text = fmt.Sprintf(tpl, svc)
		}
	case r < o.OutageShare+o.MentionShare:
		text = fmt.Sprintf(mentionTemplates[rng.IntN(len(mentionTemplates))], svc)
	default:
		text = chatter[rng.IntN(len(chatter))]
	}
	for n := rng.IntN(4); n > 0; n-- {
		text += " " + fillers[rng.IntN(len(fillers))]
	}
	return text, langOf(text)
}

// langOf guesses the language tag a client would have set.
func langOf(s string) string {
	switch {
	case strings.ContainsAny(s, "ぁあいうえおかがきぎくぐけげこごさざしじすずせぜそぞただちぢっつづてでとどなにぬねのはばぱひびぴふぶぷへべぺほぼぽまみむめもゃやゅゆょよらりるれろわをん"):
		return "ja"
	case strings.Contains(s, "está") || strings.Contains(s, "buenos") || strings.Contains(s, "nuevo") || strings.Contains(s, "pásate"):
		return "es"
	case strings.Contains(s, "não") || strings.Contains(s, "bom dia"):
		return "pt"
	case strings.Contains(s, "ne marche") || strings.Contains(s, "bonne") || strings.Contains(s, "j'adore"):
		return "fr"
	case strings.Contains(s, "geht") || strings.Contains(s, "guten"):
		return "de"
	default:
		return "en"
	}
}
