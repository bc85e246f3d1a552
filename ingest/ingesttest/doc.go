// Package ingesttest runs fake Bluesky services on loopback for tests, the
// way net/http/httptest runs HTTP servers: a relay serving
// com.atproto.sync.subscribeRepos with real signed commits (built with
// indigo's repository, MST and crypto packages, so indigo's own
// verification accepts them) and a Jetstream v1 instance. Both speak the
// real protocols over real WebSockets, keep a history for cursor resumes
// and can drop, stall or fail their clients on demand.
//
// Only tests import it; the downsignal binary does not link it.
package ingesttest
