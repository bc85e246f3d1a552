// Package synthetic writes realistic, reproducible Jetstream v1 captures:
// ordinary chatter in several languages with a daily rhythm, posts that
// mention services without reporting anything, and outage reports that
// quote error codes. Benchmarks and load tests replay them through the
// pipeline; the capturegen command writes one to a file.
//
// The posts are invented, never copied from the network, and the same
// seed always writes the same capture.
package synthetic
