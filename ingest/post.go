package ingest

import (
	"time"
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
func (ev *Event) setPost(p *postFields) {
	ev.Text = cleanText(p.Text)
	ev.Langs = cleanList(p.Langs, maxLangs)
	if t, err := time.Parse(time.RFC3339Nano, p.CreatedAt); err == nil {
		ev.CreatedAt = t.UTC()
	}
	ev.ReplyParent = cleanField(p.ReplyParent)
	ev.ReplyRoot = cleanField(p.ReplyRoot)
	ev.Links = cleanList(p.Links, maxLinks)
	ev.Tags = cleanList(append(p.FacetTags, p.Tags...), maxTags)
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

// validRKey reports whether s is a record key (atproto record key syntax).
func validRKey(s string) bool {
	if len(s) == 0 || len(s) > 512 || s == "." || s == ".." {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '.', c == '-', c == '_', c == ':', c == '~':
		default:
			return false
		}
	}
	return true
}
