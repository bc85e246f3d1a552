package classify

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/coregx/ahocorasick"

	"github.com/downsignal/downsignal/catalog"
)

// One Aho-Corasick automaton holds every pattern the classifier looks for: service names, aliases,
// domains and @handles, region names, the cue phrases of every language, and AWS error names. A post
// is folded once and scanned once; everything after that works on the short list of hits.

type patKind uint8

const (
	kindService patKind = iota + 1
	kindRegion
	kindCue
	kindAWS
	kindCode // filled in from the code scanner, never in the automaton
)

// Alias levels, from the catalog's aliases, weak and exact lists.
const (
	levelPlain uint8 = iota
	levelWeak
	levelExact
)

// payload is what one pattern means. A folded pattern can mean several things ("signal" is the
// messenger and a word about phone reception), so each pattern has a list.
type payload struct {
	kind   patKind
	level  uint8
	cue    cueClass
	glue   bool
	down   bool // a cue phrase ending in "down": not about a number going down ("is down 5%")
	langs  uint8
	weight float32
	ref    int32  // service or region index; index into the code list for kindCode
	orig   string // the catalog's spelling, compared for exact names and AWS error names
}

type matcher struct {
	ac       *ahocorasick.Automaton
	payloads [][]payload // by automaton pattern ID
	hashtags map[string]hashtagRef
	svcLangs []uint8 // by service index: languages in which its weak names count (0: all)
}

type hashtagRef struct {
	svc    int32
	outage bool // the tag itself says the service is down: #OutlookDown, #PanneOrange
}

// Hashtag affixes that turn a service name into an outage report.
var outageAffixes = []string{"isdown", "down", "outages", "outage", "fail", "caido", "caida", "caiu", "foradoar", "fora",
	"panne", "storung", "stoerung", "ausfall", "通信障害", "障害", "落ち"}

// awsNames are matched case-sensitively: "SlowDown" is an S3 error, "slowdown" is a word.
var awsNames = func() []string {
	names := make([]string, 0, len(awsMeaning))
	for n := range awsMeaning {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}()

// buildMatcher compiles the catalog's names, the cue lexicon and the AWS error names into one
// automaton, each pattern folded and with a payload for each of its meanings; the service
// languages and the hashtag table come from indexServices.
func buildMatcher(c *catalog.Catalog) (*matcher, error) {
	m := &matcher{hashtags: make(map[string]hashtagRef), svcLangs: make([]uint8, c.Len())}
	m.indexServices(c)
	ids := map[string]int{}
	var patterns []string
	// add files one meaning under the folded text; a meaning already there (same kind, reference
	// and cue class) keeps the stronger alias level. It is a closure called only here: held in a
	// struct or passed to a helper, it would move ids (or the "@"+h strings) to the heap.
	add := func(text string, p payload) {
		k := catalog.Fold(strings.TrimSpace(text))
		if k == "" {
			return
		}
		id, ok := ids[k]
		if !ok {
			id = len(patterns)
			ids[k] = id
			patterns = append(patterns, k)
			m.payloads = append(m.payloads, nil)
		}
		for i, q := range m.payloads[id] {
			if q.kind == p.kind && q.ref == p.ref && q.cue == p.cue {
				if p.level > q.level { // weak or exact overrides the plain reading of the same name
					m.payloads[id][i].level = p.level
					m.payloads[id][i].orig = p.orig
				}
				return
			}
		}
		m.payloads[id] = append(m.payloads[id], p)
	}
	for i := range c.Len() {
		s := c.At(i)
		ref := int32(i)
		for _, n := range append([]string{s.Name}, s.Aliases...) {
			add(n, payload{kind: kindService, level: levelPlain, ref: ref, orig: n})
		}
		for _, n := range s.Weak {
			add(n, payload{kind: kindService, level: levelWeak, ref: ref, orig: n})
		}
		for _, n := range s.Exact {
			add(n, payload{kind: kindService, level: levelExact, ref: ref, orig: n})
		}
		for _, d := range s.Domains {
			add(d, payload{kind: kindService, level: levelPlain, ref: ref, orig: d})
		}
		for _, h := range s.Handles {
			add("@"+h, payload{kind: kindService, level: levelPlain, ref: ref, orig: h})
		}
	}
	for i, r := range c.Places() {
		ref := int32(i)
		add(r.Name, payload{kind: kindRegion, ref: ref, orig: r.Name})
		for _, a := range r.Aliases {
			add(a, payload{kind: kindRegion, ref: ref, orig: a})
		}
		for _, a := range r.Exact {
			add(a, payload{kind: kindRegion, level: levelExact, ref: ref, orig: a})
		}
	}
	for _, set := range lexicon {
		phrases, glue := set.phrases()
		for i, p := range phrases {
			down := set.class == cueDown || (set.class == cueOutage && strings.HasSuffix(p, " down"))
			add(p, payload{kind: kindCue, cue: set.class, weight: set.weight, langs: set.langs, glue: glue[i], down: down, ref: -1})
		}
	}
	for i, n := range awsNames {
		add(n, payload{kind: kindAWS, level: levelExact, ref: int32(i), orig: n})
	}
	ac, err := ahocorasick.NewBuilder().SetMatchKind(ahocorasick.LeftmostFirst).AddStrings(patterns).Build()
	if err != nil {
		return nil, fmt.Errorf("build automaton: %w", err)
	}
	m.ac = ac
	return m, nil
}

// indexServices fills the languages of each service's weak names and the hashtag table: the
// catalog's hashtags, then each name or alias of two or more letters written as one word where no
// hashtag claims it (the first service to have it wins).
func (m *matcher) indexServices(c *catalog.Catalog) {
	compactNames := map[string]int32{}
	for i := range c.Len() {
		s := c.At(i)
		ref := int32(i)
		for _, l := range s.Langs {
			m.svcLangs[i] |= langBits[l]
		}
		compact := func(n string) {
			k := catalog.Compact(catalog.Fold(n))
			if _, ok := compactNames[k]; len([]rune(k)) >= 2 && !ok {
				compactNames[k] = ref
			}
		}
		compact(s.Name)
		for _, n := range s.Aliases {
			compact(n)
		}
		for _, h := range s.Hashtags {
			k := catalog.Compact(catalog.Fold(h))
			m.hashtags[k] = hashtagRef{svc: ref, outage: hasOutageAffix(k)}
		}
	}
	for k, ref := range compactNames {
		if _, ok := m.hashtags[k]; !ok {
			m.hashtags[k] = hashtagRef{svc: ref}
		}
	}
}

func hasOutageAffix(k string) bool {
	for _, a := range outageAffixes {
		if len(k) > len(a) && (strings.HasSuffix(k, a) || strings.HasPrefix(k, a)) {
			return true
		}
	}
	return false
}

// hit is a pattern (or code) found in the folded text.
type hit struct {
	start, end int32 // folded byte offsets
	word       int32 // index of the hit's first word
	wordEnd    int32 // index of its last word
	sent       int32 // index of its sentence
	p          *payload
	ok         bool // for services and regions: accepted
	dead       bool // for cues: cancelled by another sense or another language
	hashtag    bool // found through a hashtag
}

func (h *hit) len() int32 { return h.end - h.start }

// boundaryOK checks that a match is a whole word in the folded text. Latin patterns need a
// non-word neighbour, but a Japanese or Chinese neighbour counts as a boundary ("Outlookが落ちてる");
// katakana patterns must not be glued to more katakana ("ライン" is not in "オンライン").
func boundaryOK(norm []byte, start, end int, p *payload) bool {
	first := runeAt(norm, start)
	last := runeBefore(norm, end)
	before := runeBefore(norm, start)
	after := runeAt(norm, end)
	if !p.glue && !edgeOK(first, before) {
		return false
	}
	if !edgeOK(last, after) {
		// German compounds: "Telekomstörung", "Outlookausfall".
		if p.kind == kindService && catalog.IsWordRune(after) && gluedOutageWord(norm[end:]) {
			return true
		}
		return false
	}
	return true
}

func edgeOK(inner, outer rune) bool {
	if outer == 0 || !catalog.IsWordRune(inner) {
		return true
	}
	if isKatakana(inner) {
		return !isKatakana(outer)
	}
	if isSpaceless(inner) {
		return true
	}
	return !catalog.IsWordRune(outer) || isSpaceless(outer)
}

func gluedOutageWord(rest []byte) bool {
	for _, w := range []string{"storung", "stoerung", "ausfall", "probleme"} {
		if len(rest) >= len(w) && string(rest[:len(w)]) == w {
			return true
		}
	}
	return false
}

// scan finds the hits of the folded text in t.norm and leaves them in t.hits, sorted by start,
// without overlaps (the longest pattern wins at a position; several meanings of one pattern stay).
func (m *matcher) scan(t *scratch) {
	t.hits = t.hits[:0]
	for _, mt := range m.ac.FindAllOverlapping(t.norm) {
		for i := range m.payloads[mt.PatternID] {
			p := &m.payloads[mt.PatternID][i]
			if !boundaryOK(t.norm, mt.Start, mt.End, p) {
				continue
			}
			t.hits = append(t.hits, hit{start: int32(mt.Start), end: int32(mt.End), p: p})
			if len(t.hits) >= maxCandidates {
				break
			}
		}
		if len(t.hits) >= maxCandidates {
			break
		}
	}
	slices.SortFunc(t.hits, func(a, b hit) int {
		if c := cmp.Compare(a.start, b.start); c != 0 {
			return c
		}
		return cmp.Compare(b.end, a.end)
	})
	// Names (services, regions, AWS errors) and cue phrases are two layers: within a layer the
	// longest match wins, across layers both stay ("Cox internet" and "internet out").
	kept := t.hits[:0]
	var last [2]struct{ start, end int32 }
	last[0].start, last[0].end, last[1].start, last[1].end = -1, -1, -1, -1
	for _, h := range t.hits {
		l := 0
		if h.p.kind == kindCue {
			l = 1
		}
		if h.start >= last[l].end || h.start == last[l].start && h.end == last[l].end {
			kept = append(kept, h)
			last[l].start, last[l].end = h.start, h.end
		}
	}
	t.hits = kept
}
