package detect

import (
	"fmt"
	"slices"

	"github.com/cespare/xxhash/v2"
	bolt "go.etcd.io/bbolt"

	"github.com/downsignal/downsignal/internal/boltkv"
	"github.com/downsignal/downsignal/record"
)

// countKinds is what each kind of record does to the detector's counts,
// listed once. Account events are not listed: the detector keeps no state
// per account, and the posts of an account that went inactive stay counted.
var countKinds = map[record.Kind]func(b *batchTx, sig *record.Signal) error{
	record.KindPost:   (*batchTx).applyPost,
	record.KindDelete: (*batchTx).applyDelete,
	record.KindReset:  (*batchTx).applyReset,
}

// batchTx is one batch being counted in its bbolt transaction: the
// buckets a record reads and writes, the state in memory, and what the
// batch changed, for save.
type batchTx struct {
	st             *state
	retentionDays  int
	counted, tombs *bolt.Bucket
	d              *dirty
}

func (e *Engine) newBatchTx(tx *bolt.Tx, d *dirty) *batchTx {
	return &batchTx{st: e.st, retentionDays: e.o.RetentionDays,
		counted: tx.Bucket(bucketCounted), tombs: tx.Bucket(bucketTombs), d: d}
}

// apply counts one record.
func (b *batchTx) apply(sig *record.Signal) error {
	if kind, ok := countKinds[sig.Event.Kind]; ok {
		return kind(b, sig)
	}
	return nil
}

// applyPost counts a post in the minute of all posts and, when it reports
// an outage of a service, in the minute of each scope it feeds (its
// services, their groups, and those in the regions it names).
func (b *batchTx) applyPost(sig *record.Signal) error {
	st := b.st
	ev := &sig.Event
	m := ev.Time.Unix() / 60
	if st.First == 0 {
		st.First = m
		st.Evaluated = m - 1
	}
	if m >= st.First && m > st.Evaluated-int64(b.retentionDays)*1440 {
		st.totals[m]++
		b.d.totals[m] = true
	}
	uri := []byte(ev.URI)
	r := sig.Result
	if r == nil || !r.Outage || len(r.Services) == 0 {
		return nil
	}
	if b.tombs.Get(uri) != nil || b.counted.Get(uri) != nil {
		return nil // deleted already, or a duplicate at a new offset
	}
	post := xxhash.Sum64String(ev.URI)
	en := &entry{Post: post, Author: xxhash.Sum64String(ev.DID), Bands: bandKeys(ev.Text)}
	for _, c := range r.ErrorCodes {
		en.Codes = appendUnique(en.Codes, c.Family+"|"+c.Code)
	}
	for _, g := range r.Regions {
		en.Regions = appendUnique(en.Regions, g.Name)
	}
	services, scopes := st.scopesOf(r.Services, en.Regions)
	for _, s := range scopes {
		if st.minutes[s] == nil {
			st.minutes[s] = map[int64]*minute{}
		}
		mm := st.minutes[s][m]
		if mm == nil {
			mm = &minute{}
			st.minutes[s][m] = mm
		}
		mm.entries = append(mm.entries, en)
		mm.recount()
		b.d.minute(s, m)
	}
	if err := boltkv.PutJSON(b.counted, uri, counted{Minute: m, Scopes: scopes}); err != nil {
		return err
	}
	if m > st.Evaluated-120 {
		st.recent[post] = &recentPost{URI: ev.URI, Author: ev.DID, Text: clip(ev.Text, 300), Time: ev.Time.UTC(),
			Minute: m, Services: services, Group: st.groupOf(services[0])}
		b.d.recent[post] = true
	}
	return nil
}

// scopesOf lists the services a post names and the scopes it feeds: each
// service, its group, and each of those in each region it names (at most
// maxRegionsPerPost). It learns each service's group from the post.
func (s *state) scopesOf(hits []record.ServiceHit, regions []string) (services, scopes []string) {
	for _, h := range hits {
		services = appendUnique(services, h.Name)
		scopes = appendUnique(scopes, h.Name)
		// The classifier names the group (Outlook's is Microsoft 365,
		// never a vendor such as Microsoft); older signals only the parent.
		parent := h.Group
		if parent == "" {
			parent = h.Parent
		}
		if parent == "" || parent == h.Name {
			delete(s.Parents, h.Name)
			continue
		}
		s.Parents[h.Name] = parent
		scopes = appendUnique(scopes, parent)
	}
	// Regional series: each service (and parent) in each named region.
	base := scopes
	for i, r := range regions {
		if i == maxRegionsPerPost {
			break
		}
		for _, b := range base {
			scopes = appendUnique(scopes, b+regionSep+r)
		}
	}
	return services, scopes
}

// applyDelete takes a deleted post out of the counts.
func (b *batchTx) applyDelete(sig *record.Signal) error {
	return b.removePost(sig.Event.URI, sig.Event.Time.Unix())
}

// applyReset takes out of the counts the account's posts that its
// replaced repository no longer holds, as deletes would: those still in
// the recent window. Older ones only shaped baselines.
func (b *batchTx) applyReset(sig *record.Signal) error {
	ev := &sig.Event
	drops := ev.ResetDrops()
	var gone []string
	for _, rp := range b.st.recent {
		if rp.Author == ev.DID && drops(rp.URI) {
			gone = append(gone, rp.URI)
		}
	}
	slices.Sort(gone)
	for _, uri := range gone {
		if err := b.removePost(uri, ev.Time.Unix()); err != nil {
			return err
		}
	}
	return nil
}

// removePost tombstones a post that is gone (deleted at event time t, unix
// seconds), so it is never counted again, and takes back what it counted:
// its entry in each scope's minute, its place among the recent posts and
// the incidents' samples.
func (b *batchTx) removePost(uri string, t int64) error {
	st := b.st
	key := []byte(uri)
	if err := b.tombs.Put(key, i64(t)); err != nil {
		return err
	}
	var c counted
	if ok, err := boltkv.GetJSON(b.counted, key, &c); err != nil {
		return fmt.Errorf("counted %s: %w", uri, err)
	} else if !ok {
		return nil
	}
	post := xxhash.Sum64String(uri)
	for _, s := range c.Scopes {
		mm := st.minutes[s][c.Minute]
		if mm == nil {
			continue
		}
		for i, en := range mm.entries {
			if en.Post == post {
				mm.entries = append(mm.entries[:i], mm.entries[i+1:]...)
				break
			}
		}
		mm.recount()
		if len(mm.entries) == 0 {
			delete(st.minutes[s], c.Minute)
		}
		b.d.minute(s, c.Minute)
	}
	if _, ok := st.recent[post]; ok {
		delete(st.recent, post)
		b.d.recent[post] = true
	}
	// A deleted post is no longer shown as a sample.
	for _, in := range st.incidents {
		for i, s := range in.Samples {
			if s.URI == uri {
				in.Samples = append(in.Samples[:i], in.Samples[i+1:]...)
				b.d.incidents[in.ID] = true
				break
			}
		}
	}
	return b.counted.Delete(key)
}
