package index

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/downsignal/downsignal/internal/boltkv"
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
// mirrored in memory for reads. plan.go applies a batch to it; ledger.go
// and counters.go hold what it stores.
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
		if _, err := boltkv.GetJSON(meta, keyOffsets, &offsets); err != nil {
			return fmt.Errorf("offsets: %w", err)
		}
		if _, err := boltkv.GetJSON(meta, keyLastBatch, &last); err != nil {
			return fmt.Errorf("last batch: %w", err)
		}
		if b := meta.Get(keyWatermark); len(b) == 8 {
			watermark = int64(binary.BigEndian.Uint64(b))
		}
		if err := boltkv.ForEachJSON(tx.Bucket(bucketCodes), "code", func(k []byte, ci *codeInfo) error {
			codes[string(k)] = *ci
			return nil
		}); err != nil {
			return err
		}
		return loadSeries(tx.Bucket(bucketSeries), series)
	})
	if err != nil {
		return fmt.Errorf("load state: %w", err)
	}
	if last.Offsets == nil {
		last.Offsets = cloneOffsets(offsets)
	}
	hours := rollUpHours(series)
	s.mu.Lock()
	s.series, s.hours, s.codes, s.offsets, s.watermark, s.last = series, hours, codes, offsets, watermark, last
	s.first = oldestMinute(0, series[seriesKey{}])
	s.mu.Unlock()
	return nil
}

// loadSeries reads every counter bucket into series.
func loadSeries(src *bolt.Bucket, series map[seriesKey]map[int64]*bucket) error {
	return src.ForEach(func(k, v []byte) error {
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
