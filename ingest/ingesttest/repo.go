package ingesttest

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	comatproto "github.com/bluesky-social/indigo/api/atproto"
	"github.com/bluesky-social/indigo/api/bsky"
	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/repo"
	"github.com/bluesky-social/indigo/atproto/repo/mst"
	"github.com/bluesky-social/indigo/atproto/syntax"
	lexutil "github.com/bluesky-social/indigo/lex/util"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"
	cbg "github.com/whyrusleeping/cbor-gen"
)

// Account is a Bluesky account with a real signed repository: every post
// it makes is a record in its MST, committed and signed with its key the
// way a PDS does it, so indigo's own verification accepts the commits.
type Account struct {
	DID string

	mu      sync.Mutex
	key     *atcrypto.PrivateKeyK256
	tree    mst.Tree
	clock   *syntax.TIDClock
	rev     string
	records map[string]cid.Cid
	data    map[cid.Cid][]byte // record blocks, for RepoCAR
	pds     string
}

// NewAccount creates an account with a fresh K-256 signing key.
func NewAccount(did string) (*Account, error) {
	key, err := atcrypto.GeneratePrivateKeyK256()
	if err != nil {
		return nil, err
	}
	return &Account{
		DID:     did,
		key:     key,
		tree:    mst.NewEmptyTree(),
		clock:   syntax.NewTIDClock(0),
		records: map[string]cid.Cid{},
		data:    map[cid.Cid][]byte{},
	}, nil
}

// Identity is the account's DID document as an identity directory holds
// it: enough to check its commit signatures.
func (a *Account) Identity() (identity.Identity, error) {
	pub, err := a.key.PublicKey()
	if err != nil {
		return identity.Identity{}, err
	}
	did, err := syntax.ParseDID(a.DID)
	if err != nil {
		return identity.Identity{}, err
	}
	ident := identity.Identity{
		DID:    did,
		Handle: syntax.HandleInvalid,
		Keys: map[string]identity.VerificationMethod{
			"atproto": {Type: "Multikey", PublicKeyMultibase: pub.Multibase()},
		},
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.pds != "" {
		ident.Services = map[string]identity.ServiceEndpoint{"atproto_pds": {Type: "AtprotoPersonalDataServer", URL: a.pds}}
	}
	return ident, nil
}

// Post is the content of a post record.
type Post struct {
	RKey      string
	Text      string
	Langs     []string
	CreatedAt time.Time
	// ReplyParent and ReplyRoot are at-URIs.
	ReplyParent, ReplyRoot string
	Links, Tags            []string
}

func (p *Post) record() *bsky.FeedPost {
	created := p.CreatedAt
	if created.IsZero() {
		created = time.Now()
	}
	rec := &bsky.FeedPost{
		LexiconTypeID: "app.bsky.feed.post",
		Text:          p.Text,
		Langs:         p.Langs,
		CreatedAt:     created.UTC().Format("2006-01-02T15:04:05.000Z"),
	}
	if p.ReplyParent != "" {
		rec.Reply = &bsky.FeedPost_ReplyRef{
			Parent: &comatproto.RepoStrongRef{Uri: p.ReplyParent, Cid: "bafyreib2rxk3rybk3aobmv5cjuql3bm2twh4jo5uxgf5nxy2rzvmdmmkry"},
			Root:   &comatproto.RepoStrongRef{Uri: p.ReplyRoot, Cid: "bafyreib2rxk3rybk3aobmv5cjuql3bm2twh4jo5uxgf5nxy2rzvmdmmkry"},
		}
	}
	for _, l := range p.Links {
		rec.Facets = append(rec.Facets, &bsky.RichtextFacet{
			Index:    &bsky.RichtextFacet_ByteSlice{ByteStart: 0, ByteEnd: 1},
			Features: []*bsky.RichtextFacet_Features_Elem{{RichtextFacet_Link: &bsky.RichtextFacet_Link{LexiconTypeID: "app.bsky.richtext.facet#link", Uri: l}}},
		})
	}
	for _, t := range p.Tags {
		rec.Facets = append(rec.Facets, &bsky.RichtextFacet{
			Index:    &bsky.RichtextFacet_ByteSlice{ByteStart: 0, ByteEnd: 1},
			Features: []*bsky.RichtextFacet_Features_Elem{{RichtextFacet_Tag: &bsky.RichtextFacet_Tag{LexiconTypeID: "app.bsky.richtext.facet#tag", Tag: t}}},
		})
	}
	return rec
}

// op is one record change in a commit.
type op struct {
	path   string
	record []byte // DAG-CBOR; nil for a delete
}

// commit applies ops to the repository and returns the signed #commit
// message carrying them, with seq left for the relay to set.
func (a *Account) commit(ops []op, now time.Time) (*comatproto.SyncSubscribeRepos_Commit, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	ctx := context.Background()

	prevData, err := a.tree.RootCID()
	if err != nil {
		return nil, err
	}
	bs := newBlockRecorder()
	msg := &comatproto.SyncSubscribeRepos_Commit{
		Repo:     a.DID,
		Time:     now.UTC().Format("2006-01-02T15:04:05.000Z"),
		Blobs:    []lexutil.LexLink{},
		PrevData: (*lexutil.LexLink)(prevData),
	}
	if a.rev != "" {
		since := a.rev
		msg.Since = &since
	}
	for _, o := range ops {
		rop := &comatproto.SyncSubscribeRepos_RepoOp{Path: o.path}
		var val *cid.Cid
		switch prev, exists := a.records[o.path]; {
		case o.record == nil:
			if !exists {
				return nil, fmt.Errorf("delete %s: no such record", o.path)
			}
			rop.Action = "delete"
			rop.Prev = (*lexutil.LexLink)(&prev)
			delete(a.records, o.path)
		default:
			c, err := cborCID(o.record)
			if err != nil {
				return nil, err
			}
			val = &c
			rop.Action = "create"
			if exists {
				rop.Action = "update"
				rop.Prev = (*lexutil.LexLink)(&prev)
			}
			rop.Cid = (*lexutil.LexLink)(&c)
			a.records[o.path] = c
			a.data[c] = o.record
			blk, err := blocks.NewBlockWithCid(o.record, c)
			if err != nil {
				return nil, err
			}
			bs.Put(ctx, blk)
		}
		if _, err := repo.ApplyOp(&a.tree, o.path, val); err != nil {
			return nil, fmt.Errorf("apply %s: %w", o.path, err)
		}
		msg.Ops = append(msg.Ops, rop)
	}
	root, err := a.tree.WriteDiffBlocks(ctx, bs)
	if err != nil {
		return nil, err
	}
	rev := a.clock.Next().String()
	commit, err := a.signedCommit(*root, rev)
	if err != nil {
		return nil, err
	}
	car, err := writeCAR(commit.cid, append([]carEntry{commit}, bs.entries...))
	if err != nil {
		return nil, err
	}
	a.rev = rev
	msg.Rev = rev
	msg.Commit = lexutil.LexLink(commit.cid)
	msg.Blocks = car
	return msg, nil
}

// syncMessage returns a #sync message carrying the account's current
// signed commit.
func (a *Account) syncMessage(now time.Time) (*comatproto.SyncSubscribeRepos_Sync, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	root, err := a.tree.RootCID()
	if err != nil {
		return nil, err
	}
	rev := a.clock.Next().String()
	commit, err := a.signedCommit(*root, rev)
	if err != nil {
		return nil, err
	}
	car, err := writeCAR(commit.cid, []carEntry{commit})
	if err != nil {
		return nil, err
	}
	a.rev = rev
	return &comatproto.SyncSubscribeRepos_Sync{Did: a.DID, Rev: rev, Time: now.UTC().Format("2006-01-02T15:04:05.000Z"), Blocks: car}, nil
}

// Forget removes posts from the repository with no commit, as a repository
// import or a PDS migration can; only a #sync (Relay.Sync) tells the
// network that something changed.
func (a *Account) Forget(rkeys ...string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, rkey := range rkeys {
		path := "app.bsky.feed.post/" + rkey
		if _, ok := a.records[path]; !ok {
			return fmt.Errorf("forget %s: no such record", path)
		}
		if _, err := a.tree.Remove([]byte(path)); err != nil {
			return err
		}
		delete(a.records, path)
	}
	return nil
}

// RepoCAR is the whole repository as com.atproto.sync.getRepo serves it:
// the signed commit, every MST node and every record.
func (a *Account) RepoCAR() ([]byte, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	tree, err := mst.LoadTreeFromMap(maps.Clone(a.records))
	if err != nil {
		return nil, err
	}
	bs := newBlockRecorder()
	root, err := tree.WriteDiffBlocks(context.Background(), bs)
	if err != nil {
		return nil, err
	}
	rev := a.rev
	if rev == "" {
		rev = a.clock.Next().String()
	}
	commit, err := a.signedCommit(*root, rev)
	if err != nil {
		return nil, err
	}
	entries := append([]carEntry{commit}, bs.entries...)
	for _, rc := range a.records {
		entries = append(entries, carEntry{rc, a.data[rc]})
	}
	return writeCAR(commit.cid, entries)
}

// signedCommit is the account's signed commit of an MST root, as a block.
// Callers hold a.mu.
func (a *Account) signedCommit(root cid.Cid, rev string) (carEntry, error) {
	c := repo.Commit{DID: a.DID, Version: 3, Data: root, Rev: rev}
	if err := c.Sign(a.key); err != nil {
		return carEntry{}, err
	}
	var cb bytes.Buffer
	if err := c.MarshalCBOR(&cb); err != nil {
		return carEntry{}, err
	}
	id, err := cborCID(cb.Bytes())
	if err != nil {
		return carEntry{}, err
	}
	return carEntry{id, cb.Bytes()}, nil
}

// cborCID is the CIDv1 (dag-cbor, sha2-256) of a DAG-CBOR block.
func cborCID(b []byte) (cid.Cid, error) {
	return cid.NewPrefixV1(cid.DagCBOR, multihash.SHA2_256).Sum(b)
}

type carEntry struct {
	cid  cid.Cid
	data []byte
}

// writeCAR encodes a CAR v1 file with one root.
func writeCAR(root cid.Cid, entries []carEntry) ([]byte, error) {
	var hdr bytes.Buffer
	cw := cbg.NewCborWriter(&hdr)
	// {"roots": [root], "version": 1}, keys in DAG-CBOR order.
	if err := cw.WriteMajorTypeHeader(cbg.MajMap, 2); err != nil {
		return nil, err
	}
	if err := writeString(cw, "roots"); err != nil {
		return nil, err
	}
	if err := cw.WriteMajorTypeHeader(cbg.MajArray, 1); err != nil {
		return nil, err
	}
	if err := cbg.WriteCid(cw, root); err != nil {
		return nil, err
	}
	if err := writeString(cw, "version"); err != nil {
		return nil, err
	}
	if err := cw.WriteMajorTypeHeader(cbg.MajUnsignedInt, 1); err != nil {
		return nil, err
	}
	out := binary.AppendUvarint(nil, uint64(hdr.Len()))
	out = append(out, hdr.Bytes()...)
	for _, e := range entries {
		cb := e.cid.Bytes()
		out = binary.AppendUvarint(out, uint64(len(cb)+len(e.data)))
		out = append(out, cb...)
		out = append(out, e.data...)
	}
	return out, nil
}

func writeString(cw *cbg.CborWriter, s string) error {
	if err := cw.WriteMajorTypeHeader(cbg.MajTextString, uint64(len(s))); err != nil {
		return err
	}
	_, err := cw.WriteString(s)
	return err
}

// blockRecorder is the small blockstore the MST writes its changed nodes
// to; it keeps them in write order for the commit's CAR.
type blockRecorder struct {
	entries []carEntry
	seen    map[string]bool
}

func newBlockRecorder() *blockRecorder { return &blockRecorder{seen: map[string]bool{}} }

func (r *blockRecorder) Put(_ context.Context, b blocks.Block) error {
	k := b.Cid().KeyString()
	if !r.seen[k] {
		r.seen[k] = true
		r.entries = append(r.entries, carEntry{b.Cid(), b.RawData()})
	}
	return nil
}

func (r *blockRecorder) PutMany(ctx context.Context, bs []blocks.Block) error {
	for _, b := range bs {
		r.Put(ctx, b)
	}
	return nil
}

func (r *blockRecorder) Get(_ context.Context, c cid.Cid) (blocks.Block, error) {
	for _, e := range r.entries {
		if e.cid.Equals(c) {
			return blocks.NewBlockWithCid(e.data, e.cid)
		}
	}
	return nil, errors.New("block not found")
}

func (r *blockRecorder) Has(_ context.Context, c cid.Cid) (bool, error) {
	return r.seen[c.KeyString()], nil
}

func (r *blockRecorder) GetSize(ctx context.Context, c cid.Cid) (int, error) {
	b, err := r.Get(ctx, c)
	if err != nil {
		return 0, err
	}
	return len(b.RawData()), nil
}

func (r *blockRecorder) DeleteBlock(context.Context, cid.Cid) error { return nil }

func (r *blockRecorder) AllKeysChan(context.Context) (<-chan cid.Cid, error) {
	ch := make(chan cid.Cid, len(r.entries))
	for _, e := range r.entries {
		ch <- e.cid
	}
	close(ch)
	return ch, nil
}

func (r *blockRecorder) HashOnRead(bool) {}
