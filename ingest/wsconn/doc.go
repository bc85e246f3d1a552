// Package wsconn is the WebSocket session and reconnect loop that the live
// sources (ingest/jetstream, ingest/firehose) share: dial, read messages up
// to a size limit, reconnect when nothing arrives for StallTimeout, and back
// off with jitter between attempts, failing over between endpoints when a
// source has several. The delay grows while the stream keeps failing, but
// for a stream that was healthy minutes ago only to a few seconds, so it is
// rejoined within seconds of its return; a refused dial after a long wait
// is retried at once. Sessions that begin and end are told to an Observer
// (package health keeps the stream's state for GET /v1/status).
//
// A message over the size limit is drained and skipped without losing the
// connection, and so the stream's position. A read error, a stall or a
// failed dial ends the session and is counted in reconnects_total by
// reason. Run returns only when its context ends: every wait is a timer the
// context cancels, and the end of the context closes the socket, the only
// way to interrupt a blocked read.
//
// It knows no protocol and logs nothing. A source supplies a Handler: the
// URL to dial (with its cursor), what to do with a message, and, when a
// session ends, whether the protocol has a reason of its own (a relay's
// error frame) and what to change before the next one; the Handler logs
// connections, skips and retries in the protocol's words. Decoding, cursors
// and emitting items are the sources' business. It imports nothing of
// downsignal's: what it counts goes through the small Metrics interface,
// which *ingest.Metrics implements.
package wsconn
