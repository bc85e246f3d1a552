// Package webhook delivers incident changes to the endpoints users
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
// The package reads incident changes from package detect's event log; it
// never decides what is an incident.
package webhook
