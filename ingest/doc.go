// Package ingest brings public Bluesky posts into downsignal. It defines
// what a source is (Source, Item, Emit), keeps the Stage that produces a
// source's events into Kafka with their cursors (CursorStore), and holds
// what every protocol shares: the cleaning of a post's untrusted fields and
// the metrics common to all sources.
//
// A Source turns the network's events into record.Events: one normalized,
// versioned record per post create or update, post delete, account status
// change, or repository reset. There is one package per protocol:
//
//   - ingest/jetstream (the default) follows Jetstream v1 endpoints; its
//     cursor is time_us.
//   - ingest/firehose follows a relay's com.atproto.sync.subscribeRepos; its
//     cursor is the relay's seq, kept per relay host. Its subpackages verify
//     commits (ingest/firehose/verify) and fetch repositories to answer a
//     #sync (ingest/firehose/resync).
//   - ingest/replay reads a file of Jetstream v1 lines; its cursor is a line
//     number in one version of the file: an Identified source's identity is
//     saved with its cursor, and a changed input is read from the start.
//
// The two live sources share one WebSocket session and reconnect loop,
// ingest/wsconn. Every source sends a post's fields through SetPost and
// checks DIDs and record keys with ValidDID and ValidRecordKey (atproto's
// syntax, from indigo), so a post reads the same whichever way it came; a
// message that does not decode is counted, logged (rate-limited by a
// LimitedLog) and skipped: a bad message never stops the stream.
//
// The Stage produces record.Events into the downsignal.posts topic (through
// package broker), keyed by author DID so that one author's events stay in
// order, and saves the source's cursor only after Kafka acknowledged every
// event before it. A restart resumes from that cursor: events may be
// produced twice, never skipped. The saved cursor is the last acknowledged
// item's, not the largest seen, because a source may move its cursor back
// (Jetstream's rewind, a relay that refused a cursor from another relay).
//
// Back-pressure: a slow Kafka fills the Stage's bounded buffer, which blocks
// Emit, which blocks the source, which stops reading the socket. Nothing
// queues without bound; a relay that drops us for that (ConsumerTooSlow) is
// rejoined from the cursor.
//
// Running several ingest workers (downsignal ingest more than once, each
// with its own data directory, or even sharing one) is safe: each reads the
// whole stream and produces every event, so downstream sees duplicates,
// never gaps, and absorbs them by at-URI (a post is one document, counted
// once; a deleted URI is tombstoned and never re-created by a late
// duplicate). Any saved cursor is a true "everything up to here is in
// Kafka", so workers sharing a cursor file may resume early, never past a
// missing event. The cost is N times the produce volume.
//
// record.Event is the schema of downsignal.posts; package record owns it,
// versions it (Event.V) and keeps its golden samples, which the sample
// Jetstream messages of ingest/jetstream must decode to byte for byte.
//
// This package knows no wire protocol (no WebSocket, JSON or CBOR framing),
// talks to Kafka only through package broker, and knows nothing of
// classification, indexing or the API.
package ingest
