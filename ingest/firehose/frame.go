package firehose

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	comatproto "github.com/bluesky-social/indigo/api/atproto"
	"github.com/bluesky-social/indigo/api/bsky"
	"github.com/ipfs/go-cid"
	cbg "github.com/whyrusleeping/cbor-gen"

	"github.com/downsignal/downsignal/ingest"
	"github.com/downsignal/downsignal/record"
)

// Frame types of com.atproto.sync.subscribeRepos, as counted in metrics.
const (
	FrameCommit   = "commit"
	FrameIdentity = "identity"
	FrameAccount  = "account"
	FrameSync     = "sync"
	FrameInfo     = "info"
	FrameError    = "error"
	FrameUnknown  = ingest.EventUnknown
)

// Names the relay uses in #info and error frames.
const (
	relayOutdatedCursor  = "OutdatedCursor"
	relayFutureCursor    = "FutureCursor"
	relayConsumerTooSlow = "ConsumerTooSlow"
)

// Frame is one decoded relay frame: what downsignal keeps of it.
type Frame struct {
	// Type is one of the Frame* constants.
	Type string
	// Seq is the frame's stream position, 0 for frames without one
	// (#info, errors, unknown types).
	Seq int64
	// Events are the post creates, updates and deletes of a #commit and the
	// status change of an #account, in the order of the commit's ops.
	Events []record.Event
	// Name and Message are an #info or error frame's name and text (or an
	// unknown frame's type), cleaned and bounded for logs.
	Name, Message string
	// OpErrors are the ops of a #commit that could not be decoded. The other
	// ops of the commit still count.
	OpErrors []error
	// Commit is the decoded #commit message, kept for verification.
	Commit *comatproto.SyncSubscribeRepos_Commit
	// Sync is the decoded #sync message: the account whose repository a
	// consumer should fetch again.
	Sync *comatproto.SyncSubscribeRepos_Sync
}

// Limits on a relay frame. Sync 1.1 caps a commit at 200 ops and 2 MB of
// blocks; a frame larger than MaxFrameBytes is skipped unread.
const (
	MaxFrameBytes = 5 << 20
	maxCommitOps  = 1000
)

// FrameDecoder decodes relay frames. The zero value is ready; a decoder
// reuses its buffers, so one goroutine owns it.
type FrameDecoder struct {
	r      bytes.Reader
	cr     cbg.CborReader
	blocks []carBlock
}

// DecodeFrame decodes one relay WebSocket message.
func DecodeFrame(b []byte, source string) (Frame, error) {
	var d FrameDecoder
	return d.Decode(b, source)
}

// Decode decodes one relay WebSocket message: a DAG-CBOR header followed by
// a DAG-CBOR body. An error means the frame as a whole is unusable; a commit
// with some bad ops decodes, with those ops in Frame.OpErrors.
func (d *FrameDecoder) Decode(b []byte, source string) (f Frame, err error) {
	if len(b) > MaxFrameBytes {
		return Frame{Type: FrameUnknown}, fmt.Errorf("frame of %d bytes exceeds %d", len(b), MaxFrameBytes)
	}
	d.r.Reset(b)
	d.cr.SetReader(&d.r)
	op, typ, err := readFrameHeader(&d.cr)
	if err != nil {
		return Frame{Type: FrameUnknown}, fmt.Errorf("frame header: %w", err)
	}
	switch op {
	case 1:
		err = d.body(&f, typ, source)
	case -1:
		err = d.errorFrame(&f)
	default:
		return Frame{Type: FrameUnknown}, fmt.Errorf("unknown frame op %d", op)
	}
	return f, err
}

// errorFrame reads the body of an error frame (op -1).
func (d *FrameDecoder) errorFrame(f *Frame) error {
	f.Type = FrameError
	name, msg, err := readErrorBody(&d.cr)
	if err != nil {
		return fmt.Errorf("error frame: %w", err)
	}
	f.Name, f.Message = record.Bounded(ingest.CleanText(name)), record.Bounded(ingest.CleanText(msg))
	return nil
}

// body reads the body of a message frame (op 1) of type typ. f.Type is
// set even when the body fails to decode, so the frame is counted by type.
func (d *FrameDecoder) body(f *Frame, typ, source string) error {
	switch typ {
	case "#commit":
		f.Type = FrameCommit
		return d.commitFrame(f, source)
	case "#account":
		f.Type = FrameAccount
		return d.accountFrame(f, source)
	case "#identity":
		f.Type = FrameIdentity
		var e comatproto.SyncSubscribeRepos_Identity
		if err := e.UnmarshalCBOR(&d.r); err != nil {
			return fmt.Errorf("identity body: %w", err)
		}
		f.Seq = e.Seq
		return nil
	case "#sync":
		f.Type = FrameSync
		return d.syncFrame(f)
	case "#info":
		f.Type = FrameInfo
		return d.infoFrame(f)
	default:
		// Newer protocol versions may add message types; skipping them is
		// what the protocol asks of a consumer.
		f.Type = FrameUnknown
		f.Name = record.Bounded(ingest.CleanText(typ))
		return nil
	}
}

// commitFrame reads a #commit body and turns its post ops into events.
func (d *FrameDecoder) commitFrame(f *Frame, source string) error {
	var c comatproto.SyncSubscribeRepos_Commit
	if err := c.UnmarshalCBOR(&d.r); err != nil {
		return fmt.Errorf("commit body: %w", err)
	}
	f.Seq = c.Seq
	f.Commit = &c
	return d.commit(f, &c, source)
}

// accountFrame reads an #account body into an account event.
func (d *FrameDecoder) accountFrame(f *Frame, source string) error {
	var a comatproto.SyncSubscribeRepos_Account
	if err := a.UnmarshalCBOR(&d.r); err != nil {
		return fmt.Errorf("account body: %w", err)
	}
	f.Seq = a.Seq
	if !ingest.ValidDID(a.Did) {
		return fmt.Errorf("account: bad did %q", record.Bounded(a.Did))
	}
	active := a.Active
	ev := record.Event{V: record.EventVersion, Kind: record.KindAccount, DID: a.Did, Time: relayTime(a.Time, time.Time{}), Active: &active, Source: source}
	if a.Status != nil {
		ev.Status = record.Bounded(ingest.CleanField(*a.Status))
	}
	f.Events = append(f.Events, ev)
	return nil
}

// syncFrame reads a #sync body: the account whose repository to fetch again.
func (d *FrameDecoder) syncFrame(f *Frame) error {
	var e comatproto.SyncSubscribeRepos_Sync
	if err := e.UnmarshalCBOR(&d.r); err != nil {
		return fmt.Errorf("sync body: %w", err)
	}
	f.Seq = e.Seq
	if !ingest.ValidDID(e.Did) {
		return fmt.Errorf("sync: bad did %q", record.Bounded(e.Did))
	}
	f.Sync = &e
	return nil
}

// infoFrame reads an #info body, which has no seq.
func (d *FrameDecoder) infoFrame(f *Frame) error {
	var e comatproto.SyncSubscribeRepos_Info
	if err := e.UnmarshalCBOR(&d.r); err != nil {
		return fmt.Errorf("info body: %w", err)
	}
	f.Name = record.Bounded(ingest.CleanText(e.Name))
	if e.Message != nil {
		f.Message = record.Bounded(ingest.CleanText(*e.Message))
	}
	return nil
}

// commit turns a #commit's post ops into events.
func (d *FrameDecoder) commit(f *Frame, c *comatproto.SyncSubscribeRepos_Commit, source string) error {
	if !ingest.ValidDID(c.Repo) {
		return fmt.Errorf("commit: bad repo did %q", record.Bounded(c.Repo))
	}
	if len(c.Ops) > maxCommitOps {
		return fmt.Errorf("commit with %d ops", len(c.Ops))
	}
	evTime := relayTime(c.Time, time.Time{})
	var carErr error
	d.blocks = d.blocks[:0]
	blocksRead := false
	for _, op := range c.Ops {
		if op == nil {
			continue
		}
		rkey, ok := strings.CutPrefix(op.Path, record.PostCollection+"/")
		if !ok {
			continue
		}
		if !ingest.ValidRecordKey(rkey) {
			f.OpErrors = append(f.OpErrors, fmt.Errorf("op %s: bad record key", record.Bounded(op.Path)))
			continue
		}
		ev := record.Event{V: record.EventVersion, DID: c.Repo, URI: record.PostURI(c.Repo, rkey), Time: evTime, Source: source}
		switch op.Action {
		case "delete":
			ev.Kind = record.KindDelete
			if ev.Time.IsZero() {
				ev.Time = time.Now().UTC()
			}
		case "create", "update":
			if op.Cid == nil {
				f.OpErrors = append(f.OpErrors, fmt.Errorf("op %s %s: no record cid", op.Action, record.Bounded(ev.URI)))
				continue
			}
			if !blocksRead {
				blocksRead = true
				d.blocks, carErr = readCAR(c.Blocks, d.blocks)
			}
			key := (*cid.Cid)(op.Cid).KeyString()
			data, ok := findBlock(d.blocks, key)
			if !ok {
				err := errors.New("record block not in commit")
				if carErr != nil {
					err = carErr
				}
				f.OpErrors = append(f.OpErrors, fmt.Errorf("op %s %s: %w", op.Action, record.Bounded(ev.URI), err))
				continue
			}
			var rec bsky.FeedPost
			if err := rec.UnmarshalCBOR(bytes.NewReader(data)); err != nil {
				f.OpErrors = append(f.OpErrors, fmt.Errorf("op %s %s: post record: %w", op.Action, record.Bounded(ev.URI), err))
				continue
			}
			ev.Kind = record.KindPost
			ev.CID = (*cid.Cid)(op.Cid).String()
			ingest.SetPost(&ev, feedPostFields(&rec))
			if ev.Time.IsZero() {
				ev.Time = ev.CreatedAt
			}
			if ev.Time.IsZero() {
				ev.Time = time.Now().UTC()
			}
		default:
			f.OpErrors = append(f.OpErrors, fmt.Errorf("op %s: unknown action %q", record.Bounded(ev.URI), record.Bounded(op.Action)))
			continue
		}
		if err := ev.Validate(); err != nil {
			f.OpErrors = append(f.OpErrors, fmt.Errorf("op %s: %w", record.Bounded(ev.URI), err))
			continue
		}
		f.Events = append(f.Events, ev)
	}
	return nil
}

// feedPostFields picks the fields downsignal keeps from a decoded record.
func feedPostFields(rec *bsky.FeedPost) *ingest.PostFields {
	p := &ingest.PostFields{Text: rec.Text, CreatedAt: rec.CreatedAt, Langs: rec.Langs, Tags: rec.Tags}
	if rec.Reply != nil {
		if rec.Reply.Parent != nil {
			p.ReplyParent = rec.Reply.Parent.Uri
		}
		if rec.Reply.Root != nil {
			p.ReplyRoot = rec.Reply.Root.Uri
		}
	}
	for _, f := range rec.Facets {
		if f == nil {
			continue
		}
		for _, feat := range f.Features {
			switch {
			case feat == nil:
			case feat.RichtextFacet_Link != nil:
				p.Links = append(p.Links, feat.RichtextFacet_Link.Uri)
			case feat.RichtextFacet_Tag != nil:
				p.FacetTags = append(p.FacetTags, feat.RichtextFacet_Tag.Tag)
			}
		}
	}
	return p
}

// relayTime parses a relay timestamp, falling back to def.
func relayTime(s string, def time.Time) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return def
	}
	return t.UTC()
}

// readFrameHeader reads the {op, t} header that precedes every body.
func readFrameHeader(cr *cbg.CborReader) (op int64, typ string, err error) {
	maj, n, err := cr.ReadHeader()
	if err != nil {
		return 0, "", err
	}
	if maj != cbg.MajMap || n > 8 {
		return 0, "", errors.New("header is not a small map")
	}
	var haveOp bool
	for range n {
		key, err := cbg.ReadStringWithMax(cr, 64)
		if err != nil {
			return 0, "", err
		}
		switch key {
		case "op":
			maj, v, err := cr.ReadHeader()
			if err != nil {
				return 0, "", err
			}
			switch {
			case maj == cbg.MajUnsignedInt && v < 1<<32:
				op = int64(v)
			case maj == cbg.MajNegativeInt && v < 1<<32:
				op = -1 - int64(v)
			default:
				return 0, "", errors.New("header op is not a small integer")
			}
			haveOp = true
		case "t":
			if typ, err = cbg.ReadStringWithMax(cr, 256); err != nil {
				return 0, "", err
			}
		default:
			if err := cbg.ScanForLinks(cr, func(cid.Cid) {}); err != nil {
				return 0, "", err
			}
		}
	}
	if !haveOp {
		return 0, "", errors.New("header without op")
	}
	return op, typ, nil
}

// readErrorBody reads an error frame's {error, message} body.
func readErrorBody(cr *cbg.CborReader) (name, msg string, err error) {
	maj, n, err := cr.ReadHeader()
	if err != nil {
		return "", "", err
	}
	if maj != cbg.MajMap || n > 8 {
		return "", "", errors.New("error body is not a small map")
	}
	for range n {
		key, err := cbg.ReadStringWithMax(cr, 64)
		if err != nil {
			return "", "", err
		}
		switch key {
		case "error":
			name, err = cbg.ReadStringWithMax(cr, 1024)
		case "message":
			msg, err = cbg.ReadStringWithMax(cr, 8192)
		default:
			err = cbg.ScanForLinks(cr, func(cid.Cid) {})
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return "", "", err
		}
	}
	if name == "" {
		return "", "", errors.New("error frame without error name")
	}
	return name, msg, nil
}
