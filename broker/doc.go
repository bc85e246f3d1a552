// Package broker owns downsignal's use of Kafka: the topic layout and its
// configs, the writer and reader settings every stage shares, and the
// embedded Kafka-protocol broker that "downsignal run" starts when no
// cluster is given.
//
// The settings here exist because kafka-go's defaults are wrong for a
// pipeline that must not lose records: writers wait for every in-sync
// replica (RequireAll) and flush after a few milliseconds instead of a
// second, and readers give up a fetch after a short MaxWait so that Close
// and shutdown stay quick. Topics are created explicitly with partition
// counts and retention; nothing relies on auto-creation.
//
// The package does not know what the records mean: each producing stage
// owns the schema of its topic (ingest for posts, classify for signals).
package broker
