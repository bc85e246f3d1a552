// Package classify decides what a post says about online services: which
// services it names (from an embedded catalog), whether it reports one of
// them failing now (outage intent, with a score, recovery and negation
// understood), which error codes it quotes, and which regions it names.
//
// The classifier itself is pure: text in, Result out, no I/O, safe for
// concurrent use. Around it sit two thin shells: Stage, which reads
// downsignal.posts and writes downsignal.signals (whose schema, Signal,
// this package owns), and RunStdin, the "downsignal classify --stdin"
// filter whose JSON-lines contract other tools depend on.
package classify
