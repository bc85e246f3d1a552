package classify

import (
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/downsignal/downsignal/record"
)

var (
	sharedOnce sync.Once
	shared     *Classifier
	sharedErr  error
)

// classifier returns one classifier for the whole test binary: building it takes a tenth of a second.
func classifier(t testing.TB) *Classifier {
	t.Helper()
	sharedOnce.Do(func() { shared, sharedErr = New() })
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return shared
}

func TestHardCases(t *testing.T) {
	c := classifier(t)
	tests := []struct {
		name     string
		text     string
		langs    []string
		outage   bool
		intent   string
		services []string // nil: don't check
		codes    []string // nil: don't check
	}{
		// The 22 Jan 2026 Microsoft 365 incident.
		{"m365 question", "Outlook down?", nil, true, record.IntentOutage, []string{"outlook"}, nil},
		{"teams dropped", "Teams dropped my meeting, is it down for everyone?", nil, true, record.IntentOutage, []string{"teams"}, nil},
		{"smtp quote", `Every mail bounces with "451 4.3.2 temporary server issue" from Exchange Online`, nil, true, record.IntentOutage, []string{"exchange-online"}, []string{"451 4.3.2"}},
		{"provider and children", "Microsoft 365 outage in North America: Outlook and Teams down", nil, true, record.IntentOutage, []string{"microsoft-365", "outlook", "teams"}, nil},

		// Questions to others, in the grammar of each language.
		{"german inverted question", "Geht WhatsApp bei euch auch nicht?", []string{"de"}, true, record.IntentOutage, []string{"whatsapp"}, nil},
		{"german asks others", "Funktioniert Teams bei euch? Bei mir lädt nichts", []string{"de"}, true, record.IntentOutage, []string{"teams"}, nil},
		{"german dislike", "Ich mag Teams auch nicht besonders", []string{"de"}, false, record.IntentNone, nil, nil},
		{"spanish anyone else", "¿A alguien más no le funciona Outlook?", []string{"es"}, true, record.IntentOutage, []string{"outlook"}, nil},

		// Scripts without spaces.
		{"japanese glued", "Outlookが落ちてる", nil, true, record.IntentOutage, []string{"outlook"}, nil},
		{"katakana alias", "アウトルックが使えない", nil, true, record.IntentOutage, []string{"outlook"}, nil},
		{"katakana inside word", "オンラインで会議するの慣れた", nil, false, record.IntentNone, []string{}, nil},
		{"full-width latin", "ＧＭＡＩＬ落ちてる？", nil, true, record.IntentOutage, []string{"gmail"}, nil},

		// Hashtags, mentions, domains.
		{"outage hashtag", "#OutlookDown great way to start the day", nil, true, record.IntentOutage, []string{"outlook"}, nil},
		{"french hashtag", "#PanneOrange depuis ce matin", []string{"fr"}, true, record.IntentOutage, []string{"orange"}, nil},
		{"domain handle", "@bsky.app the app won't load for me", nil, true, record.IntentOutage, []string{"bluesky"}, nil},
		{"x handle", "@XboxSupport can't sign in, party chat not working", nil, true, record.IntentOutage, []string{"xbox-live"}, nil},
		{"domain", "outlook.com is not loading", nil, true, record.IntentOutage, []string{"outlook"}, nil},

		// Ambiguous names.
		{"weather outlook", "The weather outlook is down to 3 degrees tonight", nil, false, record.IntentNone, []string{}, nil},
		{"sports teams", "Both teams are down by 10 at halftime", nil, false, record.IntentNone, []string{}, nil},
		{"letter x", "Solve for x: the answer is down there", nil, false, record.IntentNone, []string{}, nil},
		{"x-ray", "The X-ray machine is broken again", nil, false, record.IntentNone, []string{}, nil},
		{"x the service", "X is down again, can't load any posts", nil, true, record.IntentOutage, []string{"x"}, nil},
		{"steam the vapour", "Let off some steam at the gym", nil, false, record.IntentNone, []string{}, nil},
		{"zoom the verb", "Zoom in on the photo", nil, false, record.IntentNone, []string{}, nil},
		{"apple the fruit", "apple pie is the best pie", nil, false, record.IntentNone, []string{}, nil},
		{"epic adjective", "That was an epic game, servers of fun", nil, false, record.IntentNone, []string{}, nil},
		{"chase the verb", "Chase your dreams", nil, false, record.IntentNone, []string{}, nil},
		{"square the place", "Meet me at the town square", nil, false, record.IntentNone, []string{}, nil},
		{"turn signal", "My turn signal is broken", nil, false, record.IntentNone, []string{}, nil},
		{"notion the word", "I had no notion of it", nil, false, record.IntentNone, []string{}, nil},
		{"target word", "Hit my step target today", nil, false, record.IntentNone, []string{}, nil},
		{"line the word", "Draw a line under it", nil, false, record.IntentNone, []string{}, nil},
		{"line the app", "LINE落ちてる？メッセージ送れない", nil, true, record.IntentOutage, []string{"line"}, nil},
		{"au in french", "Le réseau est en panne au bureau", []string{"fr"}, false, record.IntentNone, []string{}, nil},
		{"au in japanese", "auの回線が繋がらない", []string{"ja"}, true, record.IntentOutage, []string{"kddi-au"}, nil},
		{"claro the word", "Claro, el servidor de mi casa está caído", []string{"es"}, false, record.IntentNone, []string{}, nil},
		{"steam the service", "Steam servers are down, can't log in", nil, true, record.IntentOutage, []string{"steam"}, nil},

		// Intent.
		{"negation", "Outlook isn't down, it's your wifi", nil, false, record.IntentNone, []string{"outlook"}, nil},
		{"recovery", "Slack is back up, finally", nil, false, record.IntentRecovery, []string{"slack"}, nil},
		{"recovery es", "WhatsApp ya volvió, todo normal", []string{"es"}, false, record.IntentRecovery, []string{"whatsapp"}, nil},
		{"recovery ja", "LINE復旧した", []string{"ja"}, false, record.IntentRecovery, []string{"line"}, nil},
		// "Repair under way" is no recovery; and an operator's announcement is news
		// about an outage, not a report of one (testdata/real/GUIDE.md).
		{"ongoing repair ja", "au通信障害、KDDIが復旧作業中と発表", []string{"ja"}, false, record.IntentNone, nil, nil},
		{"stock down", "Cloudflare shares down 8% after earnings", nil, false, record.IntentNone, nil, nil},
		{"download", "Let me download the new Spotify update", nil, false, record.IntentNone, nil, nil},
		{"not down with", "I'm not down with that plan", nil, false, record.IntentNone, []string{}, nil},
		{"let me down", "Netflix really let me down with that finale", nil, false, record.IntentNone, nil, nil},
		{"past", "Remember the AWS outage in 2021? Wild times", nil, false, record.IntentNone, nil, nil},
		{"is down a number", "Google is down 5% today after the antitrust ruling", nil, false, record.IntentNone, nil, nil},
		{"went down a number", "AWS bill went down 30% after the migration", nil, false, record.IntentNone, nil, nil},
		{"down votes", "Reddit down votes are brutal", nil, false, record.IntentNone, nil, nil},
		{"down for a game", "Who's down for Fortnite tonight?", nil, false, record.IntentNone, nil, nil},
		{"keeps doing things", "YouTube keeps recommending me garbage", nil, false, record.IntentNone, nil, nil},
		{"opinion", "Microsoft Teams is the worst app ever designed", nil, false, record.IntentNone, []string{"teams"}, nil},
		{"hypothetical", "Imagine if Slack went down for a whole day", nil, false, record.IntentNone, nil, nil},
		{"anyone else", "anyone else having issues with discord rn?", nil, true, record.IntentOutage, []string{"discord"}, nil},
		{"spanish", "¿Se cayó WhatsApp? No me llegan los mensajes", []string{"es"}, true, record.IntentOutage, []string{"whatsapp"}, nil},
		{"portuguese", "O zap caiu de novo", []string{"pt-BR"}, true, record.IntentOutage, []string{"whatsapp"}, nil},
		{"french", "Free en panne à Lyon, plus d'internet", []string{"fr"}, true, record.IntentOutage, []string{"free"}, nil},
		{"german", "Telekom Störung in Berlin, kein Internet", []string{"de"}, true, record.IntentOutage, []string{"telekom"}, nil},
		{"german compound", "Telekomstörung seit heute Morgen", []string{"de"}, true, record.IntentOutage, []string{"telekom"}, nil},
		{"no langs", "Gmail caído, no carga nada", nil, true, record.IntentOutage, []string{"gmail"}, nil},
		{"wrong langs", "Gmail caiu, não carrega nada", []string{"en"}, true, record.IntentOutage, []string{"gmail"}, nil},

		// Announced maintenance, home servers, past and denied outages,
		// in each language.
		{"planned maintenance", "Heads up: Steam will be down Tuesday 7pm for scheduled maintenance", nil, false, record.IntentNone, nil, nil},
		{"planned maintenance es", "Santander estará fuera de servicio el domingo por mantenimiento programado", []string{"es"}, false, record.IntentNone, nil, nil},
		{"planned maintenance pt", "O app do Itaú ficará fora do ar na madrugada de sábado", []string{"pt"}, false, record.IntentNone, nil, nil},
		{"planned maintenance fr", "Le site des impôts sera indisponible ce week-end, maintenance programmée", []string{"fr"}, false, record.IntentNone, nil, nil},
		{"planned maintenance de", "Wegen Wartungsarbeiten ist PayPal heute Nacht nicht erreichbar", []string{"de"}, false, record.IntentNone, nil, nil},
		{"planned maintenance ja", "LINEは明日メンテナンス予定です", []string{"ja"}, false, record.IntentNone, nil, nil},
		{"home server", "my Plex home server crashed again, time for a new disk", nil, false, record.IntentNone, nil, nil},
		{"own server de", "Unser eigener Server ist down, nicht AWS", []string{"de"}, false, record.IntentNone, nil, nil},
		{"not an outage es", "Gmail no me deja enviar, pero es una regla de mi empresa, no una caída", []string{"es"}, false, record.IntentNone, nil, nil},
		{"denial fr", "Instagram n'est pas tombé, c'est ton téléphone", []string{"fr"}, false, record.IntentNone, nil, nil},
		{"denial ja", "YouTube落ちてる？普通に見れるけど", []string{"ja"}, false, record.IntentNone, nil, nil},
		{"past de", "Vor einem Jahr war der große Ausfall bei Microsoft", []string{"de"}, false, record.IntentNone, nil, nil},
		{"past ja", "昨夜のdocomoの通信障害についてお詫び", []string{"ja"}, false, record.IntentNone, nil, nil},
		{"recovered pt", "A instabilidade do Nubank foi resolvida, tudo normal", []string{"pt"}, false, record.IntentRecovery, nil, nil},
		{"recovered es", "Spotify ya funciona de nuevo", []string{"es"}, false, record.IntentRecovery, nil, nil},
		{"hypothetical es", "¿Qué pasaría si mañana se cae Google?", []string{"es"}, false, record.IntentNone, nil, nil},
		{"scores down", "Test scores down again at the state university", nil, false, record.IntentNone, nil, nil},
		{"release", "Android 16 is out now and fixes the bug with notifications", nil, false, record.IntentNone, nil, nil},
		// Complaints said with slowness and unavailability.
		{"overloaded", "ChatGPT is overloaded again, can't get a single answer", nil, true, record.IntentOutage, []string{"chatgpt"}, nil},
		{"heavy ja", "インスタ重い、ストーリーが読み込まれない", []string{"ja"}, true, record.IntentOutage, []string{"instagram"}, nil},
		{"unavailable fr", "Ameli : service indisponible depuis ce matin", []string{"fr"}, true, record.IntentOutage, nil, nil},
		{"no network fr", "Bouygues sans réseau à Lille depuis 2h", []string{"fr"}, true, record.IntentOutage, []string{"bouygues"}, nil},
		{"fault es", "Movistar: avería general, sin fibra en todo el barrio", []string{"es"}, true, record.IntentOutage, nil, nil},
		{"went wrong de", "DHL App: 'Da ist etwas schiefgelaufen' bei jeder Sendung. Wer noch?", []string{"de"}, true, record.IntentOutage, []string{"dhl"}, nil},

		// Error codes that imply a service.
		{"aadsts implies entra", "AADSTS50058 on every sign-in this morning, nothing works", nil, true, record.IntentOutage, []string{"entra-id"}, []string{"AADSTS50058"}},
		{"psn code", "Can't connect, error CE-108255-1", nil, true, record.IntentOutage, []string{"playstation-network"}, []string{"CE-108255-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.Classify(Input{Text: tt.text, Langs: tt.langs})
			if r.Outage != tt.outage || r.Intent != tt.intent {
				t.Errorf("Classify(%q) = outage %v intent %q (score %.2f), want outage %v intent %q", tt.text, r.Outage, r.Intent, r.Score, tt.outage, tt.intent)
			}
			if tt.services != nil && !slices.Equal(serviceIDs(r), tt.services) {
				t.Errorf("Classify(%q) services = %v, want %v", tt.text, serviceIDs(r), tt.services)
			}
			if tt.codes != nil && !slices.Equal(codeList(r), tt.codes) {
				t.Errorf("Classify(%q) codes = %v, want %v", tt.text, codeList(r), tt.codes)
			}
		})
	}
}

func TestErrorCodes(t *testing.T) {
	c := classifier(t)
	tests := []struct {
		text   string
		want   []string
		family string // of the first code
	}{
		{"451 4.3.2 temporary server issue from Outlook", []string{"451 4.3.2"}, "smtp"},
		{"Exchange bounced it: 550 5.7.1 unable to relay", []string{"550 5.7.1"}, "smtp"},
		{"Gmail: 421-4.7.0 try again later", []string{"421 4.7.0"}, "smtp"},
		{"mail rejected with 5.7.1 by their server", []string{"5.7.1"}, "smtp"},
		{"our mail queue says 550 for every message", []string{"550"}, "smtp"},
		{"HTTP 503 from the API", []string{"HTTP 503"}, "http"},
		{"503 Service Unavailable on every page", []string{"HTTP 503"}, "http"},
		{"error 502 again", []string{"HTTP 502"}, "http"},
		{"got a 504 from the load balancer", []string{"HTTP 504"}, "http"},
		{"the API is throwing 500s", []string{"HTTP 500"}, "http"},
		{"Cloudflare error 522 on my blog", []string{"HTTP 522"}, "cloudflare"},
		{"error 522 on the origin", []string{"HTTP 522"}, "http"},
		{"Cloudflare 522 on half the internet right now", []string{"HTTP 522"}, "cloudflare"},
		{"Cloudflare 525 employees were laid off", nil, ""},
		{"Cloudflare says Error 1020 access denied", []string{"Cloudflare 1020"}, "cloudflare"},
		{"AADSTS50076 again", []string{"AADSTS50076"}, "aadsts"},
		{"Teams 0xCAA20003 sign in error", []string{"CAA20003"}, "caa"},
		{"Teams error CAA2000B", []string{"CAA2000B"}, "caa"},
		{"0x80070005 access denied", []string{"0x80070005"}, "hresult"},
		{"Xbox 0x87e10bc6", []string{"0x87E10BC6"}, "xbox"},
		{"0x80A40008 on my console", []string{"0x80A40008"}, "xbox"},
		{"DynamoDB ThrottlingException", []string{"ThrottlingException"}, "aws"},
		{"S3 SlowDown please reduce your request rate", []string{"SlowDown"}, "aws"},
		{"PS5 ce-108255-1", []string{"CE-108255-1"}, "playstation"},
		{"WS-116522-7 again", []string{"WS-116522-7"}, "playstation"},
		{"Switch eShop error 2002-3537", []string{"2002-3537"}, "nintendo"},
		// Never a code.
		{"500 people came to the meetup", nil, ""},
		{"$503 for rent", nil, ""},
		{"it cost 503€", nil, ""},
		{"see you at 5:03", nil, ""},
		{"on 2025-05-03 we met", nil, ""},
		{"version 4.3.2 is out", nil, ""},
		{"upgraded to v5.7.1 today", nil, ""},
		{"my IP is 10.4.3.2", nil, ""},
		{"call 555-503-4421", nil, ""},
		{"flight 451 is late", nil, ""},
		{"scored 504 points", nil, ""},
		{"the slowdown in sales", nil, ""},
		{"Throttling my spending this month", nil, ""},
		{"in 2019-2024 we grew", nil, ""},
		{"Netflix error NW-2-5", nil, ""},
	}
	for _, tt := range tests {
		r := c.Classify(Input{Text: tt.text})
		got := codeList(r)
		if !slices.Equal(got, tt.want) && !(len(got) == 0 && len(tt.want) == 0) {
			t.Errorf("codes of %q = %v, want %v", tt.text, got, tt.want)
			continue
		}
		if len(got) > 0 {
			if r.ErrorCodes[0].Family != tt.family {
				t.Errorf("family of %q = %q, want %q", tt.text, r.ErrorCodes[0].Family, tt.family)
			}
			if r.ErrorCodes[0].Meaning == "" {
				t.Errorf("code %q of %q has no meaning", got[0], tt.text)
			}
		}
	}
}

func TestRegions(t *testing.T) {
	c := classifier(t)
	tests := []struct {
		text string
		want []record.Region
	}{
		{"Outlook down across North America", []record.Region{{Name: "North America", Kind: "continent"}}},
		{"Teams not working in Chicago", []record.Region{{Name: "Chicago", Kind: "city"}}},
		{"S3 errors in us-east-1 and eu-west-1", []record.Region{{Name: "us-east-1", Kind: "cloud-region", Code: "us-east-1"}, {Name: "eu-west-1", Kind: "cloud-region", Code: "eu-west-1"}}},
		{"Azure westeurope VMs down", []record.Region{{Name: "westeurope", Kind: "cloud-region", Code: "westeurope"}}},
		{"Telekom Störung in ganz Deutschland", []record.Region{{Name: "Germany", Kind: "country", Code: "DE"}}},
		{"ドコモ障害、東京で繋がらない", []record.Region{{Name: "Tokyo", Kind: "city"}}},
		{"No region here", nil},
		{"the river (río) is high", nil},
	}
	for _, tt := range tests {
		r := c.Classify(Input{Text: tt.text})
		if !slices.Equal(r.Regions, tt.want) {
			t.Errorf("regions of %q = %+v, want %+v", tt.text, r.Regions, tt.want)
		}
	}
}

func TestServiceHitFields(t *testing.T) {
	c := classifier(t)
	r := c.Classify(Input{Text: "OUTLOOK is down, Hotmail too"})
	if len(r.Services) != 1 {
		t.Fatalf("services = %+v, want Outlook once", r.Services)
	}
	got := r.Services[0]
	want := record.ServiceHit{ID: "outlook", Name: "Outlook", Parent: "Microsoft 365", Group: "Microsoft 365", Category: "email", Matched: "OUTLOOK"}
	if got != want {
		t.Errorf("hit = %+v, want %+v", got, want)
	}
}

// TestJSONContract pins the JSON the stdin tool and the Kafka records carry. A post
// that is no candidate (no service, code, failure cue or question) scores 0.
func TestJSONContract(t *testing.T) {
	c := classifier(t)
	empty, err := json.Marshal(c.Classify(Input{Text: "hello"}))
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"outage":false,"score":0,"intent":"none","services":[],"error_codes":[]}`; string(empty) != want {
		t.Errorf("JSON = %s, want %s", empty, want)
	}
	full, err := json.Marshal(c.Classify(Input{Text: "Teams down in Chicago, error CAA20003"}))
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"outage":true`, `"intent":"outage"`, `"services":[{"id":"teams","name":"Microsoft Teams","parent":"Microsoft 365","group":"Microsoft 365","category":"video-conferencing","matched":"Teams"}]`,
		`"error_codes":[{"code":"CAA20003","family":"caa","meaning":`, `"regions":[{"name":"Chicago","kind":"city"}]`} {
		if !strings.Contains(string(full), key) {
			t.Errorf("JSON %s lacks %s", full, key)
		}
	}
}

func TestLimits(t *testing.T) {
	c := classifier(t)
	long := strings.Repeat("Outlook down? Teams down? AWS down? 503 503 #XDown @bsky.app ", 2000)
	r := c.Classify(Input{Text: long})
	if len(r.Services) > maxServices || len(r.ErrorCodes) > maxCodes || len(r.Regions) > maxRegions {
		t.Errorf("limits exceeded: %d services, %d codes, %d regions", len(r.Services), len(r.ErrorCodes), len(r.Regions))
	}
	for _, in := range []string{"", " ", "\xff\xfe\xfd", "Outlook\xffdown", strings.Repeat("x", 10000), strings.Repeat("é", 3000) + "Outlook down",
		strings.Repeat("#", 5000), strings.Repeat("0x8", 2000), "451 4.", "CE-", "AADSTS", "caa", strings.Repeat("a ", 4000)} {
		checkInvariants(t, in, c.Classify(Input{Text: in}))
	}
}

func TestConcurrentUse(t *testing.T) {
	c := classifier(t)
	texts := []string{"Outlook down?", "Steam servers are down", "LINE落ちてる", "451 4.3.2 from Exchange"}
	want := make([]record.Result, len(texts))
	for i, s := range texts {
		want[i] = c.Classify(Input{Text: s})
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				k := (g + i) % len(texts)
				got := c.Classify(Input{Text: texts[k]})
				if got.Outage != want[k].Outage || !slices.Equal(serviceIDs(got), serviceIDs(want[k])) {
					t.Errorf("concurrent Classify(%q) = %+v, want %+v", texts[k], got, want[k])
					return
				}
			}
		})
	}
	wg.Wait()
}

// checkInvariants holds for every input.
func checkInvariants(t *testing.T, text string, r record.Result) {
	t.Helper()
	if r.Services == nil || r.ErrorCodes == nil {
		t.Fatalf("nil slices for %q", text)
	}
	if r.Score < 0 || r.Score > 1 || r.Score != r.Score {
		t.Fatalf("score %v out of range for %q", r.Score, text)
	}
	switch r.Intent {
	case record.IntentOutage, record.IntentRecovery, record.IntentNone:
	default:
		t.Fatalf("intent %q for %q", r.Intent, text)
	}
	if r.Outage != (r.Intent == record.IntentOutage) || r.Outage && len(r.Services) == 0 {
		t.Fatalf("outage %v, intent %q, %d services for %q", r.Outage, r.Intent, len(r.Services), text)
	}
	seen := map[string]bool{}
	for _, s := range r.Services {
		if seen[s.ID] || s.ID == "" || s.Name == "" || s.Matched == "" {
			t.Fatalf("bad service list %+v for %q", r.Services, text)
		}
		seen[s.ID] = true
		if !strings.Contains(text, s.Matched) || !utf8.ValidString(s.Matched) && utf8.ValidString(text) {
			t.Fatalf("matched %q is not in %q", s.Matched, text)
		}
	}
	for _, e := range r.ErrorCodes {
		if e.Code == "" || e.Family == "" {
			t.Fatalf("bad code %+v for %q", e, text)
		}
	}
	if len(r.Services) > maxServices || len(r.ErrorCodes) > maxCodes || len(r.Regions) > maxRegions {
		t.Fatalf("limits exceeded for %q", text)
	}
}
