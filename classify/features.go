package classify

import (
	"bytes"
	"math"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/downsignal/downsignal/catalog"
)

// The learned scorer reads a post as a sparse vector of hashed features:
//
//   - word unigrams and bigrams of the folded text, and character 3- to
//     5-grams of each word (slang, inflections, languages without spaces),
//     with every accepted service name replaced by <svc>, error codes by
//     <code>, other @handles by <at>, links by <url> and digit runs by 0,
//     so the model learns how people report a failure, not which brands
//     they report (a brand that was down during the training data would
//     otherwise count as evidence);
//   - the rules' own findings (failure cues and their strength next to a
//     service, questions to others, denials, past and hypothetical
//     framing, news, promotions, recovery, error codes), which carry what
//     the lexicon of six languages knows.
//
// The n-gram block is scaled to unit length so long posts do not outvote
// short ones; the rule features keep their scale.

// Vector is a post's features: hashed indexes with their values, and for
// explanations the readable name of each feature.
type Vector struct {
	Idx   []uint32
	Val   []float32
	Names []string // only when asked for (Explain); nil otherwise
	// Candidate says the post names a service, quotes a code, or has a
	// failure cue or a question to others: only candidates are scored.
	// Service says it names a service (or a code implies one): only then
	// can it be an outage report.
	Candidate, Service bool
}

// ruleVerdict is what the rules found in a post: the evidence decide
// weighs, kept for the learned scorer.
type ruleVerdict struct {
	x                  float64 // the rules' logit
	best, codeScore    float64
	strong, ask        int
	denial, past, now  int
	news, promo        int
	planned, failCues  int
	hypo, recovered    bool
	outageTag          bool // a hashtag that says a service is down: #OutlookDown, #PanneOrange
	anyService, ruleOK bool
}

// Placeholders of masked spans.
const (
	tokSvc  = "<svc>"
	tokCode = "<code>"
	tokAt   = "<at>"
	tokURL  = "<url>"
)

// span is a masked range of the folded text.
type span struct {
	start, end int32
	tok        string
}

// featureWriter appends hashed features to a vector; names are built only
// when an explanation asks for them.
type featureWriter struct {
	v       *Vector
	explain bool
}

// FNV-1a, finished with a mix of the high bits into the low ones (the
// model indexes by the low bits).
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnvString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}

func fnvBytes(h uint64, b []byte) uint64 {
	for _, c := range b {
		h ^= uint64(c)
		h *= fnvPrime
	}
	return h
}

func finish(h uint64) uint32 {
	h ^= h >> 29
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 32
	return uint32(h)
}

func (w *featureWriter) put(h uint64, val float32, name func() string) {
	w.v.Idx = append(w.v.Idx, finish(h))
	w.v.Val = append(w.v.Val, val)
	if w.explain {
		w.v.Names = append(w.v.Names, name())
	}
}

// add adds the feature prefix+name.
func (w *featureWriter) add(prefix, name string, val float32) {
	w.put(fnvString(fnvString(fnvOffset, prefix), name), val, func() string { return prefix + name })
}

// token adds "w:" and the word.
func (w *featureWriter) token(tok []byte) {
	w.put(fnvBytes(fnvString(fnvOffset, "w:"), tok), 1, func() string { return "w:" + string(tok) })
}

// bigram adds "b:", two words and a space between.
func (w *featureWriter) bigram(a, b []byte) {
	h := fnvBytes(fnvString(fnvOffset, "b:"), a)
	h = fnvBytes(fnvString(h, " "), b)
	w.put(h, 1, func() string { return "b:" + string(a) + " " + string(b) })
}

// features fills v with the post's features. t holds the analysed post.
func (c *Classifier) features(t *scratch, text string, langs []string, rv *ruleVerdict, v *Vector, explain bool) {
	v.Idx, v.Val = v.Idx[:0], v.Val[:0]
	if explain {
		v.Names = v.Names[:0]
	} else {
		v.Names = nil
	}
	w := featureWriter{v: v, explain: explain}

	// The n-gram block.
	t.spans = maskSpans(t, t.spans[:0])
	t.toks = tokens(t.norm, t.spans, t.toks[:0])
	first := len(v.Idx)
	prev := []byte("^")
	for _, tok := range t.toks {
		w.token(tok)
		w.bigram(prev, tok)
		prev = tok
		if tok[0] != '<' && tok[0] != '?' && tok[0] != '!' {
			w.charGrams(tok)
		}
	}
	w.bigram(prev, []byte("$"))
	if n := len(v.Idx) - first; n > 0 {
		scale := float32(1 / math.Sqrt(float64(n)))
		for i := first; i < len(v.Val); i++ {
			v.Val[i] *= scale
		}
	}

	w.ruleFeatures(rv, text, langs, len(t.toks))
}

// ruleFeatures adds the rules' findings and the post's shape.
func (w *featureWriter) ruleFeatures(rv *ruleVerdict, text string, langs []string, words int) {
	add := w.add
	flag := func(name string, on bool) {
		if on {
			add("r:", name, 1)
		}
	}
	flag("svc", rv.anyService)
	flag("code", rv.codeScore > 0)
	add("r:", "code-weight", float32(rv.codeScore/2))
	add("r:", "best", float32(rv.best/3))
	add("r:", "strong", float32(min(rv.strong, 3))/3)
	add("r:", "x", float32(max(-6, min(6, rv.x))/6))
	flag("rule-outage", rv.ruleOK)
	flag("ask", rv.ask > 0)
	flag("denial", rv.denial > 0)
	flag("past", rv.past > 0)
	flag("now", rv.now > 0)
	flag("news", rv.news > 0)
	flag("promo", rv.promo > 0)
	flag("planned", rv.planned > 0)
	flag("hypothetical", rv.hypo)
	flag("recovered", rv.recovered)
	flag("fail-cue", rv.failCues > 0)
	flag("strong-cue", rv.best >= 3)
	flag("outage-hashtag", rv.outageTag)
	flag("reply", strings.HasPrefix(strings.TrimSpace(text), "@"))
	flag("question", strings.ContainsAny(text, "?？"))
	switch {
	case words <= 5:
		add("r:", "len<=5", 1)
	case words <= 15:
		add("r:", "len<=15", 1)
	case words <= 30:
		add("r:", "len<=30", 1)
	default:
		add("r:", "len>30", 1)
	}
	lang := "?"
	if len(langs) > 0 {
		lang = strings.ToLower(langs[0])
		if i := strings.IndexAny(lang, "-_"); i >= 0 {
			lang = lang[:i]
		}
		if len(lang) > 3 {
			lang = "?"
		}
	}
	add("r:lang=", lang, 1)
}

// maskSpans lists the ranges of the folded text that become placeholders:
// accepted service names, error codes, @handles and links, in order.
func maskSpans(t *scratch, out []span) []span {
	for i := range t.hits {
		h := &t.hits[i]
		switch {
		case h.p.kind == kindService && h.ok:
			out = append(out, span{h.start, h.end, tokSvc})
		case h.p.kind == kindCode:
			out = append(out, span{h.start, h.end, tokCode})
		}
	}
	norm := t.norm
	for i := 0; i < len(norm); i++ {
		switch {
		case norm[i] == '@' && (i == 0 || !catalog.IsWordRune(runeBefore(norm, i))):
			j := i + 1
			for j < len(norm) && (isHandleByte(norm[j])) {
				j++
			}
			if j > i+1 {
				out = append(out, span{int32(i), int32(j), tokAt})
				i = j - 1
			}
		case norm[i] == 'h' && (bytes.HasPrefix(norm[i:], []byte("https://")) || bytes.HasPrefix(norm[i:], []byte("http://"))),
			norm[i] == 'w' && bytes.HasPrefix(norm[i:], []byte("www.")):
			j := i
			for j < len(norm) && norm[j] != ' ' && norm[j] != '\n' && norm[j] != '\t' {
				j++
			}
			out = append(out, span{int32(i), int32(j), tokURL})
			i = j - 1
		}
	}
	slices.SortStableFunc(out, func(a, b span) int { return int(a.start - b.start) })
	return out
}

func isHandleByte(c byte) bool {
	return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-'
}

// Placeholder tokens, as bytes.
var (
	bSvc, bCode, bAt, bURL  = []byte(tokSvc), []byte(tokCode), []byte(tokAt), []byte(tokURL)
	bQuestion, bBang, bZero = []byte("?"), []byte("!"), []byte("0")
)

func placeholder(tok string) []byte {
	switch tok {
	case tokSvc:
		return bSvc
	case tokCode:
		return bCode
	case tokAt:
		return bAt
	default:
		return bURL
	}
}

// tokens splits the folded text into words, '?' and '!', with the masked
// spans as their placeholders (a service inside a handle or a link is the
// handle or the link). Digit runs become "0". The words are slices of
// norm: no copies.
func tokens(norm []byte, spans []span, out [][]byte) [][]byte {
	k := 0
	i := 0
	for i < len(norm) {
		for k < len(spans) && int(spans[k].end) <= i {
			k++
		}
		if k < len(spans) && int(spans[k].start) <= i {
			s := spans[k]
			// Overlapping spans (a service named inside a handle): the
			// widest one starting here wins.
			end := s.end
			for k+1 < len(spans) && spans[k+1].start < end {
				if spans[k+1].end > end {
					end = spans[k+1].end
				}
				k++
			}
			ph := placeholder(s.tok)
			if len(out) == 0 || !bytes.Equal(out[len(out)-1], ph) {
				out = append(out, ph)
			}
			i = int(end)
			k++
			continue
		}
		r, size := utf8.DecodeRune(norm[i:])
		switch {
		case r == '?':
			out = append(out, bQuestion)
			i += size
		case r == '!':
			out = append(out, bBang)
			i += size
		case isSpaceless(r):
			// Two characters of a language without spaces make a word.
			j := i + size
			if j < len(norm) {
				if r2, size2 := utf8.DecodeRune(norm[j:]); isSpaceless(r2) {
					j += size2
				}
			}
			out = append(out, norm[i:j])
			i += size
		case catalog.IsWordRune(r) || r == '\'':
			j := i
			digits := true
			for j < len(norm) && (k >= len(spans) || j < int(spans[k].start)) {
				r2, size2 := utf8.DecodeRune(norm[j:])
				if !catalog.IsWordRune(r2) && r2 != '\'' || isSpaceless(r2) {
					break
				}
				if r2 < '0' || r2 > '9' {
					digits = false
				}
				j += size2
			}
			w := bytes.Trim(norm[i:j], "'")
			switch {
			case digits:
				out = append(out, bZero)
			case len(w) > 0 && len(w) <= 40:
				out = append(out, w)
			}
			i = j
		default:
			i += size
		}
	}
	return out
}

// charGrams adds the character 3- to 5-grams of "^word$" ("c:" and the
// gram).
func (w *featureWriter) charGrams(word []byte) {
	var buf [128]byte
	if len(word)+2 > len(buf) {
		return
	}
	buf[0] = '^'
	n := copy(buf[1:], word) + 2
	buf[n-1] = '$'
	s := buf[:n]
	var starts [34]int
	runes := 0
	for i := 0; i < n; {
		if runes == len(starts)-1 {
			return // more than 32 characters: no word worth its grams
		}
		starts[runes] = i
		runes++
		_, size := utf8.DecodeRune(s[i:])
		i += size
	}
	starts[runes] = n
	seed := fnvString(fnvOffset, "c:")
	for size := 3; size <= 5; size++ {
		for i := 0; i+size <= runes; i++ {
			g := s[starts[i]:starts[i+size]]
			w.put(fnvBytes(seed, g), 1, func() string { return "c:" + string(g) })
		}
	}
}
