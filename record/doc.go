// Package record is the wire contract between downsignal's stages: the
// records of the two Kafka topics and how they are validated.
//
//   - downsignal.posts carries [Event] (version [EventVersion]): a post
//     created, a post deleted, an account's status, or a repository reset,
//     keyed by author DID so one author's events stay in order. ingest
//     produces it; classify consumes it.
//   - downsignal.signals carries [Signal] (version [SignalVersion]): the
//     event as it arrived and, for a post, the classifier's [Result].
//     classify produces it; index and detect consume it.
//
// A consumer decodes with [DecodeEvent] or [DecodeSignal], which reject a
// version they do not know and anything [Event.Validate] refuses, rather
// than guess. Validate refuses an event time before 1970 or more than
// [MaxFutureSkew] after the wall clock (the only clock read here: a record
// valid when produced stays valid later); [PlausibleCreatedAt] is the rule
// ingest keeps a post's createdAt by. [Delivery] is a decoded record with its topic [Position].
//
// The package imports nothing of downsignal's and no transport, so a read
// model links only what it uses (not WebSocket, CBOR or the classifier).
// The kinds of event are listed once, in kindChecks; docs/architecture.md
// says what else a new kind needs. Golden samples of both records live in
// testdata/ and must keep decoding byte for byte.
package record
