// Package app wires downsignal's stages into one process: the embedded
// broker or a real cluster, ingest, classify, index and the HTTP API, in
// whichever combination a subcommand asks for ("run" is all of them).
//
// It owns start-up order (broker, topics, index, then stages), the
// shutdown order (stop the source, flush ingest, finish classify's
// in-flight batch, make the index's batch durable, close the index, then
// stop HTTP), and the "exit after replay" barrier. It never touches signals
// or exits the process, so tests run the whole program in-process exactly
// as main does: Build, Run, Close.
package app
