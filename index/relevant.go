package index

import (
	"fmt"

	"github.com/downsignal/downsignal/record"
)

// Posts selects which posts the index keeps in Bleve. Every post is
// counted either way (the all-posts series of the trends, and the volume
// behind the whole-stream baseline, need every post); only search sees
// the difference.
type Posts string

const (
	// PostsRelevant (the default) keeps the posts Relevant accepts: about
	// one in ten of Bluesky's, and nearly every one an analyst searches.
	PostsRelevant Posts = "relevant"
	// PostsAll keeps every post.
	PostsAll Posts = "all"
)

// ParsePosts reads a --index-posts value.
func ParsePosts(s string) (Posts, error) {
	switch p := Posts(s); p {
	case PostsRelevant, PostsAll:
		return p, nil
	case "":
		return PostsRelevant, nil
	}
	return "", fmt.Errorf("index posts %q: want relevant or all", s)
}

// keeper is the rule of p.
func (p Posts) keeper() func(*record.Signal) bool {
	if p == PostsAll {
		return func(*record.Signal) bool { return true }
	}
	return Relevant
}

// Relevant says whether a post says anything about a service: it names
// one, quotes an error code, or the classifier found a failure cue or a
// question to others in it, in any language it reads. It decides from
// the classify stage's result alone: the classifier scores exactly those
// posts (its candidates) and leaves the rest at score 0, so a positive
// score marks a post with a cue even when it names nothing. A candidate
// whose probability rounds to 0.000 is dropped with the rest: the
// classifier is all but certain it reports nothing.
func Relevant(sig *record.Signal) bool {
	r := sig.Result
	if r == nil {
		return false
	}
	return len(r.Services) > 0 || len(r.ErrorCodes) > 0 || r.Outage || r.Score > 0 ||
		r.Intent == record.IntentOutage || r.Intent == record.IntentRecovery
}
