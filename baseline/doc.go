// Package baseline holds the statistics downsignal uses to tell a spike of
// complaints from a service's normal level: a seasonal baseline (the same
// minute of the week over past weeks, median and MAD), an EWMA for series
// with too little history, and the scores that compare an observed count
// with its baseline (Poisson upper tail at low counts, robust z at high
// counts).
//
// Baseline.Expected is the one rule every normal level follows: a baseline
// forgets outages, because the minutes of an incident are left out
// (Without, with the detector's spans) and the EWMA leaves out minutes far
// above the level of what it reads; and a series with less than
// MinHistory minutes of history is Learning, its level a guess that is
// not shown as a ratio.
//
// It is pure arithmetic over per-minute counts: no I/O, no clocks, no
// knowledge of services or posts. The index uses it for the expected level
// and anomaly score of each trend point; package detect uses it to decide when an
// incident starts and ends.
package baseline
