// Package resync fetches an account's repository for the firehose, which
// answers a relay's #sync with it: it resolves the account's PDS, fetches
// the whole repository (com.atproto.sync.getRepo), optionally checks its
// commit signature, and lists the post records it holds now. The firehose
// then tells the index which of the account's posts were deleted without a
// commit saying so.
//
// It owns the fetch and what makes it safe: a PDS address is written by the
// account's owner, so private, loopback and link-local addresses are
// refused unless allowed, no proxy is used, redirects are checked, and the
// repository is bounded in size. It does not decide when to fetch (the
// firehose rate-limits fetches, since they take its read loop's time) nor
// turn records into events (the firehose decodes them as it decodes
// commits, so a post reads the same either way).
//
// It is a package of its own for the same reason as verify: indigo's
// repository code brings about forty modules the firehose does without.
package resync
