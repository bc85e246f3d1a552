// Package replay is the source that reads a file of Jetstream v1 JSON lines
// (a capture, or a synthetic feed) instead of the network. It decodes each
// line with package ingest/jetstream, so a replayed post is the event the
// live source would have made of it.
//
// Its cursor is the number of lines consumed: a restart continues after the
// last line Kafka acknowledged. A replay is finite; Run returns nil at the
// end of the file and the Stage reports it exhausted. With a speed it paces
// itself by the lines' time_us, otherwise it goes as fast as the pipeline
// takes it (the blocking Emit is the only brake).
//
// It owns no metrics of its own and no protocol: a line that does not decode
// is counted and skipped, as on the socket.
package replay
