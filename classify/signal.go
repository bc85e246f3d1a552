package classify

import "github.com/downsignal/downsignal/record"

// Signal is the downsignal.signals record for one downsignal.posts event:
// a post with what Classify found in it; delete, account and reset events
// pass through with no Result, so everything downstream sees them in the
// same per-author order as the posts.
func (c *Classifier) Signal(ev record.Event) record.Signal {
	sig := record.Signal{V: record.SignalVersion, Event: ev}
	if ev.Kind == record.KindPost {
		r := c.Classify(Input{Text: ev.Text, Langs: ev.Langs})
		sig.Result = &r
	}
	return sig
}
