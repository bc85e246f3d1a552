package synthetic

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strings"
	"time"
)

// Options shape a capture.
type Options struct {
	Seed  uint64
	Posts int
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

// Write writes o.Posts Jetstream v1 post-create messages, one per line.
func Write(w io.Writer, o Options) error {
	o.defaults()
	rng := rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15))
	bw := bufio.NewWriterSize(w, 1<<16)
	authors := make([]string, 5000)
	for i := range authors {
		authors[i] = fmt.Sprintf("did:plc:syn%021x", rng.Uint64()>>4)
	}
	t := o.Start
	for i := 0; i < o.Posts; i++ {
		// A daily rhythm: twice as busy at 18:00 UTC as at 06:00 UTC.
		hour := float64(t.Hour()) + float64(t.Minute())/60
		rate := o.PerSecond * (1 + 0.5*math.Sin((hour-12)/24*2*math.Pi))
		t = t.Add(time.Duration(rng.ExpFloat64() / rate * float64(time.Second)))

		text, lang := post(rng, o)
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
		if _, err := fmt.Fprintf(bw, `{"did":%q,"time_us":%d,"kind":"commit","commit":{"rev":"3syn%09d","operation":"create","collection":"app.bsky.feed.post","rkey":"3syn%09d","record":%s,"cid":"bafysyn%09d"}}`+"\n",
			did, t.UnixMicro(), i, i, rec, i); err != nil {
			return err
		}
	}
	return bw.Flush()
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
