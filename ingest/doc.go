// Package ingest brings public Bluesky posts into downsignal.
//
// A Source turns the network's events into Events: one normalized,
// versioned record per post create or update, post delete, account
// status change, or repository reset. There are three:
//
//   - Jetstream (the default) follows Jetstream v1 endpoints, asking only for
//     app.bsky.feed.post (account events come whatever the filter),
//     optionally zstd-compressed with Jetstream's dictionary, and fails over
//     between endpoints. Its cursor is time_us, rewound a few seconds on
//     every reconnect because instances stamp time with their own clocks.
//   - Firehose follows a relay's com.atproto.sync.subscribeRepos: it reads
//     #commit frames with indigo's lexicon types and a small CAR reader,
//     turns post ops into events and #account into account events, skips
//     #identity, and handles #info OutdatedCursor and the error frames
//     FutureCursor and ConsumerTooSlow (see Firehose). Its cursor is the
//     relay's seq, kept per relay host. With a CommitVerifier (package
//     ingest/verify) every commit's signature and MST proof are checked.
//     A #sync says an account's repository changed in a way no commit
//     described; with a RepoFetcher (package ingest/resync) the firehose
//     fetches the repository, emits its posts again and a reset event
//     listing them, and the index drops the account's posts not listed.
//     Without one, or over the fetch rate, a #sync is counted and skipped.
//   - Replay reads a file of Jetstream v1 lines; its cursor is a line number.
//
// Both live sources reconnect with jittered exponential backoff, reconnect
// when nothing arrives for StallTimeout, read messages up to a size limit
// (larger ones are drained and skipped without losing the connection), and
// count, log (rate-limited, bounded fields) and skip whatever does not
// decode: a bad message never stops the stream.
//
// The Stage produces record.Events into the downsignal.posts topic (through
// package broker), keyed by
// author DID so that one author's events stay in order, and saves the
// source's cursor only after Kafka acknowledged every event before it. A
// restart resumes from that cursor: events may be produced twice, never
// skipped. A slow Kafka fills the Stage's bounded buffer, which blocks the
// source, which stops reading the socket; a relay that drops us for that
// (ConsumerTooSlow) is rejoined from the cursor.
//
// Running several ingest workers (downsignal ingest more than once, each
// with its own data directory, or even sharing one) is safe: each reads the
// whole stream and produces every event, so downstream sees duplicates,
// never gaps, and absorbs them by at-URI (a post is one document, counted
// once; a deleted URI is tombstoned and never re-created by a late
// duplicate). Any saved cursor is a true "everything up to here is in
// Kafka", so workers sharing a cursor file may resume early, never past a
// missing event.
// The cost is N times the produce volume.
//
// record.Event is the schema of downsignal.posts; this package owns it, versions it
// (Event.V) and keeps a golden sample in testdata. Ingest knows nothing of
// classification, indexing or the API.
package ingest
