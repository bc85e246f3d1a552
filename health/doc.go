// Package health follows whether the stream of posts is whole: the post
// source's state (connecting, live, reconnecting, stalled, replaying,
// done), its last error, when its last post arrived and how fast posts
// come, and how far each consuming stage has read. It backs GET /v1/status,
// the dashboard's banner, the source.stalled and source.recovered webhooks
// and the last-post gauge the deploy/ alert rules watch.
//
// An outage detector that shows nothing when its input dried up says "all
// clear" at the worst moment; this package is how every reader of the data
// can tell silence from health. It is a leaf: standard library only.
package health
