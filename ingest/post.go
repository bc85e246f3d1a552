package ingest

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/downsignal/downsignal/record"
)

// Facet feature types that downsignal keeps.
const (
	FacetLink = "app.bsky.richtext.facet#link"
	FacetTag  = "app.bsky.richtext.facet#tag"
)

// PostFields are the parts of an app.bsky.feed.post record that downsignal
// keeps, whatever the wire encoding (Jetstream JSON, relay DAG-CBOR). Every
// value is untrusted until SetPost has cleaned it.
type PostFields struct {
	Text        string
	CreatedAt   string
	Langs       []string
	Tags        []string
	ReplyParent string
	ReplyRoot   string
	Links       []string
	FacetTags   []string
}

// SetPost copies a post record's fields into the event, cleaning every
// untrusted value on the way. Set ev.Time first: a createdAt that
// record.PlausibleCreatedAt refuses against it is dropped. Every protocol goes through it, so a post
// reads the same from Jetstream and from the relay.
func SetPost(ev *record.Event, p *PostFields) {
	ev.Text = CleanText(p.Text)
	ev.Langs = cleanList(p.Langs, record.MaxLangs)
	if t, err := time.Parse(time.RFC3339Nano, p.CreatedAt); err == nil && record.PlausibleCreatedAt(t, ev.Time) {
		ev.CreatedAt = t.UTC()
	}
	ev.ReplyParent = CleanField(p.ReplyParent)
	ev.ReplyRoot = CleanField(p.ReplyRoot)
	ev.Links = cleanList(p.Links, record.MaxLinks)
	ev.Tags = cleanList(append(p.FacetTags, p.Tags...), record.MaxTags)
}

// maxDIDLen is the longest DID record.Event.Validate accepts; atproto's
// syntax allows 2 KB, which would make oversized Kafka keys.
const maxDIDLen = 256

// ValidDID reports whether s is a DID by atproto's syntax (indigo's
// syntax.ParseDID) and short enough to be a Kafka key. It keeps garbage out
// of Kafka keys and at-URIs.
func ValidDID(s string) bool {
	if len(s) > maxDIDLen {
		return false
	}
	_, err := syntax.ParseDID(s)
	return err == nil
}

// ValidRecordKey reports whether s is a record key by atproto's syntax
// (indigo's syntax.ParseRecordKey). Package record checks the same rule by
// hand, to stay free of third-party imports.
func ValidRecordKey(s string) bool {
	_, err := syntax.ParseRecordKey(s)
	return err == nil
}

// CleanText makes untrusted text safe to carry: valid UTF-8, no NULs, capped.
func CleanText(s string) string {
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

// CleanField keeps a short untrusted value, or drops it when it is too long
// or not UTF-8: a truncated URI would be worse than none.
func CleanField(s string) string {
	if len(s) > record.MaxFieldLen || !utf8.ValidString(s) {
		return ""
	}
	return s
}

// cleanList caps a list of short untrusted strings and drops bad entries.
func cleanList(in []string, max int) []string {
	var out []string
	for _, s := range in {
		if s = CleanField(s); s == "" {
			continue
		}
		out = append(out, s)
		if len(out) == max {
			break
		}
	}
	return out
}
