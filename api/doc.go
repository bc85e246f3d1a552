// Package api is downsignal's HTTP interface for analysts and machines:
// full-text search over indexed posts (filters, relevance or time order,
// highlights, facets, cursor pages, NDJSON/CSV export, one post by
// at-URI), trends over the per-minute counters with expected levels and
// anomaly scores, the services and error codes rising now, the service
// catalog with each service's state, the OpenAPI 3 document
// (/v1/openapi.json), and the operational endpoints (/healthz, /readyz,
// /metrics), and the alerting endpoints: incidents with their timelines,
// silences, and webhook endpoints with their deliveries (administrative).
//
// It owns request parsing and validation (untrusted input gets a 400 with
// {"error": "..."} that says what was wrong, and names the cost limit a
// search exceeded; every other error is JSON too, the 431 and 400 that
// net/http writes itself included, see conn.go), the one route list that
// the server registers and the OpenAPI test reads (routes.go), response
// shapes, the cross-cutting middleware (request
// ids, access logs, metrics, CORS, gzip, per-client rate limits, the admin
// token that every state-changing method needs) and the server's
// lifecycle. It does not know how posts are stored: it talks to small
// interfaces that package index satisfies, resolves service names through
// the service catalog (package catalog, not the classifier), and takes
// incident states from the detector through the optional IncidentStates
// interface.
package api
