// Package apptest is a test harness that runs the whole downsignal program
// in-process: app.Build and app.Run as main calls them, over real loopback
// HTTP and the embedded Kafka broker, with the logs captured. Tests talk
// to it as a client would, through the API, and stop it as SIGTERM would.
//
// It owns the pieces every end-to-end test needs (starting and stopping a
// process, waiting for a replay to be searchable, JSON requests, replay
// files in Jetstream's format) and nothing of any one test: assertions,
// scripted receivers and record shapes stay with the tests.
//
// It is for tests only; nothing outside _test.go files imports it.
package apptest
