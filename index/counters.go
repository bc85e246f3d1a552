package index

import (
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/downsignal/downsignal/record"
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

// seriesDelta is what one batch changes in the counters: the minute and
// hour buckets it touched, each copied on first write from the committed
// one, so readers never see a batch that did not commit.
type seriesDelta struct {
	base, baseHours map[seriesKey]map[int64]*bucket // committed; written only by publish
	minutes, hours  map[seriesKey]map[int64]*bucket
}

func newSeriesDelta(base, baseHours map[seriesKey]map[int64]*bucket) *seriesDelta {
	return &seriesDelta{
		base: base, baseHours: baseHours,
		minutes: make(map[seriesKey]map[int64]*bucket),
		hours:   make(map[seriesKey]map[int64]*bucket),
	}
}

// count adds a post to every series it feeds.
func (d *seriesDelta) count(r *postRec) {
	d.each(r, func(b *bucket) {
		b.mentions++
		if r.Outage {
			b.posts++
			b.authors.add(r.Author)
		}
	})
}

// uncount takes back what count added for the post. Distinct authors
// cannot be taken back from a sketch: they stay an upper bound after a
// delete.
func (d *seriesDelta) uncount(r *postRec) {
	d.each(r, func(b *bucket) {
		b.mentions = decr(b.mentions)
		if r.Outage {
			b.posts = decr(b.posts)
		}
	})
}

// each calls fn with the minute and the hour bucket of every series the
// post feeds.
func (d *seriesDelta) each(r *postRec, fn func(*bucket)) {
	hour := floorDiv(r.Minute, 60)
	forEachSeries(r.Services, r.Codes, r.Regions, func(k seriesKey) {
		fn(writable(d.minutes, d.base, k, r.Minute))
		fn(writable(d.hours, d.baseHours, k, hour))
	})
}

// writable is the batch's copy of bucket t of series k.
func writable(delta, from map[seriesKey]map[int64]*bucket, k seriesKey, t int64) *bucket {
	if b := delta[k][t]; b != nil {
		return b
	}
	b := &bucket{}
	if old := from[k][t]; old != nil {
		b.posts, b.mentions, b.authors = old.posts, old.mentions, old.authors.clone()
	}
	if delta[k] == nil {
		delta[k] = make(map[int64]*bucket)
	}
	delta[k][t] = b
	return b
}

// save writes the changed minutes in the batch's transaction (hours are
// rolled up again from them at load).
func (d *seriesDelta) save(series *bolt.Bucket) error {
	for k, minutes := range d.minutes {
		for m, b := range minutes {
			if err := series.Put(seriesKeyBytes(k, m), encodeBucket(b)); err != nil {
				return err
			}
		}
	}
	return nil
}

// publish makes the batch's buckets the committed ones, once its
// transaction committed.
func (d *seriesDelta) publish() {
	mergeBuckets(d.base, d.minutes)
	mergeBuckets(d.baseHours, d.hours)
}

func mergeBuckets(to, from map[seriesKey]map[int64]*bucket) {
	for k, buckets := range from {
		if to[k] == nil {
			to[k] = make(map[int64]*bucket, len(buckets))
		}
		maps.Copy(to[k], buckets)
	}
}

// oldestMinute is the least of first (0: none yet) and the minutes given.
func oldestMinute(first int64, minutes map[int64]*bucket) int64 {
	for m := range minutes {
		if first == 0 || m < first {
			first = m
		}
	}
	return first
}

// rollUpHours sums minute buckets into hour buckets, which are kept in
// memory only.
func rollUpHours(series map[seriesKey]map[int64]*bucket) map[seriesKey]map[int64]*bucket {
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
	return hours
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
