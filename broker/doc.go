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
// It is also the one Kafka adapter of the stages. [Consumer] reads a topic
// in a consumer group, decodes each record (a record that does not decode
// is counted, logged at most every 10 s, and handed on marked Invalid so
// offsets move past it), hands each batch to the stage's Handle and
// commits only after Handle returned: durable, then commit; error, then
// retry the batch. [Producer] writes encoded records and returns once every
// in-sync replica acknowledged them. [Retry] is the one retry loop: until
// it succeeds, then one bounded try after shutdown. [NewLagCollector]
// exports each consuming stage's lag as Kafka counts it, at scrape time.
// Stages import this package, never kafka-go.
//
// The package does not know what the records mean: their schemas live in
// package record, which producers and consumers share.
package broker
