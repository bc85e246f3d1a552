package index

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/mapping"
	bolt "go.etcd.io/bbolt"

	"github.com/downsignal/downsignal/record"
)

// DefaultRetention is how long posts stay searchable and counted.
const DefaultRetention = 30 * 24 * time.Hour

// Options configures an Index.
type Options struct {
	// Dir holds the day partitions (days/) and the state store (state.db).
	Dir string
	// Retention is how far back from the newest event the index keeps
	// posts; whole days older than that are dropped. Default 30 days.
	Retention time.Duration
	// Posts is which posts Bleve keeps: PostsRelevant (the default) or
	// PostsAll. Every post is counted either way.
	Posts   Posts
	Logger  *slog.Logger
	Metrics *Metrics
	// Now is the clock (tombstone times, retention ticks); nil: time.Now.
	Now func() time.Time
}

// Index is the on-disk post index with its ledger and counters. Apply is
// called by one writer; searches and trends run concurrently with it.
type Index struct {
	dir     string
	o       Options
	state   *state
	mapping mapping.IndexMapping
	log     *slog.Logger
	metrics *Metrics
	keep    func(*record.Signal) bool // posts kept in Bleve

	writeMu sync.Mutex // one writer; retention runs under it too

	mu      sync.RWMutex // guards parts and offsets; held by readers while they search
	parts   map[int32]*partition
	offsets map[int]int64 // partition -> next offset every day partition applied

	instance string
	counts   countCache

	// failAfterParts, when above zero, makes apply fail after writing that
	// many day partitions of a batch: tests simulate a crash between
	// partitions with it. Set only by tests, before apply.
	failAfterParts int
}

// partition is one UTC day of posts, a Bleve index of its own.
type partition struct {
	day     int32
	idx     bleve.Index
	offsets map[int]int64 // written with each batch; touched only by the writer

	compacted bool // merged to one segment once it stopped being the newest day
	// gen counts the batches written, for the count cache.
	gen atomic.Uint64
}

// keyBleveOffsets is the internal key under which a partition records its
// applied offsets, in the same batch as the documents.
var keyBleveOffsets = []byte("downsignal.offsets")

var keyInstance = []byte("instance")

// Open opens the index in o.Dir, creating it on first use.
func Open(o Options) (*Index, error) {
	if o.Dir == "" {
		return nil, errors.New("index: empty directory")
	}
	if o.Retention == 0 {
		o.Retention = DefaultRetention
	}
	if o.Retention < time.Hour {
		return nil, fmt.Errorf("index: retention %s is shorter than an hour", o.Retention)
	}
	posts, err := ParsePosts(string(o.Posts))
	if err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	o.Posts = posts
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if err := os.MkdirAll(filepath.Join(o.Dir, "days"), 0o755); err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	st, err := openState(filepath.Join(o.Dir, "state.db"), o.Retention)
	if err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	x := &Index{dir: o.Dir, o: o, state: st, mapping: newMapping(), log: o.Logger, metrics: o.Metrics, keep: posts.keeper(), parts: map[int32]*partition{}}
	if err := x.open(); err != nil {
		x.Close()
		return nil, err
	}
	return x, nil
}

func (x *Index) open() error {
	err := x.state.db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if id := meta.Get(keyInstance); id != nil {
			x.instance = string(id)
			return nil
		}
		x.instance = rand.Text()[:16]
		return meta.Put(keyInstance, []byte(x.instance))
	})
	if err != nil {
		return fmt.Errorf("index: instance id: %w", err)
	}
	entries, err := os.ReadDir(filepath.Join(x.dir, "days"))
	if err != nil {
		return fmt.Errorf("index: %w", err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") {
			if err := os.RemoveAll(filepath.Join(x.dir, "days", e.Name())); err != nil {
				return fmt.Errorf("index: %w", err)
			}
			continue
		}
		name, ok := strings.CutSuffix(e.Name(), ".bleve")
		if !ok {
			continue
		}
		t, err := time.Parse(time.DateOnly, name)
		if err != nil {
			continue
		}
		if _, err := x.openPartition(dayOf(t), false); err != nil {
			return err
		}
	}
	// The position is where the latest batch got to in every partition it
	// wrote; a crash between two partitions leaves the least of them.
	last := x.state.lastBatch()
	pos := cloneOffsets(last.Offsets)
	cutoffDay := dayOf(x.state.cutoff())
	for _, d := range last.Days {
		var offsets map[int]int64 // a partition the batch did not create yet has applied nothing
		if p := x.parts[d]; p != nil {
			offsets = p.offsets
		} else if d < cutoffDay {
			continue // dropped by retention since
		}
		for k, o := range pos {
			pos[k] = min(o, offsets[k])
		}
	}
	x.offsets = pos
	return nil
}

func (x *Index) partPath(day int32) string {
	return filepath.Join(x.dir, "days", dayStart(day).Format(time.DateOnly)+".bleve")
}

// openPartition opens (or with create, creates) a day's index. Called at
// open and by the writer.
func (x *Index) openPartition(day int32, create bool) (*partition, error) {
	path := x.partPath(day)
	bi, err := bleve.OpenUsing(path, runtimeConfig())
	if errors.Is(err, bleve.ErrorIndexPathDoesNotExist) && create {
		if err = x.createPartition(path); err == nil {
			bi, err = bleve.OpenUsing(path, runtimeConfig())
		}
	}
	if err != nil {
		return nil, fmt.Errorf("index: open %s: %w", path, err)
	}
	bi.SetName(strconv.Itoa(int(day)))
	offsets := map[int]int64{}
	if b, err := bi.GetInternal(keyBleveOffsets); err != nil {
		bi.Close()
		return nil, fmt.Errorf("index: read offsets of %s: %w", path, err)
	} else if b != nil {
		if err := json.Unmarshal(b, &offsets); err != nil {
			bi.Close()
			return nil, fmt.Errorf("index: read offsets of %s: %w", path, err)
		}
	}
	p := &partition{day: day, idx: bi, offsets: offsets}
	x.mu.Lock()
	x.parts[day] = p
	x.mu.Unlock()
	x.metrics.setPartitions(len(x.parts))
	return p, nil
}

// createPartition creates a day's index beside its final path and renames
// it into place once complete: a kill during creation leaves a temporary
// directory (removed at the next open), never a half-made index.
func (x *Index) createPartition(path string) error {
	tmp := path + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("index: %w", err)
	}
	bi, err := bleve.NewUsing(tmp, x.mapping, bleve.Config.DefaultIndexType, bleve.Config.DefaultKVStore, runtimeConfig())
	if err != nil {
		return fmt.Errorf("index: create %s: %w", path, err)
	}
	if err := bi.Close(); err != nil {
		return fmt.Errorf("index: create %s: %w", path, err)
	}
	for _, p := range []string{filepath.Join(tmp, "index_meta.json"), tmp} {
		if err := syncPath(p); err != nil {
			return fmt.Errorf("index: create %s: %w", path, err)
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("index: create %s: %w", path, err)
	}
	return syncPath(filepath.Dir(path))
}

// runtimeConfig is a fresh Bleve runtime configuration: Bleve writes into
// the map it is given (the store's path among others), so one map must
// never serve two calls. bolt_timeout: a second process opening the same
// index fails fast instead of blocking forever on the lock.
//
// FloorSegmentSize suits a trickle. Scorch's merge planner treats every
// segment under the floor (2,000 documents by default) as that size, so
// at Bluesky's rate, a segment of a few posts per batch, every merge
// rewrote the day's growing small segment again: three quarters of the
// index stage's CPU. With a floor of 10 documents, small segments merge
// with their like and a post is rewritten a few times in all. Bulk
// batches of hundreds or thousands of posts are above either floor.
func runtimeConfig() map[string]any {
	return map[string]any{
		"bolt_timeout":           "5s",
		"scorchMergePlanOptions": map[string]any{"FloorSegmentSize": 10},
	}
}

func syncPath(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// InstanceID identifies this index on disk. The index stage uses it in its
// consumer group name, so a new or rebuilt index reads the topic from the
// start and every replica consumes everything.
func (x *Index) InstanceID() string { return x.instance }

// Close closes every partition and the state store.
func (x *Index) Close() error {
	x.writeMu.Lock()
	defer x.writeMu.Unlock()
	x.mu.Lock()
	defer x.mu.Unlock()
	var errs []error
	for d, p := range x.parts {
		errs = append(errs, p.idx.Close())
		delete(x.parts, d)
	}
	if x.state != nil {
		errs = append(errs, x.state.close())
		x.state = nil
	}
	return errors.Join(errs...)
}

// Position returns, per partition of downsignal.signals, the offset after
// the last record that the ledger, the counters and every day partition
// have applied.
func (x *Index) Position() map[int]int64 {
	x.mu.RLock()
	pos := cloneOffsets(x.offsets)
	x.mu.RUnlock()
	for p, o := range x.state.position() {
		if cur, ok := pos[p]; !ok || o < cur {
			pos[p] = o
		}
	}
	return pos
}

// apply makes one batch durable: first the ledger and counters (one bbolt
// transaction, which also decides what every record does to the
// partitions), then each day partition it touches (one Bleve batch each,
// with that partition's offsets). Each store skips what it already
// applied, so a batch delivered again after a crash at any point converges
// to the same state.
func (x *Index) apply(ctx context.Context, batch []delivery) error {
	if len(batch) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	x.writeMu.Lock()
	defer x.writeMu.Unlock()
	if x.state == nil {
		return errors.New("index closed")
	}
	start := time.Now()
	ops, err := x.state.plan(batch, x.authorDocs, x.keep, x.o.Now())
	if err != nil {
		return err
	}
	end := batchEnd(batch, nil)
	byDay := make(map[int32][]op)
	for _, o := range ops {
		byDay[o.day] = append(byDay[o.day], o)
	}
	cutoffDay := dayOf(x.state.cutoff())
	var indexed, deleted int
	for n, day := range slices.Sorted(maps.Keys(byDay)) {
		if x.failAfterParts > 0 && n == x.failAfterParts {
			return errors.New("injected crash")
		}
		x.mu.RLock()
		p := x.parts[day]
		x.mu.RUnlock()
		if p == nil {
			if day < cutoffDay || !hasIndexOp(byDay[day]) {
				continue // nothing to delete in a partition that does not exist
			}
			if p, err = x.openPartition(day, true); err != nil {
				return err
			}
		}
		i, d, err := p.write(byDay[day], end)
		if err != nil {
			return err
		}
		indexed, deleted = indexed+i, deleted+d
	}
	x.mu.Lock()
	for k, v := range end {
		x.offsets[k] = max(x.offsets[k], v)
	}
	x.mu.Unlock()
	x.metrics.batch(indexed, deleted, time.Since(start))
	return nil
}

// write applies a batch's ops to the day partition in one Bleve batch,
// skipping those below its offsets, and raises its offsets to end in the
// same batch. It returns how many documents it indexed and deleted.
func (p *partition) write(ops []op, end map[int]int64) (indexed, deleted int, err error) {
	batch := p.idx.NewBatch()
	for _, o := range ops {
		if o.offset < p.offsets[o.partition] {
			continue
		}
		if o.sig == nil {
			batch.Delete(o.uri)
			deleted++
			continue
		}
		if err := batch.Index(o.uri, newDoc(o.sig)); err != nil {
			return 0, 0, fmt.Errorf("index %s: %w", o.uri, err)
		}
		indexed++
	}
	offsets := cloneOffsets(p.offsets)
	for k, v := range end {
		offsets[k] = max(offsets[k], v)
	}
	ob, err := json.Marshal(offsets)
	if err != nil {
		return 0, 0, err
	}
	batch.SetInternal(keyBleveOffsets, ob)
	if err := p.idx.Batch(batch); err != nil {
		return 0, 0, fmt.Errorf("index batch %s: %w", dayStart(p.day).Format(time.DateOnly), err)
	}
	p.offsets = offsets
	p.gen.Add(1)
	return indexed, deleted, nil
}

func hasIndexOp(ops []op) bool {
	return slices.ContainsFunc(ops, func(o op) bool { return o.sig != nil })
}

// maxAuthorDocs bounds how many posts of one account a takedown removes in
// one go; an account with more keeps the rest until its next event.
const maxAuthorDocs = 100_000

// authorDocs lists an author's indexed posts in every partition.
func (x *Index) authorDocs(did string) ([]docRef, error) {
	q := bleve.NewTermQuery(did)
	q.SetField(fieldAuthor)
	var refs []docRef
	var after []string
	for len(refs) < maxAuthorDocs {
		req := bleve.NewSearchRequestOptions(q, 1000, 0, false)
		req.SortBy([]string{"_id"})
		req.SearchAfter = after
		res, err := x.searchParts(context.Background(), req, nil)
		if err != nil {
			return nil, err
		}
		for _, h := range res.Hits {
			day, err := strconv.Atoi(h.Index)
			if err != nil {
				return nil, fmt.Errorf("hit from unknown partition %q", h.Index)
			}
			refs = append(refs, docRef{uri: h.ID, day: int32(day)})
		}
		if len(res.Hits) < 1000 {
			break
		}
		after = res.Hits[len(res.Hits)-1].Sort
	}
	return refs, nil
}

// searchParts runs req over the partitions keep selects (all when nil).
func (x *Index) searchParts(ctx context.Context, req *bleve.SearchRequest, keep func(day int32) bool) (*bleve.SearchResult, error) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	var idx []bleve.Index
	for d, p := range x.parts {
		if keep == nil || keep(d) {
			idx = append(idx, p.idx)
		}
	}
	if len(idx) == 0 {
		return &bleve.SearchResult{Status: &bleve.SearchStatus{}, Hits: nil}, nil
	}
	res, err := bleve.NewIndexAlias(idx...).SearchInContext(ctx, req)
	if err != nil {
		return nil, err
	}
	if res.Status != nil && res.Status.Failed > 0 {
		return nil, fmt.Errorf("%d of %d partitions failed: %v", res.Status.Failed, res.Status.Total, res.Status.Errors)
	}
	return res, nil
}

// Run enforces retention until ctx ends: whole day partitions older than
// the retention (from the newest event indexed) are closed and removed,
// with the ledger entries, tombstones and counters of that time.
func (x *Index) Run(ctx context.Context) error {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		if err := x.EnforceRetention(); err != nil {
			x.log.Error("retention", "err", err)
		}
		if err := x.Compact(ctx); err != nil && ctx.Err() == nil {
			x.log.Warn("compact", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Compact merges each day partition older than the newest event's day
// into one segment, once: past days rarely change, and one segment is
// cheaper to search than the dozens that batches leave behind.
func (x *Index) Compact(ctx context.Context) error {
	st := x.state
	if st == nil {
		return nil
	}
	today := dayOf(st.newest())
	x.mu.RLock()
	var todo []*partition
	for d, p := range x.parts {
		if d < today && !p.compacted {
			todo = append(todo, p)
		}
	}
	x.mu.RUnlock()
	slices.SortFunc(todo, func(a, b *partition) int { return int(b.day - a.day) })
	for _, p := range todo {
		adv, err := p.idx.Advanced()
		if err != nil {
			return err
		}
		sc, ok := adv.(*scorch.Scorch)
		if !ok {
			p.compacted = true
			continue
		}
		start := time.Now()
		// A real context: ForceMerge with a nil one stops background
		// merging for good. It waits for the merge (or the index's close)
		// whatever the context, so shutdown does not wait for it here.
		done := make(chan error, 1)
		go func() { done <- sc.ForceMerge(ctx, nil) }()
		select {
		case err := <-done:
			if err != nil {
				return fmt.Errorf("compact %s: %w", dayStart(p.day).Format(time.DateOnly), err)
			}
		case <-ctx.Done():
			return ctx.Err()
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		p.compacted = true
		x.log.Info("compacted day partition", "day", dayStart(p.day).Format(time.DateOnly), "took", time.Since(start))
	}
	return nil
}

// EnforceRetention drops the partitions older than the retention.
func (x *Index) EnforceRetention() error {
	x.writeMu.Lock()
	defer x.writeMu.Unlock()
	if x.state == nil {
		return nil
	}
	cutoff := x.state.cutoff()
	if cutoff.IsZero() {
		return nil
	}
	keepDay := dayOf(cutoff)
	x.mu.Lock()
	var dropped []*partition
	for d, p := range x.parts {
		if d < keepDay {
			dropped = append(dropped, p)
			delete(x.parts, d)
		}
	}
	n := len(x.parts)
	x.mu.Unlock()
	if len(dropped) == 0 {
		return nil
	}
	x.metrics.setPartitions(n)
	var errs []error
	for _, p := range dropped {
		path := x.partPath(p.day)
		errs = append(errs, p.idx.Close(), os.RemoveAll(path))
		x.log.Info("retention: dropped day partition", "day", dayStart(p.day).Format(time.DateOnly))
	}
	// Counters keep at least five weeks, what the seasonal baseline reads.
	history := max(x.o.Retention, 35*24*time.Hour)
	keepMinute := cutoff.Add(x.o.Retention-history).Unix() / 60
	errs = append(errs, x.state.prune(keepMinute, keepDay))
	return errors.Join(errs...)
}

// Partitions lists the days held, oldest first.
func (x *Index) Partitions() []time.Time {
	x.mu.RLock()
	defer x.mu.RUnlock()
	days := slices.Sorted(maps.Keys(x.parts))
	out := make([]time.Time, len(days))
	for i, d := range days {
		out[i] = dayStart(d)
	}
	return out
}

// DocCount returns the number of posts in the index.
func (x *Index) DocCount() (uint64, error) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	var n uint64
	for _, p := range x.parts {
		c, err := p.idx.DocCount()
		if err != nil {
			return 0, err
		}
		n += c
	}
	return n, nil
}

// document is what Bleve indexes for a post; its ID is the at-URI.
type document struct {
	Author    string    `json:"author"`
	Text      string    `json:"text"`
	Time      time.Time `json:"time"`
	CreatedAt time.Time `json:"created_at,omitzero"`
	Services  []string  `json:"services,omitempty"`
	Parents   []string  `json:"parents,omitempty"`
	Codes     []string  `json:"codes,omitempty"`
	Families  []string  `json:"code_families,omitempty"`
	Langs     []string  `json:"langs,omitempty"`
	Regions   []string  `json:"regions,omitempty"`
	Outage    bool      `json:"outage"`
	Score     float64   `json:"score"`
	Intent    string    `json:"intent,omitempty"`
	// Detail is the classification as JSON, stored to answer hits with
	// full service and error-code objects.
	Detail string `json:"detail"`
}

// detail is the stored classification of a post.
type detail struct {
	Services   []record.ServiceHit `json:"services"`
	ErrorCodes []record.ErrorCode  `json:"error_codes"`
	Regions    []record.Region     `json:"regions,omitempty"`
	Intent     string              `json:"intent,omitempty"`
}

func newDoc(sig *record.Signal) *document {
	ev, r := &sig.Event, sig.Result
	d := &document{
		Author: ev.DID, Text: ev.Text, Time: ev.Time, CreatedAt: ev.CreatedAt,
		Langs: ev.Langs,
	}
	if r == nil {
		return d
	}
	d.Outage, d.Score, d.Intent = r.Outage, r.Score, r.Intent
	for _, s := range r.Services {
		d.Services = append(d.Services, s.Name)
		if s.Parent != "" {
			d.Parents = append(d.Parents, s.Parent)
		}
	}
	for _, c := range r.ErrorCodes {
		d.Codes = append(d.Codes, c.Code)
		d.Families = append(d.Families, c.Family)
	}
	for _, g := range r.Regions {
		d.Regions = append(d.Regions, g.Name)
	}
	b, _ := json.Marshal(detail{Services: r.Services, ErrorCodes: r.ErrorCodes, Regions: r.Regions, Intent: r.Intent})
	d.Detail = string(b)
	return d
}

// Handle applies one batch of downsignal.signals records and returns once
// it is durable; it is the index stage's handler for broker.Consumer. An
// invalid record (one that did not decode) changes nothing but the offset
// of its partition.
func (x *Index) Handle(ctx context.Context, batch []record.Delivery[record.Signal]) error {
	return x.apply(ctx, batch)
}

// CountInvalid counts a downsignal.signals record that did not decode.
func (x *Index) CountInvalid() { x.metrics.invalidRecord() }
