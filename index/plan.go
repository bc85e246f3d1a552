package index

import (
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/downsignal/downsignal/internal/boltkv"
	"github.com/downsignal/downsignal/record"
)

// delivery is one downsignal.signals record handed to the index.
type delivery = record.Delivery[record.Signal]

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

// planKinds is what each kind of record does to the ledger, the counters
// and the partitions, listed once. A record that is not live (below the
// stored offsets: applied before a crash) changes neither ledger nor
// counters; it only asks again for the writes the ledger recorded for it,
// which the partitions that already have them skip. A kind not listed
// changes nothing but offsets.
var planKinds = map[record.Kind]func(p *batchPlan, d *delivery, live bool) error{
	record.KindPost:    (*batchPlan).post,
	record.KindDelete:  (*batchPlan).delete,
	record.KindAccount: (*batchPlan).account,
	record.KindReset:   (*batchPlan).reset,
}

// batchPlan is one batch being applied to the ledger and the counters, in
// one bbolt transaction, and the writes it asks of the day partitions.
type batchPlan struct {
	s                      *state
	batch                  []delivery
	posts, tombs, accounts *bolt.Bucket // of the batch's transaction
	authorDocs             authorDocsFunc
	keep                   func(*record.Signal) bool // posts kept in Bleve; the rest are only counted
	now                    time.Time

	counters  *seriesDelta
	offsets   map[int]int64 // next offset per topic partition, raised by live records
	watermark int64         // newest event time of the batch and before, unix seconds
	cutoff    int64         // posts older than this (unix seconds) are not indexed
	newCodes  map[string]codeInfo
	batchDocs map[string][]docRef // did -> posts indexed earlier in this batch
	ops       []op
	days      map[int32]bool // partitions the ops touch
	last      lastBatch
}

// plan applies one batch to the ledger and the counters (records below the
// stored offsets are not applied again) and returns the writes every record
// of the batch, old or new, asks of the partitions, in order. Each
// partition skips the ones below its own offsets. Posts keep refuses are
// counted and recorded in the ledger but not written to a partition.
func (s *state) plan(batch []delivery, authorDocs authorDocsFunc, keep func(*record.Signal) bool, now time.Time) ([]op, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.newPlan(batch, authorDocs, now)
	p.keep = keep
	err := s.db.Update(func(tx *bolt.Tx) error {
		p.posts, p.tombs, p.accounts = tx.Bucket(bucketPosts), tx.Bucket(bucketTombstones), tx.Bucket(bucketAccounts)
		for i := range batch {
			if err := p.apply(&batch[i]); err != nil {
				return err
			}
		}
		return p.save(tx)
	})
	if err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	p.counters.publish()
	s.first = oldestMinute(s.first, p.counters.minutes[seriesKey{}])
	maps.Copy(s.codes, p.newCodes)
	s.offsets, s.watermark, s.last = p.offsets, p.watermark, p.last
	return p.ops, nil
}

func (s *state) newPlan(batch []delivery, authorDocs authorDocsFunc, now time.Time) *batchPlan {
	watermark := s.watermark
	limit := now.Add(10 * time.Minute).Unix() // a clock far ahead is not trusted
	for i := range batch {
		if batch[i].Invalid {
			continue
		}
		if t := batch[i].Value.Event.Time.Unix(); t > watermark && t <= limit {
			watermark = t
		}
	}
	return &batchPlan{
		s: s, batch: batch, authorDocs: authorDocs, now: now,
		counters:  newSeriesDelta(s.series, s.hours),
		offsets:   cloneOffsets(s.offsets),
		watermark: watermark,
		cutoff:    watermark - int64(s.retention/time.Second),
		newCodes:  make(map[string]codeInfo),
		batchDocs: make(map[string][]docRef),
		days:      make(map[int32]bool),
	}
}

// apply plans one record. An invalid one (it did not decode) only moves
// its partition's offset.
func (p *batchPlan) apply(d *delivery) error {
	live := d.Offset >= p.s.offsets[d.Partition]
	if live {
		p.offsets[d.Partition] = max(p.offsets[d.Partition], d.Offset+1)
	}
	if d.Invalid {
		return nil
	}
	kind, ok := planKinds[d.Value.Event.Kind]
	if !ok {
		return nil
	}
	return kind(p, d, live)
}

// emit asks the day partition for a write on behalf of record d.
func (p *batchPlan) emit(d *delivery, day int32, uri string, sig *record.Signal) {
	p.ops = append(p.ops, op{partition: d.Partition, offset: d.Offset, day: day, uri: uri, sig: sig})
	p.days[day] = true
}

// post indexes a post, or replaces it (an edit, or a duplicate at a new
// offset) in the day the ledger says it lives in. A post keep refuses is
// counted and recorded but not indexed; an edit that makes an indexed
// post one of those takes it out of its partition.
func (p *batchPlan) post(d *delivery, live bool) error {
	ev := &d.Value.Event
	key := ledgerKey(ev.URI)
	rec, err := getPostRec(p.posts, key)
	if err != nil {
		return err
	}
	if !live {
		// Applied before a crash: the ledger holds the decision.
		if rec != nil {
			p.replay(d, rec)
		}
		return nil
	}
	if ev.Time.Unix() < p.cutoff || p.tombs.Get([]byte(ev.URI)) != nil || p.accounts.Get([]byte(ev.DID)) != nil {
		return nil
	}
	nr := newPostRec(&d.Value)
	nr.Unindexed = !p.keep(&d.Value)
	if rec != nil {
		p.counters.uncount(rec) // a redelivery or an edit replaces what it counted
		if rec.indexed() && (rec.Day != nr.Day || nr.Unindexed) {
			nr.PrevDay = rec.Day
			p.emit(d, rec.Day, ev.URI, nil)
		}
	}
	p.counters.count(nr)
	if res := d.Value.Result; res != nil {
		for _, c := range res.ErrorCodes {
			if _, ok := p.s.codes[c.Code]; !ok {
				p.newCodes[c.Code] = codeInfo{Family: c.Family, Meaning: c.Meaning}
			}
		}
	}
	if err := p.posts.Put(key, nr.encode()); err != nil {
		return err
	}
	if nr.indexed() {
		p.emit(d, nr.Day, ev.URI, &d.Value)
		p.batchDocs[ev.DID] = append(p.batchDocs[ev.DID], docRef{ev.URI, nr.Day})
	}
	return nil
}

// replay asks again for the writes the ledger recorded for a post applied
// before a crash.
func (p *batchPlan) replay(d *delivery, rec *postRec) {
	ev := &d.Value.Event
	if prev, ok := rec.moved(); ok {
		p.emit(d, prev, ev.URI, nil)
	}
	if rec.indexed() {
		p.emit(d, rec.Day, ev.URI, &d.Value)
		p.batchDocs[ev.DID] = append(p.batchDocs[ev.DID], docRef{ev.URI, rec.Day})
	}
}

// delete removes a post and tombstones its URI with the day it lived in,
// so it is never indexed or counted again.
func (p *batchPlan) delete(d *delivery, live bool) error {
	ev := &d.Value.Event
	if !live {
		if day, ok := tombstoneDay(p.tombs.Get([]byte(ev.URI))); ok {
			p.emit(d, day, ev.URI, nil)
		}
		return nil
	}
	rec, err := p.forget(ev.URI)
	if err != nil {
		return err
	}
	var day int32 // 0: nothing to delete in a partition on redelivery
	if rec != nil {
		if prev, ok := rec.moved(); ok {
			p.emit(d, prev, ev.URI, nil)
		}
		if rec.indexed() {
			day = rec.Day
			p.emit(d, rec.Day, ev.URI, nil)
		}
	}
	return p.tombs.Put([]byte(ev.URI), tombstoneValue(p.now, day, ""))
}

// account records an account's status; an inactive account's posts are
// removed, including those earlier in the batch.
func (p *batchPlan) account(d *delivery, live bool) error {
	ev := &d.Value.Event
	inactive := ev.Active != nil && !*ev.Active
	if live {
		var err error
		if inactive {
			err = p.accounts.Put([]byte(ev.DID), tombstoneValue(p.now, 0, bounded(ev.Status, 32)))
		} else {
			err = p.accounts.Delete([]byte(ev.DID))
		}
		if err != nil {
			return err
		}
	}
	if !inactive {
		return nil
	}
	refs, err := p.docsOf(ev.DID)
	if err != nil {
		return err
	}
	delete(p.batchDocs, ev.DID)
	return p.removeDocs(d, refs, live)
}

// reset removes the account's posts that its replaced repository no
// longer holds: they were deleted unannounced.
func (p *batchPlan) reset(d *delivery, live bool) error {
	ev := &d.Value.Event
	refs, err := p.docsOf(ev.DID)
	if err != nil {
		return err
	}
	drops := ev.ResetDrops()
	gone := slices.DeleteFunc(refs, func(r docRef) bool { return !drops(r.uri) })
	if len(gone) == 0 {
		return nil
	}
	p.batchDocs[ev.DID] = slices.DeleteFunc(p.batchDocs[ev.DID], func(r docRef) bool { return drops(r.uri) })
	return p.removeDocs(d, gone, live)
}

// docsOf lists an author's indexed posts: those in the partitions and
// those indexed earlier in this batch, once each.
func (p *batchPlan) docsOf(did string) ([]docRef, error) {
	refs, err := p.authorDocs(did)
	if err != nil {
		return nil, fmt.Errorf("posts of %s: %w", did, err)
	}
	return dedupRefs(append(refs, p.batchDocs[did]...)), nil
}

// removeDocs deletes posts from their partitions on behalf of record d
// and, when d is live, from the ledger and the counters.
func (p *batchPlan) removeDocs(d *delivery, refs []docRef, live bool) error {
	for _, ref := range refs {
		p.emit(d, ref.day, ref.uri, nil)
		if !live {
			continue
		}
		if _, err := p.forget(ref.uri); err != nil {
			return err
		}
	}
	return nil
}

// forget drops a post's ledger entry and takes back what it counted, and
// returns the entry (nil when the post had none).
func (p *batchPlan) forget(uri string) (*postRec, error) {
	key := ledgerKey(uri)
	rec, err := getPostRec(p.posts, key)
	if err != nil || rec == nil {
		return nil, err
	}
	p.counters.uncount(rec)
	return rec, p.posts.Delete(key)
}

// save writes the counters, the new error codes, the offsets, the record
// of the batch and the watermark in the batch's transaction.
func (p *batchPlan) save(tx *bolt.Tx) error {
	if err := p.counters.save(tx.Bucket(bucketSeries)); err != nil {
		return err
	}
	for code, ci := range p.newCodes {
		if err := boltkv.PutJSON(tx.Bucket(bucketCodes), []byte(code), ci); err != nil {
			return err
		}
	}
	meta := tx.Bucket(bucketMeta)
	if err := boltkv.PutJSON(meta, keyOffsets, p.offsets); err != nil {
		return err
	}
	p.last = lastBatch{Offsets: batchEnd(p.batch, p.s.last.Offsets), Days: slices.Sorted(maps.Keys(p.days))}
	if err := boltkv.PutJSON(meta, keyLastBatch, p.last); err != nil {
		return err
	}
	return meta.Put(keyWatermark, binary.BigEndian.AppendUint64(nil, uint64(p.watermark)))
}

// batchEnd raises offsets to the offset after each record of the batch.
// Never raise a day partition's offsets past the records it was given: a
// redelivered batch may be shorter than the one applied before a crash.
func batchEnd(batch []delivery, offsets map[int]int64) map[int]int64 {
	end := cloneOffsets(offsets)
	for i := range batch {
		d := &batch[i]
		end[d.Partition] = max(end[d.Partition], d.Offset+1)
	}
	return end
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
