// Package replay is the source that reads a file of Jetstream v1 JSON lines
// (a capture, or a synthetic feed) instead of the network. It decodes each
// line with package ingest/jetstream, so a replayed post is the event the
// live source would have made of it.
//
// Its cursor is the number of lines consumed: a restart continues after the
// last line Kafka acknowledged. The cursor is tied to the file's identity
// (its size and a hash of its first 64 KiB, saved beside it): another
// capture written to the same path is replayed from the start, with a
// warning, instead of losing as many lines as the old file had.
//
// A replay is finite; Run returns nil at the end of the file and the Stage
// reports it exhausted. With a speed it paces itself by the lines' time_us,
// otherwise it goes as fast as the pipeline takes it (the blocking Emit is
// the only brake).
//
// It owns no metrics of its own and no protocol: a line that does not decode
// is counted and skipped, as on the socket.
package replay
