package classify

import (
	"os"
	"testing"
)

// TestDebugHits prints what the classifier saw in DEBUG_TEXT, hit by hit: a tool for working on
// the rules (DEBUG_TEXT='Outlook down?' go test ./classify -run TestDebugHits -v).
func TestDebugHits(t *testing.T) {
	text := os.Getenv("DEBUG_TEXT")
	if text == "" {
		t.Skip("set DEBUG_TEXT")
	}
	c := newTestClassifier(t)
	r := c.Classify(Input{Text: text})
	s := &scratch{}
	c.analyze(s, text, nil)
	c.rules(s) // fills s.anchors
	for i, h := range s.hits {
		t.Logf("%-24q kind=%d level=%d cue=%d w=%.1f ok=%v dead=%v word=%d-%d sent=%d", original(s, text, h.start, h.end), h.p.kind, h.p.level, h.p.cue, h.p.weight, h.ok, h.dead, h.word, h.wordEnd, h.sent)
		if h.p.kind == kindCue {
			t.Logf("    evidence=%.2f", c.evidence(s, i))
		}
	}
	t.Logf("%+v", r)
}
