// Package notify makes N serve replicas notify once. Every replica's
// detector makes the same incident changes from the same signals; the
// Publisher produces each replica's changes to downsignal.incidents
// (record.Change, keyed by incident, so an incident's changes stay in one
// partition and in order), and the one notifier consumes that topic in the
// notify group. docs/architecture.md ("One notifier") has the whole design.
//
// Publishing is at least once: the Publisher keeps a cursor into its
// detector's event log and saves it only after every in-sync replica
// acknowledged the records before it, so a crash repeats records, never
// skips them. Repeats, and the copies other replicas produce, are harmless
// because a change's identity (incident id, seq, type) is in the record and
// the notifier derives webhook-ids from it. A rebuilt detector store
// (another instance id) numbers its log from 1 again: the cursor restarts
// with it.
//
// The package never decides what an incident is (package detect does) nor
// how a receiver is reached (package webhook does).
package notify
