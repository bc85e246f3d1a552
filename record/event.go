package record

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// EventVersion is the version of Event written to downsignal.posts.
// Readers reject versions they do not know rather than guess.
const EventVersion = 1

// Kind says what an Event reports.
type Kind string

const (
	// KindPost is a post created (or updated) on Bluesky.
	KindPost Kind = "post"
	// KindDelete is a post deleted by its author.
	KindDelete Kind = "delete"
	// KindAccount is an account status change: deactivation, takedown,
	// suspension, deletion or reactivation.
	KindAccount Kind = "account"
	// KindReset answers a relay #sync: the account's repository was
	// replaced (a migration, an import, a state the relay could not diff),
	// so deletes may have happened that no commit announced. Keep lists the
	// record keys of the posts the repository holds now; every other post of
	// the account with a record key at or after KeepFrom is gone.
	KindReset Kind = "reset"
)

// Limits on untrusted fields. Bluesky caps a post at 3,000 bytes of text;
// anything larger did not come from a conforming PDS and is cut, not trusted.
const (
	MaxTextBytes = 10 << 10
	MaxLangs     = 8
	MaxLinks     = 32
	MaxTags      = 32
	MaxFieldLen  = 2048
	// MaxResetKeep bounds a reset event's Keep list, so the event stays
	// well under Kafka's 1 MB message limit (post record keys are 13-byte
	// TIDs).
	MaxResetKeep = 20_000
	MaxKeepBytes = 400 << 10
)

// Event is one record of downsignal.posts (schema version 1).
type Event struct {
	V    int    `json:"v"`
	Kind Kind   `json:"kind"`
	DID  string `json:"did"`
	// URI is the post's at-URI (at://did/app.bsky.feed.post/rkey) for post
	// and delete events. It is the post's identity everywhere downstream.
	URI string `json:"uri,omitempty"`
	CID string `json:"cid,omitempty"`
	// Time is the event time: when the network saw the event (Jetstream
	// time_us, the relay's commit time), else the post's createdAt. Never
	// the time downsignal read it, so a replayed incident keeps its hour.
	Time      time.Time `json:"time"`
	CreatedAt time.Time `json:"created_at,omitzero"`

	Text        string   `json:"text,omitempty"`
	Langs       []string `json:"langs,omitempty"`
	ReplyParent string   `json:"reply_parent,omitempty"`
	ReplyRoot   string   `json:"reply_root,omitempty"`
	Links       []string `json:"links,omitempty"`
	Tags        []string `json:"tags,omitempty"`

	// Active and Status describe an account event. Status is the reason an
	// account is inactive (takendown, suspended, deleted, deactivated).
	Active *bool  `json:"active,omitempty"`
	Status string `json:"status,omitempty"`

	// Keep and KeepFrom describe a reset event. Keep holds record keys
	// (at most MaxResetKeep, the newest when the repository has more);
	// KeepFrom is empty when Keep is the whole list, else its oldest key.
	Keep     []string `json:"keep,omitempty"`
	KeepFrom string   `json:"keep_from,omitempty"`

	// Source names where the event came from: jetstream, firehose, replay.
	Source string `json:"source"`
}

// Key is the Kafka record key: the author DID, so an author's create and
// delete land on one partition, in order.
func (e *Event) Key() []byte { return []byte(e.DID) }

// Validate reports why an event must not enter the pipeline.
func (e *Event) Validate() error {
	if e.V != EventVersion {
		return fmt.Errorf("unsupported schema version %d", e.V)
	}
	if !strings.HasPrefix(e.DID, "did:") || len(e.DID) > 256 {
		return fmt.Errorf("bad did %q", Bounded(e.DID))
	}
	if e.Time.IsZero() {
		return errors.New("missing event time")
	}
	if err := checkTime(e.Time, time.Now()); err != nil {
		return err
	}
	check, ok := kindChecks[e.Kind]
	if !ok {
		return fmt.Errorf("unknown kind %q", Bounded(string(e.Kind)))
	}
	return check(e)
}

// MaxFutureSkew is how far after the wall clock an event's time may be.
// Every source stamps events with a server's clock (Jetstream's time_us,
// the relay's commit time), so an event later than this did not happen
// yet: it is refused, not indexed into a day that retention never reaches.
// Ten minutes covers clock drift between that server and this machine.
var MaxFutureSkew = 10 * time.Minute

// minTime is the earliest time an event or a createdAt may carry: Unix time
// zero. Nothing on Bluesky is older, and it keeps times where the index's
// nanosecond dates can hold them.
var minTime = time.Unix(0, 0).UTC()

// checkTime refuses an event time before 1970 or more than MaxFutureSkew
// after now. It is the one place package record reads a clock: a record
// valid when produced stays valid when a consumer decodes it later.
func checkTime(t, now time.Time) error {
	if t.Before(minTime) {
		return fmt.Errorf("event time %s is before 1970", t.UTC().Format(time.RFC3339))
	}
	if t.After(now.Add(MaxFutureSkew)) {
		return fmt.Errorf("event time %s is in the future (more than %v after %s)",
			t.UTC().Format(time.RFC3339), MaxFutureSkew, now.UTC().Format(time.RFC3339))
	}
	return nil
}

// PlausibleCreatedAt reports whether a post's createdAt, which its author's
// client chose, may be kept next to the event time: not before 1970 and not
// more than MaxFutureSkew after the event. An earlier createdAt is kept (an
// imported or back-dated post is real; Bluesky's app shows it as archived);
// a later one names a moment the network had not reached, so ingest drops it
// and keeps the post. The event time, never createdAt, places a post in a
// day, a count and an incident.
func PlausibleCreatedAt(created, eventTime time.Time) bool {
	if created.Before(minTime) {
		return false
	}
	return eventTime.IsZero() || !created.After(eventTime.Add(MaxFutureSkew))
}

// kindChecks is the list of event kinds and what each must carry. A new
// kind starts here; docs/architecture.md lists what else it needs.
var kindChecks = map[Kind]func(*Event) error{
	KindPost:    (*Event).checkPost,
	KindDelete:  (*Event).checkURI,
	KindAccount: (*Event).checkAccount,
	KindReset:   (*Event).checkReset,
}

func (e *Event) checkURI() error {
	if !strings.HasPrefix(e.URI, "at://"+e.DID+"/") {
		return fmt.Errorf("uri %q does not belong to %s", Bounded(e.URI), e.DID)
	}
	return nil
}

func (e *Event) checkPost() error {
	if err := e.checkURI(); err != nil {
		return err
	}
	if !utf8.ValidString(e.Text) {
		return errors.New("text is not valid UTF-8")
	}
	return nil
}

func (e *Event) checkAccount() error {
	if e.Active == nil {
		return errors.New("account event without active flag")
	}
	return nil
}

func (e *Event) checkReset() error {
	if len(e.Keep) > MaxResetKeep {
		return fmt.Errorf("reset keeps %d posts, more than %d", len(e.Keep), MaxResetKeep)
	}
	n := 0
	for _, k := range e.Keep {
		if !ValidRecordKey(k) {
			return fmt.Errorf("reset: bad record key %q", Bounded(k))
		}
		n += len(k)
	}
	if n > MaxKeepBytes {
		return fmt.Errorf("reset keeps %d bytes of record keys, more than %d", n, MaxKeepBytes)
	}
	if e.KeepFrom != "" && !ValidRecordKey(e.KeepFrom) {
		return fmt.Errorf("reset: bad keep_from %q", Bounded(e.KeepFrom))
	}
	return nil
}

// ResetDrops returns, for a reset event, whether a post of the account
// (by at-URI) is gone: not in Keep, and at or after KeepFrom when Keep was
// cut to the newest. The Keep set is built once, here.
func (e *Event) ResetDrops() func(uri string) bool {
	keep := make(map[string]bool, len(e.Keep))
	for _, k := range e.Keep {
		keep[k] = true
	}
	from := e.KeepFrom
	return func(uri string) bool {
		rkey := uri[strings.LastIndexByte(uri, '/')+1:]
		return !keep[rkey] && (from == "" || rkey >= from)
	}
}

// Marshal encodes the event for Kafka.
func (e *Event) Marshal() ([]byte, error) { return json.Marshal(e) }

// DecodeEvent decodes and validates one downsignal.posts record.
func DecodeEvent(b []byte) (Event, error) {
	var e Event
	if err := json.Unmarshal(b, &e); err != nil {
		return Event{}, fmt.Errorf("decode event: %w", err)
	}
	if err := e.Validate(); err != nil {
		return Event{}, fmt.Errorf("invalid event: %w", err)
	}
	return e, nil
}

// PostURI builds the at-URI of a post record.
func PostURI(did, rkey string) string {
	return "at://" + did + "/" + PostCollection + "/" + rkey
}

// PostCollection is the NSID of Bluesky posts.
const PostCollection = "app.bsky.feed.post"

// Bounded keeps an untrusted value short enough to log or put in an error.
func Bounded(s string) string {
	const n = 96
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "..."
}

// ValidRecordKey reports whether s is an atproto record key: 1 to 512
// characters of letters, digits and ".-_:~", and not "." or "..".
func ValidRecordKey(s string) bool {
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
