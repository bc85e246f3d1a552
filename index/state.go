package index

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cespare/xxhash/v2"
	bolt "go.etcd.io/bbolt"

	"github.com/downsignal/downsignal/record"
)

// bbolt buckets of the state store (state.db).
var (
	bucketMeta       = []byte("meta")
	bucketPosts      = []byte("posts")      // ledger: one entry per indexed post
	bucketTombstones = []byte("tombstones") // deleted URIs
	bucketAccounts   = []byte("accounts")   // inactive accounts: did -> status
	bucketSeries     = []byte("series")     // counters: series key + minute -> bucket
	bucketCodes      = []byte("codes")      // error code -> family and meaning

	keyOffsets   = []byte("offsets")
	keyWatermark = []byte("watermark")
	keyLastBatch = []byte("last_batch")
)

// seriesKey names one counter series: posts naming a service (or one of its
// children), quoting a code, from a region. An empty field matches any
// value, so the zero key counts every post.
type seriesKey struct {
	Service, Code, Region string
}

// bucket is one series' minute.
type bucket struct {
	posts    uint32 // outage posts
	mentions uint32 // all posts
	authors  hll    // distinct authors of the outage posts
}

// postRec is what the ledger remembers of an indexed post: the partition
// (day) it lives in, so a delete, an edit or a redelivery finds it, and
// what it added to the counters, so a delete takes back exactly that.
type postRec struct {
	Day      int32    `json:"d"`
	PrevDay  int32    `json:"p,omitempty"` // day it lived in before an edit moved it
	Minute   int64    `json:"m"`
	Author   uint64   `json:"a"`
	Outage   bool     `json:"o,omitempty"`
	Services []string `json:"s,omitempty"`
	Codes    []string `json:"c,omitempty"`
	Regions  []string `json:"r,omitempty"`
}

// encode writes a ledger entry compactly (one per post: it is written
// for every post indexed, so JSON would cost).
func (r *postRec) encode() []byte {
	out := make([]byte, 0, 40)
	out = append(out, 1) // version
	out = binary.AppendVarint(out, int64(r.Day))
	out = binary.AppendVarint(out, int64(r.PrevDay))
	out = binary.AppendVarint(out, r.Minute)
	out = binary.BigEndian.AppendUint64(out, r.Author)
	if r.Outage {
		out = append(out, 1)
	} else {
		out = append(out, 0)
	}
	for _, list := range [][]string{r.Services, r.Codes, r.Regions} {
		out = binary.AppendUvarint(out, uint64(len(list)))
		for _, v := range list {
			out = binary.AppendUvarint(out, uint64(len(v)))
			out = append(out, v...)
		}
	}
	return out
}

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
	r := &postRec{Day: int32(ints[0]), PrevDay: int32(ints[1]), Minute: ints[2], Author: binary.BigEndian.Uint64(v), Outage: v[8] == 1}
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

// codeInfo describes an error code as the classifier explained it.
type codeInfo struct {
	Family  string `json:"family"`
	Meaning string `json:"meaning,omitempty"`
}

// lastBatch is the ledger's record of the latest batch: the offsets it
// covered and the day partitions it wrote. On open the index's position is
// the least offset those partitions reached (a crash may have stopped the
// batch between two partitions).
type lastBatch struct {
	Offsets map[int]int64 `json:"offsets"`
	Days    []int32       `json:"days"`
}

// state is the ledger and the counters: one bbolt file written in one
// transaction per batch with the Kafka offsets it covers, and the counters
// mirrored in memory for reads.
type state struct {
	db        *bolt.DB
	retention time.Duration

	mu        sync.RWMutex
	series    map[seriesKey]map[int64]*bucket
	hours     map[seriesKey]map[int64]*bucket // hourly roll-ups of series, in memory only
	codes     map[string]codeInfo
	offsets   map[int]int64 // partition -> next offset to apply
	watermark int64         // newest event time applied, unix seconds
	first     int64         // oldest minute with counters
	last      lastBatch
}

func openState(path string, retention time.Duration) (*state, error) {
	db, err := bolt.Open(path, 0o644, &bolt.Options{Timeout: 5 * time.Second, NoFreelistSync: true})
	if err != nil {
		return nil, fmt.Errorf("open state %s: %w", path, err)
	}
	s := &state{db: db, retention: retention}
	if err := s.load(); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

func (s *state) close() error { return s.db.Close() }

// load rebuilds the in-memory counters from the file.
func (s *state) load() error {
	series := make(map[seriesKey]map[int64]*bucket)
	codes := make(map[string]codeInfo)
	offsets := make(map[int]int64)
	var last lastBatch
	var watermark int64
	err := s.db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketMeta, bucketPosts, bucketTombstones, bucketAccounts, bucketSeries, bucketCodes} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		if b := meta.Get(keyOffsets); b != nil {
			if err := json.Unmarshal(b, &offsets); err != nil {
				return fmt.Errorf("offsets: %w", err)
			}
		}
		if b := meta.Get(keyLastBatch); b != nil {
			if err := json.Unmarshal(b, &last); err != nil {
				return fmt.Errorf("last batch: %w", err)
			}
		}
		if b := meta.Get(keyWatermark); len(b) == 8 {
			watermark = int64(binary.BigEndian.Uint64(b))
		}
		if err := tx.Bucket(bucketCodes).ForEach(func(k, v []byte) error {
			var ci codeInfo
			if err := json.Unmarshal(v, &ci); err != nil {
				return fmt.Errorf("code %q: %w", k, err)
			}
			codes[string(k)] = ci
			return nil
		}); err != nil {
			return err
		}
		return tx.Bucket(bucketSeries).ForEach(func(k, v []byte) error {
			key, minute, err := splitSeriesKey(k)
			if err != nil {
				return err
			}
			b, err := decodeBucket(v)
			if err != nil {
				return fmt.Errorf("series %q: %w", k, err)
			}
			if series[key] == nil {
				series[key] = make(map[int64]*bucket)
			}
			series[key][minute] = b
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("load state: %w", err)
	}
	if last.Offsets == nil {
		last.Offsets = cloneOffsets(offsets)
	}
	hours := make(map[seriesKey]map[int64]*bucket, len(series))
	for k, minutes := range series {
		h := make(map[int64]*bucket)
		for m, b := range minutes {
			hb := h[floorDiv(m, 60)]
			if hb == nil {
				hb = &bucket{}
				h[floorDiv(m, 60)] = hb
			}
			hb.posts += b.posts
			hb.mentions += b.mentions
			hb.authors.merge(&b.authors)
		}
		hours[k] = h
	}
	s.mu.Lock()
	s.series, s.hours, s.codes, s.offsets, s.watermark, s.last = series, hours, codes, offsets, watermark, last
	s.first = 0
	for m := range series[seriesKey{}] {
		if s.first == 0 || m < s.first {
			s.first = m
		}
	}
	s.mu.Unlock()
	return nil
}

func (s *state) position() map[int]int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return cloneOffsets(s.offsets)
}

func (s *state) lastBatch() lastBatch {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return lastBatch{Offsets: cloneOffsets(s.last.Offsets), Days: slices.Clone(s.last.Days)}
}

// op is one write the plan asks of a day partition. A nil sig deletes.
type op struct {
	partition int
	offset    int64
	day       int32
	uri       string
	sig       *record.Signal
}

// docRef is an indexed post found in a partition.
type docRef struct {
	uri string
	day int32
}

// authorDocsFunc lists an author's indexed posts (from Bleve).
type authorDocsFunc func(did string) ([]docRef, error)

// plan applies one batch to the ledger and the counters (records below the
// stored offsets are not applied again) and returns the writes every record
// of the batch, old or new, asks of the partitions, in order. Each
// partition skips the ones below its own offsets.
func (s *state) plan(changes []change, authorDocs authorDocsFunc, now time.Time) ([]op, error) {
	s.mu.Lock()
	defer s.mu.Unlock()

	// Buckets are copied on write, so readers never see a batch that did
	// not commit.
	dirty := make(map[seriesKey]map[int64]*bucket)
	dirtyHours := make(map[seriesKey]map[int64]*bucket)
	get := func(d map[seriesKey]map[int64]*bucket, from map[seriesKey]map[int64]*bucket, k seriesKey, t int64) *bucket {
		if b := d[k][t]; b != nil {
			return b
		}
		b := &bucket{}
		if old := from[k][t]; old != nil {
			b.posts, b.mentions, b.authors = old.posts, old.mentions, old.authors.clone()
		}
		if d[k] == nil {
			d[k] = make(map[int64]*bucket)
		}
		d[k][t] = b
		return b
	}
	count := func(r *postRec, sign int) {
		forEachSeries(r.Services, r.Codes, r.Regions, func(k seriesKey) {
			for _, b := range [2]*bucket{get(dirty, s.series, k, r.Minute), get(dirtyHours, s.hours, k, floorDiv(r.Minute, 60))} {
				if sign > 0 {
					b.mentions++
					if r.Outage {
						b.posts++
						b.authors.add(r.Author)
					}
					continue
				}
				// Distinct authors cannot be taken back from a sketch: they
				// stay an upper bound after a delete.
				b.mentions = decr(b.mentions)
				if r.Outage {
					b.posts = decr(b.posts)
				}
			}
		})
	}

	offsets := cloneOffsets(s.offsets)
	watermark := s.watermark
	limit := now.Add(10 * time.Minute).Unix() // a clock far ahead is not trusted
	for i := range changes {
		if t := changes[i].sig.Event.Time.Unix(); t > watermark && t <= limit {
			watermark = t
		}
	}
	cutoff := watermark - int64(s.retention/time.Second)
	newCodes := make(map[string]codeInfo)
	batchDocs := make(map[string][]docRef) // did -> posts indexed earlier in this batch
	var ops []op
	days := make(map[int32]bool)
	emit := func(ch *change, day int32, uri string, sig *record.Signal) {
		ops = append(ops, op{partition: ch.partition, offset: ch.offset, day: day, uri: uri, sig: sig})
		days[day] = true
	}

	err := s.db.Update(func(tx *bolt.Tx) error {
		posts, tombs, accounts := tx.Bucket(bucketPosts), tx.Bucket(bucketTombstones), tx.Bucket(bucketAccounts)
		getRec := func(key []byte) (*postRec, error) {
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
		removeDocs := func(ch *change, refs []docRef, live bool) error {
			for _, ref := range refs {
				emit(ch, ref.day, ref.uri, nil)
				if !live {
					continue
				}
				key := ledgerKey(ref.uri)
				rec, err := getRec(key)
				if err != nil {
					return err
				}
				if rec != nil {
					count(rec, -1)
					if err := posts.Delete(key); err != nil {
						return err
					}
				}
			}
			return nil
		}
		for i := range changes {
			ch := &changes[i]
			ev := &ch.sig.Event
			live := ch.offset >= s.offsets[ch.partition]
			if live {
				offsets[ch.partition] = max(offsets[ch.partition], ch.offset+1)
			}
			switch ev.Kind {
			case record.KindPost:
				key := ledgerKey(ev.URI)
				rec, err := getRec(key)
				if err != nil {
					return err
				}
				if !live {
					// Applied before a crash: the ledger holds the decision.
					if rec != nil {
						if rec.PrevDay != 0 && rec.PrevDay != rec.Day {
							emit(ch, rec.PrevDay, ev.URI, nil)
						}
						emit(ch, rec.Day, ev.URI, &ch.sig)
						batchDocs[ev.DID] = append(batchDocs[ev.DID], docRef{ev.URI, rec.Day})
					}
					continue
				}
				if ev.Time.Unix() < cutoff || tombs.Get([]byte(ev.URI)) != nil || accounts.Get([]byte(ev.DID)) != nil {
					continue
				}
				nr := newPostRec(&ch.sig)
				if rec != nil {
					count(rec, -1) // a redelivery or an edit replaces what it counted
					if rec.Day != nr.Day {
						nr.PrevDay = rec.Day
						emit(ch, rec.Day, ev.URI, nil)
					}
				}
				count(nr, +1)
				if ch.sig.Result != nil {
					for _, c := range ch.sig.Result.ErrorCodes {
						if _, ok := s.codes[c.Code]; !ok {
							newCodes[c.Code] = codeInfo{Family: c.Family, Meaning: c.Meaning}
						}
					}
				}
				if err := posts.Put(key, nr.encode()); err != nil {
					return err
				}
				emit(ch, nr.Day, ev.URI, &ch.sig)
				batchDocs[ev.DID] = append(batchDocs[ev.DID], docRef{ev.URI, nr.Day})

			case record.KindDelete:
				if !live {
					if day, ok := tombstoneDay(tombs.Get([]byte(ev.URI))); ok {
						emit(ch, day, ev.URI, nil)
					}
					continue
				}
				key := ledgerKey(ev.URI)
				rec, err := getRec(key)
				if err != nil {
					return err
				}
				var day int32
				if rec != nil {
					day = rec.Day
					count(rec, -1)
					if err := posts.Delete(key); err != nil {
						return err
					}
					if rec.PrevDay != 0 && rec.PrevDay != rec.Day {
						emit(ch, rec.PrevDay, ev.URI, nil)
					}
					emit(ch, rec.Day, ev.URI, nil)
				}
				if err := tombs.Put([]byte(ev.URI), tombstoneValue(now, day, "")); err != nil {
					return err
				}

			case record.KindAccount:
				inactive := ev.Active != nil && !*ev.Active
				if live {
					var err error
					if inactive {
						err = accounts.Put([]byte(ev.DID), tombstoneValue(now, 0, bounded(ev.Status, 32)))
					} else {
						err = accounts.Delete([]byte(ev.DID))
					}
					if err != nil {
						return err
					}
				}
				if !inactive {
					continue
				}
				refs, err := authorDocs(ev.DID)
				if err != nil {
					return fmt.Errorf("posts of %s: %w", ev.DID, err)
				}
				refs = append(refs, batchDocs[ev.DID]...)
				delete(batchDocs, ev.DID)
				if err := removeDocs(ch, dedupRefs(refs), live); err != nil {
					return err
				}

			case record.KindReset:
				// The account's repository was replaced: its posts that
				// the repository no longer holds were deleted unannounced.
				refs, err := authorDocs(ev.DID)
				if err != nil {
					return fmt.Errorf("posts of %s: %w", ev.DID, err)
				}
				drops := ev.ResetDrops()
				gone := slices.DeleteFunc(dedupRefs(append(refs, batchDocs[ev.DID]...)), func(r docRef) bool { return !drops(r.uri) })
				if len(gone) == 0 {
					continue
				}
				batchDocs[ev.DID] = slices.DeleteFunc(batchDocs[ev.DID], func(r docRef) bool { return drops(r.uri) })
				if err := removeDocs(ch, gone, live); err != nil {
					return err
				}
			}
		}
		series := tx.Bucket(bucketSeries)
		for k, minutes := range dirty {
			for m, b := range minutes {
				if err := series.Put(seriesKeyBytes(k, m), encodeBucket(b)); err != nil {
					return err
				}
			}
		}
		for code, ci := range newCodes {
			v, _ := json.Marshal(ci)
			if err := tx.Bucket(bucketCodes).Put([]byte(code), v); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		ob, err := json.Marshal(offsets)
		if err != nil {
			return err
		}
		if err := meta.Put(keyOffsets, ob); err != nil {
			return err
		}
		lb, err := json.Marshal(lastBatch{Offsets: batchEnd(changes, s.last.Offsets), Days: sortedDays(days)})
		if err != nil {
			return err
		}
		if err := meta.Put(keyLastBatch, lb); err != nil {
			return err
		}
		return meta.Put(keyWatermark, binary.BigEndian.AppendUint64(nil, uint64(watermark)))
	})
	if err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	for k, minutes := range dirty {
		if s.series[k] == nil {
			s.series[k] = make(map[int64]*bucket, len(minutes))
		}
		maps.Copy(s.series[k], minutes)
		if k == (seriesKey{}) {
			for m := range minutes {
				if s.first == 0 || m < s.first {
					s.first = m
				}
			}
		}
	}
	for k, hrs := range dirtyHours {
		if s.hours[k] == nil {
			s.hours[k] = make(map[int64]*bucket, len(hrs))
		}
		maps.Copy(s.hours[k], hrs)
	}
	maps.Copy(s.codes, newCodes)
	s.offsets, s.watermark = offsets, watermark
	s.last = lastBatch{Offsets: batchEnd(changes, s.last.Offsets), Days: sortedDays(days)}
	return ops, nil
}

// batchEnd raises offsets to the offset after each record of the batch.
// Never raise a day partition's offsets past the records it was given: a
// redelivered batch may be shorter than the one applied before a crash.
func batchEnd(changes []change, offsets map[int]int64) map[int]int64 {
	end := cloneOffsets(offsets)
	for _, ch := range changes {
		end[ch.partition] = max(end[ch.partition], ch.offset+1)
	}
	return end
}

func sortedDays(days map[int32]bool) []int32 {
	return slices.Sorted(maps.Keys(days))
}

func dedupRefs(refs []docRef) []docRef {
	seen := make(map[docRef]bool, len(refs))
	out := refs[:0]
	for _, r := range refs {
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return out
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

// maxDims bounds how many values of one dimension a post feeds series
// with, so one post cannot create thousands of series.
const maxDims = 6

// forEachSeries calls fn for every series a post feeds: each combination
// of one of its services (or any), one of its codes (or any) and one of
// its regions (or any).
func forEachSeries(services, codes, regions []string, fn func(seriesKey)) {
	dim := func(v []string) []string {
		return append([]string{""}, v[:min(len(v), maxDims)]...)
	}
	for _, s := range dim(services) {
		for _, c := range dim(codes) {
			for _, r := range dim(regions) {
				fn(seriesKey{s, c, r})
			}
		}
	}
}

// countedNames are the services a post feeds: each service it names and
// each of their parents, once.
func countedNames(r *record.Result) []string {
	if r == nil {
		return nil
	}
	var names []string
	for _, s := range r.Services {
		names = append(names, s.Name)
		if s.Parent != "" {
			names = append(names, s.Parent)
		}
	}
	return uniq(names)
}

func uniq(v []string) []string {
	slices.Sort(v)
	return slices.Compact(v)
}

func decr(n uint32) uint32 {
	if n == 0 {
		return 0
	}
	return n - 1
}

// dayOf is a post's partition: days since the Unix epoch, UTC.
func dayOf(t time.Time) int32 { return int32(floorDiv(t.Unix(), 86400)) }

func dayStart(day int32) time.Time { return time.Unix(int64(day)*86400, 0).UTC() }

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

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func seriesKeyBytes(k seriesKey, minute int64) []byte {
	out := make([]byte, 0, len(k.Service)+len(k.Code)+len(k.Region)+11)
	out = append(out, k.Service...)
	out = append(out, 0x1f)
	out = append(out, k.Code...)
	out = append(out, 0x1f)
	out = append(out, k.Region...)
	out = append(out, 0)
	return binary.BigEndian.AppendUint64(out, uint64(minute))
}

func splitSeriesKey(b []byte) (seriesKey, int64, error) {
	if len(b) < 11 || b[len(b)-9] != 0 {
		return seriesKey{}, 0, fmt.Errorf("bad series key %q", b)
	}
	parts := strings.Split(string(b[:len(b)-9]), "\x1f")
	if len(parts) != 3 {
		return seriesKey{}, 0, fmt.Errorf("bad series key %q", b)
	}
	return seriesKey{parts[0], parts[1], parts[2]}, int64(binary.BigEndian.Uint64(b[len(b)-8:])), nil
}

func encodeBucket(b *bucket) []byte {
	out := make([]byte, 0, 16+4*len(b.authors.sparse)+len(b.authors.dense))
	out = binary.AppendUvarint(out, uint64(b.posts))
	out = binary.AppendUvarint(out, uint64(b.mentions))
	return b.authors.appendBinary(out)
}

func decodeBucket(v []byte) (*bucket, error) {
	var vals [2]uint64
	for i := range vals {
		x, n := binary.Uvarint(v)
		if n <= 0 {
			return nil, errBadSketch
		}
		vals[i], v = x, v[n:]
	}
	h, _, err := readHLL(v)
	if err != nil {
		return nil, err
	}
	return &bucket{posts: uint32(vals[0]), mentions: uint32(vals[1]), authors: h}, nil
}

func cloneOffsets(m map[int]int64) map[int]int64 {
	if m == nil {
		return map[int]int64{}
	}
	return maps.Clone(m)
}

// deleteWhere deletes the keys of b whose entries match. Keys are
// collected first: bbolt forbids deleting while iterating.
func deleteWhere(b *bolt.Bucket, match func(k, v []byte) bool) error {
	var dead [][]byte
	if err := b.ForEach(func(k, v []byte) error {
		if match(k, v) {
			dead = append(dead, slices.Clone(k))
		}
		return nil
	}); err != nil {
		return err
	}
	for _, k := range dead {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// prune forgets counters older than keepMinute and ledger entries and
// tombstones of partitions older than keepDay.
func (s *state) prune(keepMinute int64, keepDay int32) error {
	keepSec := dayStart(keepDay).Unix()
	err := s.db.Update(func(tx *bolt.Tx) error {
		return errors.Join(
			deleteWhere(tx.Bucket(bucketSeries), func(k, _ []byte) bool {
				_, m, err := splitSeriesKey(k)
				return err == nil && m < keepMinute
			}),
			deleteWhere(tx.Bucket(bucketPosts), func(_, v []byte) bool {
				r, err := decodePostRec(v)
				return err == nil && r.Day < keepDay
			}),
			deleteWhere(tx.Bucket(bucketTombstones), func(_, v []byte) bool { return tombstoneTime(v) < keepSec }),
			// An account inactive for longer than the retention has no post
			// left to hide, and posts only come again after a reactivation.
			deleteWhere(tx.Bucket(bucketAccounts), func(_, v []byte) bool { return tombstoneTime(v) < keepSec }),
		)
	})
	if err != nil {
		return fmt.Errorf("prune state: %w", err)
	}
	s.mu.Lock()
	for k, minutes := range s.series {
		for m := range minutes {
			if m < keepMinute {
				delete(minutes, m)
			}
		}
		if len(minutes) == 0 {
			delete(s.series, k)
		}
	}
	for k, hrs := range s.hours {
		for h := range hrs {
			if h < floorDiv(keepMinute, 60) {
				delete(hrs, h)
			}
		}
		if len(hrs) == 0 {
			delete(s.hours, k)
		}
	}
	if s.first != 0 && s.first < keepMinute {
		s.first = keepMinute
	}
	s.mu.Unlock()
	return nil
}

// newest is the newest event time applied (zero before any).
func (s *state) newest() time.Time {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return time.Unix(s.watermark, 0).UTC()
}

// cutoff is the oldest event time the index keeps, by its watermark.
func (s *state) cutoff() time.Time {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.watermark == 0 {
		return time.Time{}
	}
	return time.Unix(s.watermark-int64(s.retention/time.Second), 0).UTC()
}
