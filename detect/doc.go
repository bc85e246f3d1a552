// Package detect is the outage detector: it turns classified posts into incidents. It it counts, per
// service and minute of event time, the distinct people reporting an
// outage (near-duplicate texts collapsed, so a copy-paste brigade speaks
// with one voice), compares a sliding window with the service's seasonal
// or EWMA baseline (package baseline), and runs each service group (a parent
// such as Microsoft 365 with its children) through pending -> firing ->
// resolved with hysteresis. It suppresses new incidents while ingest has a
// gap or when many unrelated services spike at once, and it keeps
// operator silences.
//
// A baseline forgets outages: the minutes a group spends in an incident,
// from the start of its first window to its resolution, and ingest gaps
// never feed its services' baselines, so after an outage the expected
// level is what it was before, and a second outage the same evening fires
// like the first. BaselineSpans hands those minutes to whoever else shows
// a level (the trends), so both follow one rule.
//
// Everything is driven by event time through a watermark over the
// partitions of downsignal.signals, so a replay of a recorded day yields
// the incidents that the live stream did. State lives in one bbolt file,
// written in one transaction per Kafka batch together with the offsets it
// covers: a crash never counts a post twice or loses an incident change.
//
// Each incident change is appended to an ordered event log (Events) that
// package webhook fans out to endpoints; detect itself never talks to the
// network and knows nothing about delivery formats.
package detect
