// Package ingesttest runs fake Bluesky services on loopback for tests, the
// way net/http/httptest runs HTTP servers: a relay serving
// com.atproto.sync.subscribeRepos with real signed commits (built with
// indigo's repository, MST and crypto packages, so indigo's own
// verification accepts them), a PDS serving repositories, and a Jetstream
// v1 instance. They speak the real protocols over real WebSockets, keep a
// history for cursor resumes and can drop, stall or fail their clients on
// demand.
//
// It also holds what the tests of every ingest package share: running a
// source into a Collector, reading a metric back, checking decoded events
// against the pipeline's rules, and reading the real recorded Bluesky data
// that lives beside the repository (never in it).
//
// It knows nothing of any protocol's decoder or source. Only tests import
// it; the downsignal binary does not link it.
package ingesttest
