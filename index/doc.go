// Package index is downsignal's read model: it consumes classified posts
// from downsignal.signals into an on-disk Bleve index (document ID = the
// post's at-URI) and keeps per-service, per-minute counters beside it, and
// answers search and trend queries from them.
//
// Exactly-once from an at-least-once topic: the Bleve index and the counter
// store each record, in the same write as their data, the Kafka offset they
// have applied up to, and skip anything at or below it when Kafka delivers
// it again. Duplicates that arrive at new offsets (an ingest worker
// rewinding its cursor) are absorbed by identity: a post is indexed under
// its at-URI, counted once (the counter store remembers what it counted),
// and a deleted URI is remembered so a late duplicate cannot bring it back.
//
// Trends come from the counters, never from Bleve facets, which are far
// too slow at one-minute resolution over a day.
//
// The package does not classify and does not speak HTTP.
package index
