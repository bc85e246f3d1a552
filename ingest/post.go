package ingest

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/downsignal/downsignal/record"
)

// Facet feature types that downsignal keeps.
const (
	facetLink = "app.bsky.richtext.facet#link"
	facetTag  = "app.bsky.richtext.facet#tag"
)

// postFields are the parts of an app.bsky.feed.post record that downsignal
// keeps, whatever the wire encoding (Jetstream JSON, relay DAG-CBOR).
type postFields struct {
	Text        string
	CreatedAt   string
	Langs       []string
	Tags        []string
	ReplyParent string
	ReplyRoot   string
	Links       []string
	FacetTags   []string
}

// setPost copies a post record's fields into the event, cleaning every
// untrusted value on the way. Both sources go through it, so a post reads
// the same from Jetstream and from the relay.
func setPost(ev *record.Event, p *postFields) {
	ev.Text = cleanText(p.Text)
	ev.Langs = cleanList(p.Langs, record.MaxLangs)
	if t, err := time.Parse(time.RFC3339Nano, p.CreatedAt); err == nil {
		ev.CreatedAt = t.UTC()
	}
	ev.ReplyParent = cleanField(p.ReplyParent)
	ev.ReplyRoot = cleanField(p.ReplyRoot)
	ev.Links = cleanList(p.Links, record.MaxLinks)
	ev.Tags = cleanList(append(p.FacetTags, p.Tags...), record.MaxTags)
}

// validDID reports whether s looks like a DID: "did:", a lower-case method
// and an identifier of the characters the DID syntax allows. It keeps
// garbage out of Kafka keys and at-URIs.
func validDID(s string) bool {
	if len(s) < 7 || len(s) > 256 || s[:4] != "did:" {
		return false
	}
	method := true
	for i := 4; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ':':
			if method && i == 4 {
				return false
			}
			method = false
		case method:
			if c < 'a' || c > 'z' {
				return false
			}
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '%', c == '-':
		default:
			return false
		}
	}
	return !method && s[len(s)-1] != ':'
}

// cleanText makes untrusted text safe to carry: valid UTF-8, no NULs, capped.
func cleanText(s string) string {
	if len(s) > record.MaxTextBytes {
		s = s[:record.MaxTextBytes]
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "")
	}
	return s
}

// cleanField keeps a short untrusted value, or drops it when it is too long
// or not UTF-8: a truncated URI would be worse than none.
func cleanField(s string) string {
	if len(s) > record.MaxFieldLen || !utf8.ValidString(s) {
		return ""
	}
	return s
}

// cleanList caps a list of short untrusted strings and drops bad entries.
func cleanList(in []string, max int) []string {
	var out []string
	for _, s := range in {
		if s = cleanField(s); s == "" {
			continue
		}
		out = append(out, s)
		if len(out) == max {
			break
		}
	}
	return out
}
