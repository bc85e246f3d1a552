// Package webhook delivers incident changes, and changes of the post
// source's health (source.stalled, source.recovered), to the endpoints users
// register, so that a receiver can trust what it gets: every request is
// signed the Standard Webhooks way (webhook-id, webhook-timestamp,
// webhook-signature with v1 HMAC-SHA256 under a per-endpoint whsec_
// secret, both signatures while a secret rotates), rendered in the format
// the receiver speaks (native JSON, Alertmanager webhook v4, Slack,
// Microsoft Teams Workflows Adaptive Card, Discord, PagerDuty Events v2),
// and kept in a persistent outbox until a 2xx answer, so nothing is lost
// across restarts.
//
// Delivery retries on the wall clock for about three days with backoff
// and jitter, honours Retry-After, never follows redirects, times out,
// opens a circuit breaker per endpoint, disables an endpoint at once on
// 410 Gone and after long failure. Addresses are checked against SSRF at
// registration and again at connect time (private, loopback, link-local
// and metadata addresses are refused unless the operator allows them).
//
// Order: per endpoint and incident, changes leave in the order the
// detector made them (the incident's seq), retries included. Deliveries of
// one endpoint and subject form a queue in the bbolt store, changed in the
// same transaction as the outbox; only its head is attempted, so a later
// change waits behind an earlier one that is still being retried. When its
// turn comes, an incident.updated with a later update or the resolve queued
// behind it is superseded (settled unsent: the later one carries the whole
// state), and so is any change older than one already delivered to the
// endpoint, so nothing follows a resolve, not even a redelivery. Firings,
// resolves and source events are never superseded. A crash mid-request
// leaves the head pending: it is sent again with the same webhook-id
// before anything behind it. order.go holds the rules.
//
// Several replicas: with an Owner, deliveries to configured endpoints are
// sent only by the replica that owns their incident, and their settling
// is shared with the other replicas (share.go, package notify).
//
// The package reads incident changes from package detect's event log; it
// never decides what is an incident.
package webhook
