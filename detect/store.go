package detect

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/downsignal/downsignal/internal/boltkv"
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
		for _, load := range []func(*bolt.Tx, *state) error{
			loadMeta, loadMinutes, loadTotals, loadGaps, loadGroups, loadIncidents, loadSilences, loadRecent,
		} {
			if err := load(tx, st); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("alert: load state: %w", err)
	}
	return st, nil
}

// loadMeta reads the small state, and gives a new store its instance id.
func loadMeta(tx *bolt.Tx, st *state) error {
	metaB := tx.Bucket(bucketMeta)
	if _, err := boltkv.GetJSON(metaB, keyMeta, &st.meta); err != nil {
		return fmt.Errorf("meta: %w", err)
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
	if st.Instance != "" {
		return nil
	}
	st.Instance = rand.Text()[:16]
	return boltkv.PutJSON(metaB, keyMeta, &st.meta)
}

func loadMinutes(tx *bolt.Tx, st *state) error {
	return tx.Bucket(bucketMinutes).ForEach(func(k, v []byte) error {
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
	})
}

func loadTotals(tx *bolt.Tx, st *state) error {
	return tx.Bucket(bucketTotals).ForEach(func(k, v []byte) error {
		n, _ := binary.Uvarint(v)
		st.totals[readI64(k)] = uint32(n)
		return nil
	})
}

func loadGaps(tx *bolt.Tx, st *state) error {
	return tx.Bucket(bucketGaps).ForEach(func(k, _ []byte) error {
		st.gaps[readI64(k)] = true
		return nil
	})
}

func loadGroups(tx *bolt.Tx, st *state) error {
	return boltkv.ForEachJSON(tx.Bucket(bucketGroups), "group", func(k []byte, g *group) error {
		st.groups[string(k)] = g
		return nil
	})
}

func loadIncidents(tx *bolt.Tx, st *state) error {
	return boltkv.ForEachJSON(tx.Bucket(bucketIncidents), "incident", func(_ []byte, in *Incident) error {
		st.incidents[in.ID] = in
		return nil
	})
}

func loadSilences(tx *bolt.Tx, st *state) error {
	return boltkv.ForEachJSON(tx.Bucket(bucketSilences), "silence", func(_ []byte, s *Silence) error {
		st.silences[s.ID] = *s
		return nil
	})
}

func loadRecent(tx *bolt.Tx, st *state) error {
	return boltkv.ForEachJSON(tx.Bucket(bucketRecent), "recent", func(k []byte, r *recentPost) error {
		st.recent[binary.BigEndian.Uint64(k)] = r
		return nil
	})
}

// save writes what a batch changed, in the batch's transaction.
func save(tx *bolt.Tx, st *state, d *dirty) error {
	if err := saveMinutes(tx.Bucket(bucketMinutes), st, d); err != nil {
		return err
	}
	if err := saveCounts(tx, st, d); err != nil {
		return err
	}
	if d.pruned {
		if err := pruneFile(tx, d.pruneFrom); err != nil {
			return err
		}
	}
	if err := writeBack(tx.Bucket(bucketGroups), d.groups, st.groups, stringKey); err != nil {
		return err
	}
	if err := writeBack(tx.Bucket(bucketIncidents), d.incidents, st.incidents, stringKey); err != nil {
		return err
	}
	if err := writeBack(tx.Bucket(bucketRecent), d.recent, st.recent, u64); err != nil {
		return err
	}
	evB := tx.Bucket(bucketEvents)
	for _, ev := range d.events {
		if err := boltkv.PutJSON(evB, u64(ev.Seq), ev); err != nil {
			return err
		}
	}
	return boltkv.PutJSON(tx.Bucket(bucketMeta), keyMeta, &st.meta)
}

// saveMinutes writes the changed minutes of each scope; a minute left
// without posts is deleted.
func saveMinutes(minB *bolt.Bucket, st *state, d *dirty) error {
	for svc, ms := range d.minutes {
		for m := range ms {
			var es []*entry
			if mm := st.minutes[svc][m]; mm != nil {
				es = mm.entries
			}
			if err := boltkv.PutJSONOrDelete(minB, minuteKey(svc, m), es, len(es) > 0); err != nil {
				return err
			}
		}
	}
	return nil
}

// saveCounts writes the changed minutes of all posts and of ingest gaps.
func saveCounts(tx *bolt.Tx, st *state, d *dirty) error {
	totB := tx.Bucket(bucketTotals)
	for m := range d.totals {
		n, ok := st.totals[m]
		if err := boltkv.PutOrDelete(totB, i64(m), binary.AppendUvarint(nil, uint64(n)), ok); err != nil {
			return err
		}
	}
	gapB := tx.Bucket(bucketGaps)
	for m := range d.gaps {
		if err := boltkv.PutOrDelete(gapB, i64(m), nil, st.gaps[m]); err != nil {
			return err
		}
	}
	return nil
}

// pruneFile drops from the file what retention dropped from memory: the
// minutes before from, and the events before it, which webhook delivery
// read long ago.
func pruneFile(tx *bolt.Tx, from int64) error {
	c := tx.Bucket(bucketMinutes).Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		if _, m, err := splitMinuteKey(k); err == nil && m < from {
			if err := c.Delete(); err != nil {
				return err
			}
		}
	}
	c = tx.Bucket(bucketEvents).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		var ev struct {
			Time time.Time `json:"time"`
		}
		if json.Unmarshal(v, &ev) == nil && ev.Time.Unix()/60 >= from {
			break
		}
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}

// writeBack writes the entries of m that a batch changed to b: the JSON of
// those m holds, a delete for those it no longer does.
func writeBack[K comparable, V any](b *bolt.Bucket, changed map[K]bool, m map[K]*V, key func(K) []byte) error {
	for k := range changed {
		v := m[k]
		if err := boltkv.PutJSONOrDelete(b, key(k), v, v != nil); err != nil {
			return err
		}
	}
	return nil
}

func stringKey(s string) []byte { return []byte(s) }
