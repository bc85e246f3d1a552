// Package notify makes N serve replicas notify once. Every replica's
// detector makes the same incident changes from the same signals and
// every replica's webhook dispatcher fans them out into its own outbox,
// under the same webhook-ids.
//
// The Publisher produces each replica's changes to downsignal.incidents
// (record.Change, keyed by incident, so an incident's changes stay in one
// partition and in order). Publishing is at least once: the Publisher
// keeps a cursor into its detector's event log and saves it only after
// every in-sync replica acknowledged the records before it, so a crash
// repeats records, never skips them. A rebuilt detector store (another
// instance id) numbers its log from 1 again: the cursor restarts with it.
//
// The Notifier decides which replica sends: the replicas form the
// consumer group downsignal-notify on downsignal.incidents, and the member
// assigned the partition an incident is keyed to sends its deliveries
// (the dispatcher asks it through webhook.Owner). Settled deliveries are
// shared over downsignal.notify-state (record.Settle), which every
// replica follows, so the member that takes an incident over sends only
// what is unsettled. docs/architecture.md ("One notifier") has the whole
// design and its one repeat window.
//
// The package never decides what an incident is (package detect does) nor
// how a receiver is reached (package webhook does).
package notify
