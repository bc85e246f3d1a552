package classify

import (
	"testing"
	"unicode/utf8"
)

// FuzzClassify feeds arbitrary bytes to the classifier: it must not panic, must keep its invariants
// and must stay fast.
//
//	go test ./classify -run '^$' -fuzz FuzzClassify -fuzztime 5m
func FuzzClassify(f *testing.F) {
	for _, s := range []string{
		"Outlook down?", "451 4.3.2 temporary server issue", "Outlookが落ちてる", "#OutlookDown", "@bsky.app down",
		"AADSTS50058", "0xCAA20003", "0x87E10BC6", "CE-108255-1", "HTTP 503", "error 522 Cloudflare", "us-east-1",
		"X isn't down, it's your wifi", "Slack is back up", "ＧＭＡＩＬ落ちてる？", "Telekomstörung", "au回線",
		"\xff\xfe", "Outlook\xe3\x81", "#", "@", "0x", "caa", "aadsts", "5.", "451 4.", "2002-", "ThrottlingException",
	} {
		f.Add(s, "en")
	}
	c, err := New()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text, lang string) {
		r := c.Classify(Input{Text: text, Langs: []string{lang}})
		checkInvariants(t, text, r)
		if utf8.ValidString(text) {
			for _, s := range r.Services {
				if !utf8.ValidString(s.Matched) {
					t.Fatalf("matched %q is not valid UTF-8", s.Matched)
				}
			}
		}
	})
}
