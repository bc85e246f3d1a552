package detect

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

var (
	bucketMeta      = []byte("meta")
	bucketCounted   = []byte("counted")
	bucketTombs     = []byte("tombstones")
	bucketMinutes   = []byte("minutes")
	bucketTotals    = []byte("totals")
	bucketGaps      = []byte("gaps")
	bucketGroups    = []byte("groups")
	bucketIncidents = []byte("incidents")
	bucketEvents    = []byte("events")
	bucketSilences  = []byte("silences")
	bucketRecent    = []byte("recent")
	keyMeta         = []byte("meta")

	allBuckets = [][]byte{bucketMeta, bucketCounted, bucketTombs, bucketMinutes, bucketTotals, bucketGaps,
		bucketGroups, bucketIncidents, bucketEvents, bucketSilences, bucketRecent}
)

func u64(v uint64) []byte    { return binary.BigEndian.AppendUint64(nil, v) }
func i64(v int64) []byte     { return u64(uint64(v)) }
func readI64(b []byte) int64 { return int64(binary.BigEndian.Uint64(b)) }

func minuteKey(svc string, m int64) []byte {
	k := make([]byte, 0, len(svc)+9)
	k = append(k, svc...)
	k = append(k, 0)
	return binary.BigEndian.AppendUint64(k, uint64(m))
}

func splitMinuteKey(k []byte) (string, int64, error) {
	if len(k) < 9 || k[len(k)-9] != 0 {
		return "", 0, fmt.Errorf("bad minute key %q", k)
	}
	return string(k[:len(k)-9]), readI64(k[len(k)-8:]), nil
}

// load reads the whole state from the file, creating the buckets and the
// instance id on first use.
func load(db *bolt.DB) (*state, error) {
	st := newState()
	err := db.Update(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		if b := tx.Bucket(bucketMeta).Get(keyMeta); b != nil {
			if err := json.Unmarshal(b, &st.meta); err != nil {
				return fmt.Errorf("meta: %w", err)
			}
		}
		if st.Offsets == nil {
			st.Offsets = map[int]int64{}
		}
		if st.Parts == nil {
			st.Parts = map[int]*partState{}
		}
		if st.Parents == nil {
			st.Parents = map[string]string{}
		}
		if st.Instance == "" {
			st.Instance = rand.Text()[:16]
			b, err := json.Marshal(&st.meta)
			if err != nil {
				return err
			}
			if err := tx.Bucket(bucketMeta).Put(keyMeta, b); err != nil {
				return err
			}
		}
		if err := tx.Bucket(bucketMinutes).ForEach(func(k, v []byte) error {
			svc, m, err := splitMinuteKey(k)
			if err != nil {
				return err
			}
			var es []*entry
			if err := json.Unmarshal(v, &es); err != nil {
				return fmt.Errorf("minute %q: %w", k, err)
			}
			if st.minutes[svc] == nil {
				st.minutes[svc] = map[int64]*minute{}
			}
			mm := &minute{entries: es}
			mm.recount()
			st.minutes[svc][m] = mm
			return nil
		}); err != nil {
			return err
		}
		if err := tx.Bucket(bucketTotals).ForEach(func(k, v []byte) error {
			n, _ := binary.Uvarint(v)
			st.totals[readI64(k)] = uint32(n)
			return nil
		}); err != nil {
			return err
		}
		if err := tx.Bucket(bucketGaps).ForEach(func(k, _ []byte) error {
			st.gaps[readI64(k)] = true
			return nil
		}); err != nil {
			return err
		}
		if err := tx.Bucket(bucketGroups).ForEach(func(k, v []byte) error {
			g := &group{}
			if err := json.Unmarshal(v, g); err != nil {
				return fmt.Errorf("group %q: %w", k, err)
			}
			st.groups[string(k)] = g
			return nil
		}); err != nil {
			return err
		}
		if err := tx.Bucket(bucketIncidents).ForEach(func(k, v []byte) error {
			in := &Incident{}
			if err := json.Unmarshal(v, in); err != nil {
				return fmt.Errorf("incident %q: %w", k, err)
			}
			st.incidents[in.ID] = in
			return nil
		}); err != nil {
			return err
		}
		if err := tx.Bucket(bucketSilences).ForEach(func(k, v []byte) error {
			var s Silence
			if err := json.Unmarshal(v, &s); err != nil {
				return fmt.Errorf("silence %q: %w", k, err)
			}
			st.silences[s.ID] = s
			return nil
		}); err != nil {
			return err
		}
		return tx.Bucket(bucketRecent).ForEach(func(k, v []byte) error {
			r := &recentPost{}
			if err := json.Unmarshal(v, r); err != nil {
				return fmt.Errorf("recent %q: %w", k, err)
			}
			st.recent[binary.BigEndian.Uint64(k)] = r
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("alert: load state: %w", err)
	}
	return st, nil
}

// save writes what a batch changed, in the batch's transaction.
func save(tx *bolt.Tx, st *state, d *dirty) error {
	minB := tx.Bucket(bucketMinutes)
	for svc, ms := range d.minutes {
		for m := range ms {
			mm := st.minutes[svc][m]
			if mm == nil || len(mm.entries) == 0 {
				if err := minB.Delete(minuteKey(svc, m)); err != nil {
					return err
				}
				continue
			}
			v, err := json.Marshal(mm.entries)
			if err != nil {
				return err
			}
			if err := minB.Put(minuteKey(svc, m), v); err != nil {
				return err
			}
		}
	}
	totB := tx.Bucket(bucketTotals)
	for m := range d.totals {
		n, ok := st.totals[m]
		var err error
		if ok {
			err = totB.Put(i64(m), binary.AppendUvarint(nil, uint64(n)))
		} else {
			err = totB.Delete(i64(m))
		}
		if err != nil {
			return err
		}
	}
	gapB := tx.Bucket(bucketGaps)
	for m := range d.gaps {
		var err error
		if st.gaps[m] {
			err = gapB.Put(i64(m), nil)
		} else {
			err = gapB.Delete(i64(m))
		}
		if err != nil {
			return err
		}
	}
	if d.pruned {
		// Old minutes were dropped from memory: drop them from the file.
		c := minB.Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			if _, m, err := splitMinuteKey(k); err == nil && m < d.pruneFrom {
				if err := c.Delete(); err != nil {
					return err
				}
			}
		}
	}
	if d.pruned {
		// Events older than the retention: webhook delivery read them long ago.
		c := tx.Bucket(bucketEvents).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			var ev struct {
				Time time.Time `json:"time"`
			}
			if json.Unmarshal(v, &ev) == nil && ev.Time.Unix()/60 >= d.pruneFrom {
				break
			}
			if err := c.Delete(); err != nil {
				return err
			}
		}
	}
	grpB := tx.Bucket(bucketGroups)
	for name := range d.groups {
		g := st.groups[name]
		if g == nil {
			if err := grpB.Delete([]byte(name)); err != nil {
				return err
			}
			continue
		}
		v, err := json.Marshal(g)
		if err != nil {
			return err
		}
		if err := grpB.Put([]byte(name), v); err != nil {
			return err
		}
	}
	incB := tx.Bucket(bucketIncidents)
	for id := range d.incidents {
		in := st.incidents[id]
		if in == nil {
			if err := incB.Delete([]byte(id)); err != nil {
				return err
			}
			continue
		}
		v, err := json.Marshal(in)
		if err != nil {
			return err
		}
		if err := incB.Put([]byte(id), v); err != nil {
			return err
		}
	}
	recB := tx.Bucket(bucketRecent)
	for h := range d.recent {
		r := st.recent[h]
		if r == nil {
			if err := recB.Delete(u64(h)); err != nil {
				return err
			}
			continue
		}
		v, err := json.Marshal(r)
		if err != nil {
			return err
		}
		if err := recB.Put(u64(h), v); err != nil {
			return err
		}
	}
	evB := tx.Bucket(bucketEvents)
	for _, ev := range d.events {
		v, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		if err := evB.Put(u64(ev.Seq), v); err != nil {
			return err
		}
	}
	b, err := json.Marshal(&st.meta)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketMeta).Put(keyMeta, b)
}
