// Package ingest brings public Bluesky posts into downsignal.
//
// A Source (Jetstream, a replay file, later the relay firehose) turns the
// network's events into Events: one normalized, versioned record per post
// create, post delete or account status change. The Stage produces those
// Events into the downsignal.posts topic, keyed by author DID so that one
// author's events stay in order, and saves the source's cursor only after
// Kafka acknowledged every event before it. A restart resumes from that
// cursor: events may be produced twice, never skipped. Downstream stages
// treat the at-URI as the identity of a post, so duplicates are harmless.
//
// Event is the schema of downsignal.posts; this package owns it, versions it
// (Event.V) and keeps a golden sample in testdata. Ingest knows nothing of
// classification, indexing or the API.
package ingest
