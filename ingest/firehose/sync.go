package firehose

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	comatproto "github.com/bluesky-social/indigo/api/atproto"
	"github.com/bluesky-social/indigo/api/bsky"
	"golang.org/x/time/rate"

	"github.com/downsignal/downsignal/ingest"
	"github.com/downsignal/downsignal/record"
)

// RepoRecord is one post record of an account's repository.
type RepoRecord struct {
	RKey string
	CID  string
	Data []byte // the record, DAG-CBOR
}

// RepoFetcher fetches the posts an account's repository holds now
// (com.atproto.sync.getRepo from its PDS). It is how the firehose answers a
// #sync: the relay says the repository changed in a way no commit
// described, so the only way to learn what was deleted is to look. Package
// firehose/resync is the real one.
type RepoFetcher interface {
	RepoPosts(ctx context.Context, did string) ([]RepoRecord, error)
}

// ResyncOptions limits how often the firehose fetches repositories. A
// relay may send many #sync events at once (after its own outage, or a PDS
// migrating thousands of accounts); a fetch takes the read loop's time, so
// the ones over the limit are counted and skipped rather than getting the
// stream dropped for slowness.
type ResyncOptions struct {
	// Rate and Burst bound fetches per second. Defaults 2 and 5.
	Rate  float64
	Burst int
	// Every is the least time between two fetches of one account.
	// Default 10 minutes.
	Every time.Duration
	// Timeout bounds one fetch. Default 10 s: the relay keeps sending
	// meanwhile, and a reader that falls too far behind is dropped (and
	// rejoins from its cursor, so nothing is lost but time).
	Timeout time.Duration
}

// resyncGate decides whether a #sync is answered now.
type resyncGate struct {
	o      ResyncOptions
	lim    *rate.Limiter
	mu     sync.Mutex
	recent map[string]time.Time
}

// maxRecentResyncs bounds the per-account memory of the gate.
const maxRecentResyncs = 50_000

func newResyncGate(o ResyncOptions) *resyncGate {
	if o.Rate <= 0 {
		o.Rate = 2
	}
	if o.Burst <= 0 {
		o.Burst = 5
	}
	if o.Every <= 0 {
		o.Every = 10 * time.Minute
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	return &resyncGate{o: o, lim: rate.NewLimiter(rate.Limit(o.Rate), o.Burst), recent: map[string]time.Time{}}
}

// allow reports whether did may be fetched now, and records it if so.
func (g *resyncGate) allow(did string, now time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if t, ok := g.recent[did]; ok && now.Sub(t) < g.o.Every {
		return false
	}
	if !g.lim.AllowN(now, 1) {
		return false
	}
	if len(g.recent) >= maxRecentResyncs {
		for k, t := range g.recent {
			if now.Sub(t) >= g.o.Every {
				delete(g.recent, k)
			}
		}
		if len(g.recent) >= maxRecentResyncs {
			clear(g.recent)
		}
	}
	g.recent[did] = now
	return true
}

// failed forgets a fetch that did not succeed, so the account's next #sync
// tries again (the rate limit still applies).
func (g *resyncGate) failed(did string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.recent, did)
}

// resetEvents turns a fetched repository into events: a post event for
// each post it holds (the newest record.MaxResetKeep), then one reset event that
// tells the index which of the account's posts still exist. A post's event
// time is its createdAt, never later than the #sync itself.
func resetEvents(did string, at time.Time, recs []RepoRecord, source string) ([]record.Event, []error) {
	// Post record keys are TIDs, which sort by time: newest first.
	slices.SortFunc(recs, func(a, b RepoRecord) int { return cmp.Compare(b.RKey, a.RKey) })
	var (
		evs  []record.Event
		errs []error
		keep []string
		size int
	)
	truncated := false
	for _, r := range recs {
		if !ingest.ValidRecordKey(r.RKey) {
			errs = append(errs, fmt.Errorf("repo %s: bad record key %q", did, record.Bounded(r.RKey)))
			continue
		}
		if len(keep) == record.MaxResetKeep || size+len(r.RKey) > record.MaxKeepBytes {
			truncated = true
			break
		}
		keep = append(keep, r.RKey)
		size += len(r.RKey)
		ev, err := repoPost(did, at, r, source)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		evs = append(evs, ev)
	}
	reset := record.Event{V: record.EventVersion, Kind: record.KindReset, DID: did, Time: at, Keep: keep, Source: source}
	if truncated && len(keep) > 0 {
		reset.KeepFrom = keep[len(keep)-1]
	}
	if err := reset.Validate(); err != nil {
		return nil, append(errs, fmt.Errorf("repo %s: %w", did, err))
	}
	return append(evs, reset), errs
}

// repoPost decodes one post record of a fetched repository.
func repoPost(did string, at time.Time, r RepoRecord, source string) (record.Event, error) {
	ev := record.Event{V: record.EventVersion, Kind: record.KindPost, DID: did, URI: record.PostURI(did, r.RKey), CID: ingest.CleanField(r.CID), Time: at, Source: source}
	var rec bsky.FeedPost
	if err := rec.UnmarshalCBOR(bytes.NewReader(r.Data)); err != nil {
		return record.Event{}, fmt.Errorf("repo post %s: %w", record.Bounded(ev.URI), err)
	}
	ingest.SetPost(&ev, feedPostFields(&rec))
	if !ev.CreatedAt.IsZero() && ev.CreatedAt.Before(at) {
		ev.Time = ev.CreatedAt
	}
	if err := ev.Validate(); err != nil {
		return record.Event{}, fmt.Errorf("repo post %s: %w", record.Bounded(ev.URI), err)
	}
	return ev, nil
}

// resync answers a #sync: it fetches the account's repository and returns
// its posts and a reset event, in that order. A failed or refused fetch is
// counted, logged and skipped; only the end of ctx is an error. The events
// carry the #sync's position, so a crash before Kafka has them fetches the
// repository again after the restart.
func (f *Source) resync(ctx context.Context, e *comatproto.SyncSubscribeRepos_Sync) ([]record.Event, error) {
	m := f.o.Metrics
	now := time.Now()
	if !f.gate.allow(e.Did, now) {
		m.resync(sourceLabel, "skipped")
		f.warn.Warn("relay #sync not answered: repository fetched recently or fetch rate reached", "did", e.Did, "seq", e.Seq)
		return nil, nil
	}
	fctx, cancel := context.WithTimeout(ctx, f.gate.o.Timeout)
	recs, err := f.o.Resync.RepoPosts(fctx, e.Did)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		m.resync(sourceLabel, "failed")
		f.gate.failed(e.Did)
		f.warn.Warn("relay #sync not answered: repository fetch failed", "did", e.Did, "seq", e.Seq, "err", record.Bounded(err.Error()))
		return nil, nil
	}
	evs, errs := resetEvents(e.Did, relayTime(e.Time, now.UTC()), recs, sourceLabel)
	for _, err := range errs {
		f.m.DecodeError(sourceLabel, "record")
		f.warn.Warn("skip repository record", "seq", e.Seq, "err", record.Bounded(err.Error()))
	}
	if len(evs) == 0 {
		m.resync(sourceLabel, "failed")
		return nil, nil
	}
	m.resync(sourceLabel, "done")
	f.log.Info("relay #sync answered: repository fetched", "did", e.Did, "seq", e.Seq, "posts", len(evs)-1, "records", len(recs))
	return evs, nil
}
