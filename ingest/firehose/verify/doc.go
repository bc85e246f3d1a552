// Package verify checks relay commits before their posts are trusted: the
// commit's signature against the author's current signing key, and the MST
// proof that the commit's ops turn the previous tree (prevData) into the
// signed one. It wraps indigo's repository verification and owns nothing
// else: the firehose decides what a failed commit costs (it is counted and
// skipped).
//
// It is a package of its own because indigo's repository code brings about
// forty modules (IPFS block and CAR libraries, OpenTelemetry) that the
// firehose, the rest of ingest and every package importing record.Event do
// without. Note that indigo's identity package registers a few metrics on
// Prometheus' default registry when linked; downsignal serves its own
// registry, so they are never exported.
package verify
