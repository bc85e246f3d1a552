package index

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/cespare/xxhash/v2"
	bolt "go.etcd.io/bbolt"

	"github.com/downsignal/downsignal/classify"
	"github.com/downsignal/downsignal/ingest"
)

var (
	bucketMeta       = []byte("meta")
	bucketCounted    = []byte("counted")
	bucketTombstones = []byte("tombstones")
	bucketSeries     = []byte("series")
	keyOffsets       = []byte("offsets")
)

// counters keeps, per service and minute of event time, the number of
// outage posts, their distinct authors and all mentions. It lives in
// memory for reads and in a bbolt file for durability, written in one
// transaction per batch together with the Kafka offsets it covers.
type counters struct {
	db *bolt.DB

	mu      sync.RWMutex
	series  map[string]map[int64]*bucket // service name -> minute -> bucket
	offsets map[int]int64                // partition -> next offset to apply
}

// bucket is one service's minute.
type bucket struct {
	posts    uint32            // outage posts
	mentions uint32            // all posts naming the service
	authors  map[uint64]uint32 // author hash -> outage posts in this minute
}

// counted is what the store remembers of a post it counted, so that a
// duplicate is not counted twice and a delete takes back exactly what the
// post added.
type counted struct {
	Minute   int64    `json:"m"`
	Author   uint64   `json:"a"`
	Services []string `json:"s"`
	Outage   bool     `json:"o,omitempty"`
}

func openCounters(path string) (*counters, error) {
	db, err := bolt.Open(path, 0o644, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open counters %s: %w", path, err)
	}
	c := &counters{db: db}
	if err := c.load(); err != nil {
		db.Close()
		return nil, err
	}
	return c, nil
}

func (c *counters) close() error { return c.db.Close() }

// load rebuilds the in-memory state from the file.
func (c *counters) load() error {
	series := make(map[string]map[int64]*bucket)
	offsets := make(map[int]int64)
	err := c.db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketMeta, bucketCounted, bucketTombstones, bucketSeries} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		if b := tx.Bucket(bucketMeta).Get(keyOffsets); b != nil {
			if err := json.Unmarshal(b, &offsets); err != nil {
				return fmt.Errorf("offsets: %w", err)
			}
		}
		return tx.Bucket(bucketSeries).ForEach(func(k, v []byte) error {
			svc, minute, err := splitSeriesKey(k)
			if err != nil {
				return err
			}
			b, err := decodeBucket(v)
			if err != nil {
				return fmt.Errorf("series %q: %w", k, err)
			}
			if series[svc] == nil {
				series[svc] = make(map[int64]*bucket)
			}
			series[svc][minute] = b
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("load counters: %w", err)
	}
	c.mu.Lock()
	c.series, c.offsets = series, offsets
	c.mu.Unlock()
	return nil
}

// position returns the next offset to apply for each partition.
func (c *counters) position() map[int]int64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return cloneOffsets(c.offsets)
}

// apply counts one batch and returns the URIs deleted so far (tombstones)
// among the batch's posts, which the index must not (re)create.
func (c *counters) apply(changes []change) (tombstoned map[string]bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	type key struct {
		svc    string
		minute int64
	}
	dirty := make(map[key]*bucket)
	get := func(svc string, minute int64) *bucket {
		k := key{svc, minute}
		if b, ok := dirty[k]; ok {
			return b
		}
		old := c.series[svc][minute]
		b := &bucket{authors: map[uint64]uint32{}}
		if old != nil {
			b.posts, b.mentions = old.posts, old.mentions
			for h, n := range old.authors {
				b.authors[h] = n
			}
		}
		dirty[k] = b
		return b
	}
	offsets := cloneOffsets(c.offsets)
	tombstoned = make(map[string]bool)

	err = c.db.Update(func(tx *bolt.Tx) error {
		countedB, tombB := tx.Bucket(bucketCounted), tx.Bucket(bucketTombstones)
		now := binary.AppendVarint(nil, time.Now().Unix())
		for _, ch := range changes {
			ev := &ch.sig.Event
			if ch.offset < c.offsets[ch.partition] {
				// Already counted before a restart: only learn tombstones.
				if ev.Kind == ingest.KindPost && tombB.Get([]byte(ev.URI)) != nil {
					tombstoned[ev.URI] = true
				}
				continue
			}
			offsets[ch.partition] = max(offsets[ch.partition], ch.offset+1)
			uri := []byte(ev.URI)
			switch ev.Kind {
			case ingest.KindPost:
				if tombB.Get(uri) != nil {
					tombstoned[ev.URI] = true
					continue
				}
				names := countedNames(ch.sig.Result)
				if len(names) == 0 || countedB.Get(uri) != nil {
					continue
				}
				rec := counted{
					Minute:   ev.Time.Unix() / 60,
					Author:   xxhash.Sum64String(ev.DID),
					Services: names,
					Outage:   ch.sig.Result.Outage,
				}
				for _, svc := range rec.Services {
					b := get(svc, rec.Minute)
					b.mentions++
					if rec.Outage {
						b.posts++
						b.authors[rec.Author]++
					}
				}
				v, err := json.Marshal(rec)
				if err != nil {
					return err
				}
				if err := countedB.Put(uri, v); err != nil {
					return err
				}
			case ingest.KindDelete:
				tombstoned[ev.URI] = true
				if err := tombB.Put(uri, now); err != nil {
					return err
				}
				v := countedB.Get(uri)
				if v == nil {
					continue
				}
				var rec counted
				if err := json.Unmarshal(v, &rec); err != nil {
					return fmt.Errorf("counted %s: %w", ev.URI, err)
				}
				for _, svc := range rec.Services {
					b := get(svc, rec.Minute)
					b.mentions = decr(b.mentions)
					if rec.Outage {
						b.posts = decr(b.posts)
						if n := b.authors[rec.Author]; n > 1 {
							b.authors[rec.Author] = n - 1
						} else {
							delete(b.authors, rec.Author)
						}
					}
				}
				if err := countedB.Delete(uri); err != nil {
					return err
				}
			}
		}
		seriesB := tx.Bucket(bucketSeries)
		for k, b := range dirty {
			if err := seriesB.Put(seriesKey(k.svc, k.minute), encodeBucket(b)); err != nil {
				return err
			}
		}
		ob, err := json.Marshal(offsets)
		if err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Put(keyOffsets, ob)
	})
	if err != nil {
		return nil, fmt.Errorf("counters: %w", err)
	}
	for k, b := range dirty {
		if c.series[k.svc] == nil {
			c.series[k.svc] = make(map[int64]*bucket)
		}
		c.series[k.svc][k.minute] = b
	}
	c.offsets = offsets
	return tombstoned, nil
}

// countedNames are the series a post feeds: each service it names and
// each of their parents, once.
func countedNames(r *classify.Result) []string {
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
	slices.Sort(names)
	return slices.Compact(names)
}

func decr(n uint32) uint32 {
	if n == 0 {
		return 0
	}
	return n - 1
}

// Point is one step of a trend.
type Point struct {
	T        time.Time `json:"t"`
	Posts    int       `json:"posts"`
	Authors  int       `json:"authors"`
	Mentions int       `json:"mentions"`
}

// trend sums minutes [since, until) into points of step. Distinct authors
// are distinct across the whole step, not summed per minute.
func (c *counters) trend(service string, since, until time.Time, step time.Duration) []Point {
	stepMin := int64(step / time.Minute)
	first := floorDiv(since.Unix()/60, stepMin) * stepMin
	last := until.Unix() / 60 // exclusive
	if until.Unix()%60 != 0 {
		last++
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	minutes := c.series[service]
	points := make([]Point, 0, (last-first)/stepMin+1)
	for start := first; start < last; start += stepMin {
		p := Point{T: time.Unix(start*60, 0).UTC()}
		var authors map[uint64]struct{}
		for m := start; m < start+stepMin && m < last; m++ {
			b := minutes[m]
			if b == nil {
				continue
			}
			p.Posts += int(b.posts)
			p.Mentions += int(b.mentions)
			if stepMin == 1 {
				p.Authors = len(b.authors)
				continue
			}
			if authors == nil {
				authors = make(map[uint64]struct{})
			}
			for h := range b.authors {
				authors[h] = struct{}{}
			}
		}
		if stepMin > 1 {
			p.Authors = len(authors)
		}
		points = append(points, p)
	}
	return points
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func seriesKey(svc string, minute int64) []byte {
	k := make([]byte, 0, len(svc)+9)
	k = append(k, svc...)
	k = append(k, 0)
	return binary.BigEndian.AppendUint64(k, uint64(minute))
}

func splitSeriesKey(k []byte) (string, int64, error) {
	if len(k) < 9 || k[len(k)-9] != 0 {
		return "", 0, fmt.Errorf("bad series key %q", k)
	}
	return string(k[:len(k)-9]), int64(binary.BigEndian.Uint64(k[len(k)-8:])), nil
}

func encodeBucket(b *bucket) []byte {
	out := make([]byte, 0, 16+len(b.authors)*10)
	out = binary.AppendUvarint(out, uint64(b.posts))
	out = binary.AppendUvarint(out, uint64(b.mentions))
	out = binary.AppendUvarint(out, uint64(len(b.authors)))
	hashes := make([]uint64, 0, len(b.authors))
	for h := range b.authors {
		hashes = append(hashes, h)
	}
	slices.Sort(hashes)
	for _, h := range hashes {
		out = binary.BigEndian.AppendUint64(out, h)
		out = binary.AppendUvarint(out, uint64(b.authors[h]))
	}
	return out
}

var errShortBucket = errors.New("truncated bucket")

func decodeBucket(v []byte) (*bucket, error) {
	var vals [3]uint64
	for i := range vals {
		x, n := binary.Uvarint(v)
		if n <= 0 {
			return nil, errShortBucket
		}
		vals[i], v = x, v[n:]
	}
	b := &bucket{posts: uint32(vals[0]), mentions: uint32(vals[1]), authors: make(map[uint64]uint32, vals[2])}
	for i := uint64(0); i < vals[2]; i++ {
		if len(v) < 8 {
			return nil, errShortBucket
		}
		h := binary.BigEndian.Uint64(v)
		x, n := binary.Uvarint(v[8:])
		if n <= 0 {
			return nil, errShortBucket
		}
		b.authors[h] = uint32(x)
		v = v[8+n:]
	}
	return b, nil
}

func cloneOffsets(m map[int]int64) map[int]int64 {
	if m == nil {
		return map[int]int64{}
	}
	return maps.Clone(m)
}
