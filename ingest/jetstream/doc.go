// Package jetstream is the Jetstream v1 source. decode.go turns one
// Jetstream JSON message into a record.Event (Decode); source.go follows
// live Jetstream endpoints over WebSocket (Source).
//
// The source asks only for app.bsky.feed.post (account events come whatever
// the filter), optionally zstd-compressed with Jetstream's dictionary, and
// fails over between endpoints (DefaultURLs), backing off only once every
// endpoint failed in a row.
//
// Its cursor is Jetstream's time_us. Every instance stamps it with its own
// wall clock, so one cursor serves all of them (Name is "jetstream"), and it
// is rewound Rewind (default 5 s) on every reconnect, failover included:
// the overlap closes any gap between two instances' clocks and costs only
// duplicates, which downstream absorbs by at-URI. A message without a time
// of its own does not move the cursor.
//
// Decode is also what ingest/replay reads capture files with, and what the
// golden test pins against package record's samples.
//
// Not here: the WebSocket session and reconnect loop (ingest/wsconn), the
// cleaning of post fields (ingest), the replay of files (ingest/replay). It
// has no metrics of its own beyond the ones every source shares.
package jetstream
