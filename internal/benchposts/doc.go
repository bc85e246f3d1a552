// Package benchposts is the synthetic post stream the indexing benchmarks
// share: the index stage alone (index's BenchmarkScale) and the whole run
// pipeline against raw Bleve (app's BenchmarkPipelineVsBleve). Posts are
// evenly spaced in event time, mostly chatter, some naming services, a
// steady trickle of outage reports, and every six hours twenty minutes in
// which Outlook or Teams reports surge with 451 4.3.2. The same seed
// always gives the same posts, so figures from either benchmark compare
// across runs.
//
// It imports classify to turn a post into the signal the classify stage
// would produce, and nothing downstream of it, so index's tests can use it.
package benchposts
