package jetstream

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/downsignal/downsignal/ingest"
	"github.com/downsignal/downsignal/record"
)

// kindUnknown is the events_total kind of a message that did not parse.
const kindUnknown = ingest.EventUnknown

// message is one Jetstream v1 message as it arrives on the wire.
type message struct {
	DID    string `json:"did"`
	TimeUS int64  `json:"time_us"`
	Kind   string `json:"kind"`
	Commit *struct {
		Operation  string `json:"operation"`
		Collection string `json:"collection"`
		RKey       string `json:"rkey"`
		// Record is decoded in the same pass as the message: a record of
		// another collection fills nothing (or fails with a type error,
		// which is ignored with the record).
		Record *postRecord `json:"record"`
		CID    string      `json:"cid"`
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

// Decode turns one Jetstream v1 JSON message into an Event. It returns the
// message's cursor (time_us) whenever the message parsed, also together
// with ErrIgnored for messages that carry no post.
func Decode(b []byte, source string) (record.Event, int64, error) {
	ev, cursor, _, err := DecodeKind(b, source)
	return ev, cursor, err
}

// DecodeKind is Decode that also names the message's kind for metrics:
// commit, identity, account or unknown.
func DecodeKind(b []byte, source string) (record.Event, int64, string, error) {
	var m message
	if cursor, kind, err := unmarshal(b, &m); err != nil {
		return record.Event{}, cursor, kind, err
	}
	cursor := m.TimeUS
	if cursor < 0 {
		return record.Event{}, 0, kindUnknown, fmt.Errorf("jetstream message: negative time_us %d", cursor)
	}
	kind := m.Kind
	switch kind {
	case "commit", "identity", "account":
	default:
		return record.Event{}, cursor, kindUnknown, fmt.Errorf("unknown jetstream kind %q", record.Bounded(m.Kind))
	}
	if kind == "identity" {
		return record.Event{}, cursor, kind, ErrIgnored
	}
	if !ingest.ValidDID(m.DID) {
		return record.Event{}, cursor, kind, fmt.Errorf("jetstream %s: bad did %q", kind, record.Bounded(m.DID))
	}
	ev := record.Event{V: record.EventVersion, DID: m.DID, Source: source}
	if m.TimeUS > 0 {
		ev.Time = time.UnixMicro(m.TimeUS).UTC()
	}
	switch kind {
	case "commit":
		if m.Commit == nil {
			return record.Event{}, cursor, kind, errors.New("jetstream commit without commit body")
		}
		c := m.Commit
		if c.Collection != record.PostCollection {
			return record.Event{}, cursor, kind, ErrIgnored
		}
		if !ingest.ValidRecordKey(c.RKey) {
			return record.Event{}, cursor, kind, fmt.Errorf("jetstream commit: bad record key %q", record.Bounded(c.RKey))
		}
		ev.URI = record.PostURI(m.DID, c.RKey)
		switch c.Operation {
		case "create", "update":
			ev.Kind = record.KindPost
			ev.CID = ingest.CleanField(c.CID)
			if c.Record == nil {
				return record.Event{}, cursor, kind, fmt.Errorf("post %s without record", record.Bounded(ev.URI))
			}
			applyRecord(&ev, c.Record)
		case "delete":
			ev.Kind = record.KindDelete
		default:
			return record.Event{}, cursor, kind, fmt.Errorf("unknown commit operation %q", record.Bounded(c.Operation))
		}
	case "account":
		if m.Account == nil {
			return record.Event{}, cursor, kind, errors.New("jetstream account event without account body")
		}
		active := m.Account.Active
		ev.Kind = record.KindAccount
		ev.Active = &active
		ev.Status = record.Bounded(ingest.CleanField(m.Account.Status))
	}
	if ev.Time.IsZero() {
		ev.Time = ev.CreatedAt
	}
	if err := ev.Validate(); err != nil {
		return record.Event{}, cursor, kind, err
	}
	return ev, cursor, kind, nil
}

// unmarshal parses a message into m. It returns an error (ErrIgnored for
// a record of another collection) with the cursor and kind to report when
// the message goes no further.
//
// A type error inside commit.record is a record of another collection that
// does not look like a post (ignored), or a broken post (an error).
// Anywhere else the message itself is broken: a commit body that is not an
// object still leaves m.Commit allocated, empty, and must not pass for
// another collection.
func unmarshal(b []byte, m *message) (int64, string, error) {
	err := json.Unmarshal(b, m)
	if err == nil {
		return 0, "", nil
	}
	var typeErr *json.UnmarshalTypeError
	inRecord := errors.As(err, &typeErr) && strings.HasPrefix(typeErr.Field, "commit.record")
	switch {
	case inRecord && m.Kind == "commit" && m.Commit != nil && m.Commit.Collection != record.PostCollection:
		return max(m.TimeUS, 0), m.Kind, ErrIgnored
	case inRecord && m.Kind == "commit" && m.Commit != nil && m.Commit.Record != nil:
		return max(m.TimeUS, 0), m.Kind, fmt.Errorf("post record %s: %w", record.Bounded(record.PostURI(m.DID, m.Commit.RKey)), err)
	default:
		return 0, kindUnknown, fmt.Errorf("jetstream message: %w", err)
	}
}

// applyRecord copies a Jetstream post record's fields into the event.
func applyRecord(ev *record.Event, rec *postRecord) {
	p := ingest.PostFields{Text: rec.Text, CreatedAt: rec.CreatedAt, Langs: rec.Langs, Tags: rec.Tags}
	if rec.Reply != nil {
		p.ReplyParent, p.ReplyRoot = rec.Reply.Parent.URI, rec.Reply.Root.URI
	}
	for _, f := range rec.Facets {
		for _, feat := range f.Features {
			switch feat.Type {
			case ingest.FacetLink:
				p.Links = append(p.Links, feat.URI)
			case ingest.FacetTag:
				p.FacetTags = append(p.FacetTags, feat.Tag)
			}
		}
	}
	ingest.SetPost(ev, &p)
}
