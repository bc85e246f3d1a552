package ingest

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// jetstreamEvent is one Jetstream v1 message as it arrives on the wire.
type jetstreamEvent struct {
	DID    string `json:"did"`
	TimeUS int64  `json:"time_us"`
	Kind   string `json:"kind"`
	Commit *struct {
		Operation  string          `json:"operation"`
		Collection string          `json:"collection"`
		RKey       string          `json:"rkey"`
		Record     json.RawMessage `json:"record"`
		CID        string          `json:"cid"`
	} `json:"commit"`
	Account *struct {
		Active bool   `json:"active"`
		Status string `json:"status"`
	} `json:"account"`
}

// postRecord holds the fields of app.bsky.feed.post that downsignal uses.
type postRecord struct {
	Text      string   `json:"text"`
	CreatedAt string   `json:"createdAt"`
	Langs     []string `json:"langs"`
	Tags      []string `json:"tags"`
	Reply     *struct {
		Parent struct {
			URI string `json:"uri"`
		} `json:"parent"`
		Root struct {
			URI string `json:"uri"`
		} `json:"root"`
	} `json:"reply"`
	Facets []struct {
		Features []struct {
			Type string `json:"$type"`
			URI  string `json:"uri"`
			Tag  string `json:"tag"`
		} `json:"features"`
	} `json:"facets"`
}

// ErrIgnored marks a well-formed message that carries nothing downsignal
// keeps (another collection, an identity event). Its cursor still counts.
var ErrIgnored = errors.New("ignored event")

// DecodeJetstream turns one Jetstream v1 JSON message into an Event. It
// returns the message's cursor (time_us) whenever the message parsed, also
// together with ErrIgnored for messages that carry no post.
func DecodeJetstream(b []byte, source string) (Event, int64, error) {
	var m jetstreamEvent
	if err := json.Unmarshal(b, &m); err != nil {
		return Event{}, 0, fmt.Errorf("jetstream message: %w", err)
	}
	cursor := m.TimeUS
	ev := Event{V: SchemaVersion, DID: m.DID, Source: source}
	if m.TimeUS > 0 {
		ev.Time = time.UnixMicro(m.TimeUS).UTC()
	}
	switch m.Kind {
	case "commit":
		if m.Commit == nil {
			return Event{}, cursor, errors.New("jetstream commit without commit body")
		}
		c := m.Commit
		if c.Collection != PostCollection {
			return Event{}, cursor, ErrIgnored
		}
		ev.URI = PostURI(m.DID, c.RKey)
		switch c.Operation {
		case "create", "update":
			ev.Kind = KindPost
			ev.CID = c.CID
			var rec postRecord
			if err := json.Unmarshal(c.Record, &rec); err != nil {
				return Event{}, cursor, fmt.Errorf("post record %s: %w", bounded(ev.URI), err)
			}
			ev.applyRecord(&rec)
		case "delete":
			ev.Kind = KindDelete
		default:
			return Event{}, cursor, fmt.Errorf("unknown commit operation %q", bounded(c.Operation))
		}
	case "account":
		if m.Account == nil {
			return Event{}, cursor, errors.New("jetstream account event without account body")
		}
		active := m.Account.Active
		ev.Kind = KindAccount
		ev.Active = &active
		ev.Status = cleanField(m.Account.Status)
	case "identity":
		return Event{}, cursor, ErrIgnored
	default:
		return Event{}, cursor, fmt.Errorf("unknown jetstream kind %q", bounded(m.Kind))
	}
	if ev.Time.IsZero() {
		ev.Time = ev.CreatedAt
	}
	if err := ev.Validate(); err != nil {
		return Event{}, cursor, err
	}
	return ev, cursor, nil
}

// applyRecord copies a post record's fields into the event, cleaning every
// untrusted value on the way.
func (ev *Event) applyRecord(rec *postRecord) {
	ev.Text = cleanText(rec.Text)
	ev.Langs = cleanList(rec.Langs, maxLangs)
	if t, err := time.Parse(time.RFC3339Nano, rec.CreatedAt); err == nil {
		ev.CreatedAt = t.UTC()
	}
	if rec.Reply != nil {
		ev.ReplyParent = cleanField(rec.Reply.Parent.URI)
		ev.ReplyRoot = cleanField(rec.Reply.Root.URI)
	}
	var links, tags []string
	for _, f := range rec.Facets {
		for _, feat := range f.Features {
			switch feat.Type {
			case "app.bsky.richtext.facet#link":
				links = append(links, feat.URI)
			case "app.bsky.richtext.facet#tag":
				tags = append(tags, feat.Tag)
			}
		}
	}
	ev.Links = cleanList(links, maxLinks)
	ev.Tags = cleanList(append(tags, rec.Tags...), maxTags)
}
