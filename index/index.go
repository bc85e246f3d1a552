package index

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/blevesearch/bleve/v2"

	"github.com/downsignal/downsignal/classify"
	"github.com/downsignal/downsignal/ingest"
)

// Options configures an Index.
type Options struct {
	// Dir holds the Bleve index and the counter store.
	Dir     string
	Logger  *slog.Logger
	Metrics *Metrics
}

// Index is the on-disk post index with its counters. Apply is called by
// one writer; Search and Trend may run concurrently with it.
type Index struct {
	bleve    bleve.Index
	counters *counters
	log      *slog.Logger
	metrics  *Metrics

	writeMu sync.Mutex
	mu      sync.RWMutex
	offsets map[int]int64 // partition -> next offset the Bleve index applies

	instance string
}

// internal key under which the Bleve index records its applied offsets, in
// the same batch as the documents.
var keyBleveOffsets = []byte("downsignal.offsets")

// Open opens the index in o.Dir, creating it on first use.
func Open(o Options) (*Index, error) {
	if o.Dir == "" {
		return nil, errors.New("index: empty directory")
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	path := filepath.Join(o.Dir, "posts.bleve")
	// bolt_timeout: a second process opening the same index fails fast
	// instead of blocking forever on the lock.
	runtime := map[string]any{"bolt_timeout": "5s"}
	bi, err := bleve.OpenUsing(path, runtime)
	if errors.Is(err, bleve.ErrorIndexPathDoesNotExist) {
		bi, err = bleve.NewUsing(path, newMapping(), bleve.Config.DefaultIndexType, bleve.Config.DefaultKVStore, runtime)
	}
	if err != nil {
		return nil, fmt.Errorf("index: open %s: %w", path, err)
	}
	instance, err := instanceID(bi)
	if err != nil {
		bi.Close()
		return nil, err
	}
	offsets := map[int]int64{}
	if b, err := bi.GetInternal(keyBleveOffsets); err != nil {
		bi.Close()
		return nil, fmt.Errorf("index: read offsets: %w", err)
	} else if b != nil {
		if err := json.Unmarshal(b, &offsets); err != nil {
			bi.Close()
			return nil, fmt.Errorf("index: read offsets: %w", err)
		}
	}
	ctr, err := openCounters(filepath.Join(o.Dir, "counters.db"))
	if err != nil {
		bi.Close()
		return nil, err
	}
	return &Index{bleve: bi, counters: ctr, log: o.Logger, metrics: o.Metrics, offsets: offsets, instance: instance}, nil
}

var keyInstance = []byte("downsignal.instance")

// instanceID returns the index's random identity, created with the index.
func instanceID(bi bleve.Index) (string, error) {
	b, err := bi.GetInternal(keyInstance)
	if err != nil {
		return "", fmt.Errorf("index: read instance id: %w", err)
	}
	if len(b) > 0 {
		return string(b), nil
	}
	id := rand.Text()[:16]
	if err := bi.SetInternal(keyInstance, []byte(id)); err != nil {
		return "", fmt.Errorf("index: write instance id: %w", err)
	}
	return id, nil
}

// InstanceID identifies this index on disk. The index stage uses it in its
// consumer group name, so a new or rebuilt index reads the topic from the
// start and every replica consumes everything.
func (x *Index) InstanceID() string { return x.instance }

// Close closes the index and the counter store.
func (x *Index) Close() error {
	x.writeMu.Lock()
	defer x.writeMu.Unlock()
	return errors.Join(x.bleve.Close(), x.counters.close())
}

// Position returns, per partition of downsignal.signals, the offset after
// the last record both the index and the counters have applied.
func (x *Index) Position() map[int]int64 {
	x.mu.RLock()
	pos := cloneOffsets(x.offsets)
	x.mu.RUnlock()
	for p, o := range x.counters.position() {
		if cur, ok := pos[p]; !ok || o < cur {
			pos[p] = o
		}
	}
	return pos
}

// Change is one signal record with its place in the topic.
type change struct {
	partition int
	offset    int64
	sig       classify.Signal
}

// apply makes one batch durable in the counters and then in Bleve. Each
// skips what it already applied, so a batch delivered again after a crash
// between the two writes completes the one that lagged.
func (x *Index) apply(ctx context.Context, changes []change) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	x.writeMu.Lock()
	defer x.writeMu.Unlock()
	start := time.Now()

	tombstoned, err := x.counters.apply(changes)
	if err != nil {
		return err
	}

	x.mu.RLock()
	offsets := cloneOffsets(x.offsets)
	x.mu.RUnlock()
	from := cloneOffsets(offsets)

	batch := x.bleve.NewBatch()
	var indexed, deleted int
	for i := range changes {
		ch := &changes[i]
		if ch.offset < from[ch.partition] {
			continue
		}
		offsets[ch.partition] = max(offsets[ch.partition], ch.offset+1)
		ev := &ch.sig.Event
		switch ev.Kind {
		case ingest.KindPost:
			if tombstoned[ev.URI] {
				batch.Delete(ev.URI)
				continue
			}
			if err := batch.Index(ev.URI, newDoc(&ch.sig)); err != nil {
				return fmt.Errorf("index %s: %w", ev.URI, err)
			}
			indexed++
		case ingest.KindDelete:
			batch.Delete(ev.URI)
			deleted++
		}
	}
	ob, err := json.Marshal(offsets)
	if err != nil {
		return err
	}
	batch.SetInternal(keyBleveOffsets, ob)
	if err := x.bleve.Batch(batch); err != nil {
		return fmt.Errorf("index batch: %w", err)
	}
	x.mu.Lock()
	x.offsets = offsets
	x.mu.Unlock()
	x.metrics.batch(indexed, deleted, time.Since(start))
	return nil
}

// document is what Bleve stores for a post.
type document struct {
	URI       string    `json:"uri"`
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
	Services   []classify.ServiceHit `json:"services"`
	ErrorCodes []classify.ErrorCode  `json:"error_codes"`
	Regions    []classify.Region     `json:"regions,omitempty"`
}

func newDoc(sig *classify.Signal) *document {
	ev, r := &sig.Event, sig.Result
	d := &document{
		URI: ev.URI, Author: ev.DID, Text: ev.Text, Time: ev.Time, CreatedAt: ev.CreatedAt,
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
	b, _ := json.Marshal(detail{Services: r.Services, ErrorCodes: r.ErrorCodes, Regions: r.Regions})
	d.Detail = string(b)
	return d
}
