// Package api is downsignal's HTTP interface for analysts and machines: the
// JSON search API over indexed posts, the trend API over per-service
// counters, and the operational endpoints (/healthz, /readyz, /metrics).
//
// It owns request parsing and validation (untrusted input gets a 400 with
// {"error": "..."} that says what was wrong), response shapes, and the HTTP
// server's lifecycle. It does not know how posts are stored: it talks to a
// small Searcher interface that package index satisfies, and resolves
// service names through the classifier's catalog.
package api
