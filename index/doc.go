// Package index is downsignal's read model: it consumes classified posts
// from downsignal.signals into on-disk Bleve indexes, one per UTC day of
// event time (document ID = the post's at-URI), keeps per-minute counters
// beside them, and answers search and trend queries.
//
// # Layout
//
//	DIR/state.db             bbolt: ledger, tombstones, inactive accounts,
//	                         counters, error codes, offsets, watermark
//	DIR/days/2026-01-22.bleve one Bleve index per day, each with its own
//	                         applied offsets as an internal key
//
// Searches run over the days their time range touches; sorted by time
// they read the newest day first and only count matches in the older ones
// once the page is full. Retention drops whole days (close, remove the
// directory) older than the retention before the newest event indexed, so
// a replay of an old incident keeps its hour.
//
// # What Bleve keeps
//
// With Options.Posts PostsRelevant (the default) only the posts Relevant
// accepts go to Bleve: those that name a service, quote an error code or
// carry a failure cue, about one in ten. Every post, kept or not, is
// counted and has a ledger entry (marked unindexed), so the whole-stream
// series, a delete, an edit and a redelivery treat it exactly like a kept
// one; an edit can move a post into Bleve or out of it. A takedown or a
// reset finds an account's posts in Bleve, so it takes back the counts of
// the kept ones only: the rest stay in the whole-stream volume.
//
// # Exactly once from an at-least-once topic, across partitions
//
// Kafka delivers every record at least once, in order per partition, and
// redelivers from the last committed offset after a crash; the consumer
// commits only after Handle returns. A batch is applied in two steps:
//
//  1. One bbolt transaction (state.db) plans the batch and applies it to
//     the ledger and the counters, with the offsets it covers. The ledger
//     is the single source of decisions: for each post it records the day
//     partition the post lives in (and the day it moved from, when an edit
//     a day later moved it) and what it added to the counters; tombstones
//     record deleted URIs with their day; the accounts bucket records
//     inactive accounts. Records below the stored offsets are not applied
//     again, but still produce their writes, read back from the ledger.
//  2. Each day partition the plan touches gets one Bleve batch with its
//     documents and its own offsets (internal key, same batch, so both are
//     durable together or not at all), and skips writes below them.
//
// Why this is exactly once at a kill -9 anywhere: a partition's offsets
// mean "every record below this that is routed to me is applied", which
// holds because its batch is atomic and batches run one after another. A
// crash before step 1 commits changes nothing. A crash after step 1, or
// between two partitions, leaves some partitions behind the ledger; the
// redelivered records are below the ledger's offsets, so the plan does not
// count them again but reads their decision (partition, or skip) from the
// ledger, and every partition that missed them applies them while those
// that had them skip them. A partition's offsets are raised only to the
// end of the records it was actually handed, never to the ledger's, since
// a redelivery may be cut into shorter batches. Documents are keyed by
// at-URI, so a duplicate at a new offset overwrites itself, and the ledger
// routes it to the day the post already lives in. A tombstoned URI is never
// indexed or counted again. Position is the least offset the ledger and
// the partitions of the latest batch reached (the ledger records which
// partitions that batch wrote).
//
// # Account events
//
// A takedown, suspension, deactivation or deletion (account event with
// active=false) removes every post of the account from the partitions and
// from the counters, including posts earlier in the same batch, and posts
// that arrive while the account is inactive are neither indexed nor
// counted. Posts are not kept aside: a reactivation (active=true) lets new
// posts in again but does not bring old ones back, as an author who
// deactivated, or an account taken down, expects them gone. Removal is
// planned from the current partitions and applied only to partitions that
// have not yet passed the event's offset, so a redelivered takedown never
// removes posts that came after a later reactivation.
//
// A reset event (the firehose's answer to a relay #sync) lists the record
// keys of the posts the account's repository holds now; the account's
// indexed posts not listed (among those at or after KeepFrom when the list
// was cut to the newest) are removed from the partitions and the counters
// the same way. The repository's posts arrive just before it, so they are
// in the list and stay.
//
// # Counters
//
// Per series and minute of event time: outage posts, all posts (mentions)
// and a HyperLogLog sketch of the outage posts' authors, merged across the
// minutes of a step (distinct authors are an estimate, about 1.6 % error,
// exact in practice for small counts; a delete takes its post back from
// posts and mentions but cannot take an author out of a sketch). A series
// is any combination of one service (or any), one error code (or any) and
// one region (or any) a post names, so /v1/trends filters by any of them
// without a facet. Counters are kept at least five weeks (the seasonal
// baseline reads four), in memory and in state.db. Trends, expected
// levels and anomaly scores come from them and package baseline, never from
// Bleve facets, which take seconds at one-minute resolution over a day.
//
// The package does not classify and does not speak HTTP.
package index
