// Package boltkv holds the bbolt idioms downsignal's stores share, so each
// is written once: a key that mirrors an entry of the store's state in
// memory (written back when the entry is there, deleted when it has gone)
// and values kept as JSON.
//
// It owns no file, no bucket and no schema: detect and webhook open their
// own bbolt files, name their buckets and decide what a value means and
// when a transaction commits. Every function here runs inside the
// caller's transaction and returns bbolt's and encoding/json's errors
// unwrapped (ForEachJSON adds the key) for the caller to put in context.
package boltkv
