// Package firehose is the relay source: it follows a relay's
// com.atproto.sync.subscribeRepos stream and emits the posts, post deletes,
// account changes and repository resets in it.
//
// frame.go and car.go decode frames: #commit with indigo's lexicon types and
// a small CAR reader, post ops into events and #account into account
// events; #identity is skipped. source.go reads them from the relay and
// handles #info OutdatedCursor and the error frames FutureCursor and
// ConsumerTooSlow. sync.go answers #sync.
//
// The cursor is the relay's seq, kept per relay host (Name is
// "firehose:<host>": sequence numbers mean nothing to another relay). The
// last event of a frame carries the frame's seq and the others seq-1, so a
// restart after any of them re-reads the whole frame: duplicates, never a
// gap. A relay that refuses our cursor (FutureCursor: it is another relay;
// OutdatedCursor: it lost that much history) cannot be waited out: the
// source follows it live from then on and counts the loss in gaps_total.
// A relay that drops us for reading too slowly (ConsumerTooSlow, because
// the Stage's full buffer blocked the source) is rejoined from the cursor.
//
// With a CommitVerifier (package ingest/firehose/verify) every commit's
// signature and MST proof are checked, and a commit that fails is counted
// and skipped. A #sync says an account's repository changed in a way no
// commit described; with a RepoFetcher (package ingest/firehose/resync) the
// source fetches the repository, emits its posts again and a reset event
// listing them, and the index drops the account's posts not listed.
// Fetches take the read loop's time, so they are rate-limited
// (ResyncOptions); over the limit, or without a fetcher, a #sync is counted
// and skipped.
//
// Metrics holds the relay's own metrics (error frames, gaps, verification,
// #sync answers) and passes the shared ones through to package ingest.
//
// Not here: verify and resync are packages of their own because indigo's
// repository code brings about forty modules this one does without; the
// WebSocket session and reconnect loop is ingest/wsconn; post-field
// cleaning is package ingest's, shared with Jetstream.
package firehose
