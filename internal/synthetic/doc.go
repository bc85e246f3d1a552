// Package synthetic writes realistic, reproducible Jetstream v1 captures:
// ordinary chatter in several languages with a daily rhythm, posts that
// mention services without reporting anything, and outage reports that
// quote error codes, and on request an outage's complaints rising, holding
// and fading (Incident). Demo is the capture the README replays: four hours
// with an Outlook and Teams outage that the whole pipeline alerts on.
// Benchmarks and load tests replay captures through the pipeline; the
// capturegen command writes one to a file.
//
// The posts are invented, never copied from the network, and the same
// seed always writes the same capture.
package synthetic
