package index

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cespare/xxhash/v2"
	bolt "go.etcd.io/bbolt"

	"github.com/downsignal/downsignal/record"
)

// The ledger is the single source of the index's decisions (doc.go): the
// posts bucket records, per indexed post, the day partition it lives in and
// what it added to the counters; the tombstones bucket the deleted URIs
// with their day; the accounts bucket the inactive accounts.

// postRec is what the ledger remembers of an indexed post: the partition
// (day) it lives in, so a delete, an edit or a redelivery finds it, and
// what it added to the counters, so a delete takes back exactly that.
type postRec struct {
	Day int32 `json:"d"`
	// PrevDay is the day partition the post's previous version was
	// indexed in, when this version's write removed it from there: an
	// edit a day later moved it, or made it a post the index does not
	// keep in Bleve.
	PrevDay int32  `json:"p,omitempty"`
	Minute  int64  `json:"m"`
	Author  uint64 `json:"a"`
	Outage  bool   `json:"o,omitempty"`
	// Unindexed is a post counted but not kept in Bleve (Options.Posts):
	// Day is still its day, for retention and for the counters.
	Unindexed bool     `json:"u,omitempty"`
	Services  []string `json:"s,omitempty"`
	Codes     []string `json:"c,omitempty"`
	Regions   []string `json:"r,omitempty"`
}

// moved reports the day partition an edit took the post out of, if it
// did.
func (r *postRec) moved() (int32, bool) {
	return r.PrevDay, r.PrevDay != 0 && (r.PrevDay != r.Day || r.Unindexed)
}

// indexed says whether the post is in Bleve, in partition Day.
func (r *postRec) indexed() bool { return !r.Unindexed }

// encode writes a ledger entry compactly (one per post: it is written
// for every post indexed, so JSON would cost).
func (r *postRec) encode() []byte {
	out := make([]byte, 0, 40)
	out = append(out, 1) // version
	out = binary.AppendVarint(out, int64(r.Day))
	out = binary.AppendVarint(out, int64(r.PrevDay))
	out = binary.AppendVarint(out, r.Minute)
	out = binary.BigEndian.AppendUint64(out, r.Author)
	var flags byte // entries written before Unindexed existed have bit 2 clear
	if r.Outage {
		flags |= flagOutage
	}
	if r.Unindexed {
		flags |= flagUnindexed
	}
	out = append(out, flags)
	for _, list := range [][]string{r.Services, r.Codes, r.Regions} {
		out = binary.AppendUvarint(out, uint64(len(list)))
		for _, v := range list {
			out = binary.AppendUvarint(out, uint64(len(v)))
			out = append(out, v...)
		}
	}
	return out
}

// Bits of a ledger entry's flags byte.
const (
	flagOutage    = 1
	flagUnindexed = 2
)

var errBadLedger = errors.New("bad ledger entry")

func decodePostRec(v []byte) (*postRec, error) {
	if len(v) == 0 || v[0] != 1 {
		return nil, errBadLedger
	}
	v = v[1:]
	var ints [3]int64
	for i := range ints {
		x, n := binary.Varint(v)
		if n <= 0 {
			return nil, errBadLedger
		}
		ints[i], v = x, v[n:]
	}
	if len(v) < 9 {
		return nil, errBadLedger
	}
	r := &postRec{Day: int32(ints[0]), PrevDay: int32(ints[1]), Minute: ints[2], Author: binary.BigEndian.Uint64(v),
		Outage: v[8]&flagOutage != 0, Unindexed: v[8]&flagUnindexed != 0}
	v = v[9:]
	for _, dst := range []*[]string{&r.Services, &r.Codes, &r.Regions} {
		n, k := binary.Uvarint(v)
		if k <= 0 || n > uint64(len(v)) {
			return nil, errBadLedger
		}
		v = v[k:]
		for range n {
			l, k := binary.Uvarint(v)
			if k <= 0 || l > uint64(len(v)-k) {
				return nil, errBadLedger
			}
			*dst = append(*dst, string(v[k:k+int(l)]))
			v = v[k+int(l):]
		}
	}
	return r, nil
}

// getPostRec reads a post's ledger entry (nil when it has none).
func getPostRec(posts *bolt.Bucket, key []byte) (*postRec, error) {
	v := posts.Get(key)
	if v == nil {
		return nil, nil
	}
	r, err := decodePostRec(v)
	if err != nil {
		return nil, fmt.Errorf("ledger %q: %w", key, err)
	}
	return r, nil
}

func newPostRec(sig *record.Signal) *postRec {
	ev := &sig.Event
	r := &postRec{
		Day:    dayOf(ev.Time),
		Minute: ev.Time.Unix() / 60,
		Author: xxhash.Sum64String(ev.DID),
	}
	if res := sig.Result; res != nil {
		r.Outage = res.Outage
		r.Services = countedNames(res)
		for _, c := range res.ErrorCodes {
			r.Codes = append(r.Codes, c.Code)
		}
		for _, g := range res.Regions {
			r.Regions = append(r.Regions, g.Name)
		}
		r.Codes, r.Regions = uniq(r.Codes), uniq(r.Regions)
	}
	return r
}

// ledgerKey orders the ledger by record key (a TID, time-ordered) so that
// new posts append to the B+tree instead of scattering writes across it.
func ledgerKey(uri string) []byte {
	rkey := uri
	if i := strings.LastIndexByte(uri, '/'); i >= 0 {
		rkey = uri[i+1:]
	}
	k := make([]byte, 0, len(rkey)+1+len(uri))
	k = append(k, rkey...)
	k = append(k, 0)
	return append(k, uri...)
}

// tombstoneValue records when a post was deleted (or an account went
// inactive), the day the post lived in and a note (the account's status).
func tombstoneValue(now time.Time, day int32, note string) []byte {
	v := binary.AppendVarint(nil, now.Unix())
	v = binary.AppendVarint(v, int64(day))
	return append(v, note...)
}

// tombstoneDay is the partition a deleted post lived in, if it was indexed.
func tombstoneDay(v []byte) (int32, bool) {
	if v == nil {
		return 0, false
	}
	_, n := binary.Varint(v)
	if n <= 0 {
		return 0, false
	}
	day, m := binary.Varint(v[n:])
	if m <= 0 || day == 0 {
		return 0, false
	}
	return int32(day), true
}

func tombstoneTime(v []byte) int64 {
	t, _ := binary.Varint(v)
	return t
}

func bounded(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// dayOf is a post's partition: days since the Unix epoch, UTC.
func dayOf(t time.Time) int32 { return int32(floorDiv(t.Unix(), 86400)) }

func dayStart(day int32) time.Time { return time.Unix(int64(day)*86400, 0).UTC() }
