package classify

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/downsignal/downsignal/catalog"
	"github.com/downsignal/downsignal/record"
)

// Limits on the work done for one post. Bluesky posts are at most 300 graphemes (about 3 KB in
// the worst scripts); anything longer is not a post and is cut, not rejected.
const (
	maxTextBytes  = 4096
	maxCandidates = 512 // pattern hits considered
	maxServices   = 16
	maxCodes      = 16
	maxRegions    = 8
	maxFailCues   = 64 // failure cues weighed against the services
)

// Input is one post to classify.
type Input struct {
	Text  string
	Langs []string // the post's langs (BCP-47, e.g. "en", "pt-BR"); may be empty
}

// Classifier turns post text into outage signals. It is safe for concurrent use.
type Classifier struct {
	model   *Model // nil: the rules alone decide
	cat     *catalog.Catalog
	m       *matcher
	pool    sync.Pool
	implied map[string]int32 // error code family -> service it implies
	special struct{ cloudflare, nintendo, nintendoOnline int32 }
}

// scratch holds the per-call buffers, reused through a pool.
type scratch struct {
	norm    []byte
	off     []int32
	hits    []hit
	codes   []codeHit
	order   []int32
	anchors []int32 // accepted services and codes, for distances
	hasKana bool
	spans   []span   // masked ranges, for features
	toks    [][]byte // masked tokens, for features
	vec     Vector   // the candidate's features
}

// Options configures a classifier other than New's.
type Options struct {
	// Model scores the candidate posts; nil means the embedded model.
	Model *Model
	// RulesOnly decides by the rules alone, as before there was a model:
	// to compare against, and to compute features for training.
	RulesOnly bool
}

// New loads the embedded catalog and model and builds the matchers. Safe
// for concurrent use after.
func New() (*Classifier, error) { return NewWith(Options{}) }

// NewWith is New with a model of the caller's, or with none.
func NewWith(o Options) (*Classifier, error) {
	cat, err := catalog.Load()
	if err != nil {
		return nil, err
	}
	m, err := buildMatcher(cat)
	if err != nil {
		return nil, err
	}
	c := &Classifier{cat: cat, m: m, implied: map[string]int32{}, model: o.Model}
	if c.model == nil && !o.RulesOnly {
		if c.model, err = UnmarshalModel(embeddedModel); err != nil {
			return nil, fmt.Errorf("embedded %w", err)
		}
	}
	c.pool.New = func() any { return &scratch{norm: make([]byte, 0, 512), off: make([]int32, 0, 513)} }
	for fam, id := range map[string]string{"aadsts": "entra-id", "caa": "teams", "playstation": "playstation-network", "xbox": "xbox-live", "nintendo": "nintendo-online"} {
		i, ok := cat.Index(id)
		if !ok {
			return nil, fmt.Errorf("catalog has no %q for %s codes", id, fam)
		}
		c.implied[fam] = int32(i)
	}
	c.special.cloudflare = c.index("cloudflare")
	c.special.nintendo = c.index("nintendo")
	c.special.nintendoOnline = c.index("nintendo-online")
	return c, nil
}

func (c *Classifier) index(id string) int32 {
	if i, ok := c.cat.Index(id); ok {
		return int32(i)
	}
	return -1
}

// Catalog returns the service catalog the classifier matches against.
func (c *Classifier) Catalog() *catalog.Catalog { return c.cat }

// Features returns the vector the model scores for a post, with the
// rules' findings computed whatever the classifier's model. It is what
// training reads.
func (c *Classifier) Features(in Input) Vector {
	text := cut(in.Text)
	t := c.pool.Get().(*scratch)
	defer c.pool.Put(t)
	c.analyze(t, text, in.Langs)
	rv := c.rules(t)
	services, codes, _ := c.collect(t, text)
	rv.ruleOK = rv.x > 0 && len(services) > 0
	var v Vector
	c.features(t, text, in.Langs, &rv, &v, false)
	v.Candidate = candidate(&rv, len(services), len(codes))
	v.Service = len(services) > 0
	return v
}

// Contribution is one feature's share of a post's score: its weight times
// its value, in logit units before calibration.
type Contribution struct {
	Feature string  `json:"feature"`
	Weight  float64 `json:"weight"`
}

// Explain classifies a post and returns the features that moved its score
// most, strongest first (at most n). A post that is no candidate, or a
// classifier without a model, explains nothing.
func (c *Classifier) Explain(in Input, n int) (record.Result, []Contribution) {
	text := cut(in.Text)
	t := c.pool.Get().(*scratch)
	defer c.pool.Put(t)
	c.analyze(t, text, in.Langs)
	var v Vector
	res := c.decide(t, text, in.Langs, &v, true)
	if c.model == nil || len(v.Names) == 0 {
		return res, nil
	}
	byName := map[string]float64{"bias": float64(c.model.Bias)}
	mask := uint32(1)<<c.model.Bits - 1
	for i, name := range v.Names {
		byName[name] += float64(c.model.W[v.Idx[i]&mask]) * float64(v.Val[i])
	}
	out := make([]Contribution, 0, len(byName))
	for name, w := range byName {
		out = append(out, Contribution{Feature: name, Weight: math.Round(w*1000) / 1000})
	}
	slices.SortFunc(out, func(a, b Contribution) int {
		if d := cmp.Compare(math.Abs(b.Weight), math.Abs(a.Weight)); d != 0 {
			return d
		}
		return strings.Compare(a.Feature, b.Feature)
	})
	return res, out[:min(n, len(out))]
}

// cut bounds the text to maxTextBytes on a rune boundary.
func cut(text string) string {
	if len(text) <= maxTextBytes {
		return text
	}
	n := maxTextBytes
	for n > 0 && !utf8.RuneStart(text[n]) {
		n--
	}
	return text[:n]
}

// Classify reads one post. It never panics and bounds its work whatever the input.
func (c *Classifier) Classify(in Input) record.Result {
	text := cut(in.Text)
	t := c.pool.Get().(*scratch)
	defer c.pool.Put(t)
	c.analyze(t, text, in.Langs)
	return c.decide(t, text, in.Langs, &t.vec, false)
}

// analyze fills t.hits with the accepted names, live cues and codes of text.
func (c *Classifier) analyze(t *scratch, text string, postLangs []string) {
	t.fold(text)
	t.hasKana = hasKana(t.norm)
	langs := langMask(postLangs)
	if t.hasKana {
		langs |= langJA
	}
	c.m.scan(t)
	c.hashtags(t)
	c.codes(t, text)
	slices.SortStableFunc(t.hits, func(a, b hit) int { return int(a.start - b.start) })
	indexWords(t)
	c.accept(t, text, langs)
}

func hasKana(b []byte) bool {
	for i := 0; i+2 < len(b); i++ {
		if b[i] == 0xE3 && (b[i+1] == 0x81 || b[i+1] == 0x82 || b[i+1] == 0x83) {
			return true
		}
	}
	return false
}

// langMask turns BCP-47 tags into language bits; unknown or absent languages give 0 (any).
func langMask(langs []string) uint8 {
	var m uint8
	for _, l := range langs {
		if i := strings.IndexAny(l, "-_"); i >= 0 {
			l = l[:i]
		}
		for k, bit := range langBits {
			if strings.EqualFold(l, k) {
				m |= bit
			}
		}
	}
	return m
}

// hashtags adds the services and outage cues of "#OutlookDown" style tags.
func (c *Classifier) hashtags(t *scratch) {
	n := len(t.norm)
	for i := 0; i < n && len(t.hits) < maxCandidates; i++ {
		if t.norm[i] != '#' || i > 0 && catalog.IsWordRune(runeBefore(t.norm, i)) {
			continue
		}
		j := i + 1
		for j < n {
			r, size := utf8.DecodeRune(t.norm[j:])
			if !catalog.IsWordRune(r) && r != '-' && r != '\'' {
				break
			}
			j += size
		}
		if j == i+1 {
			continue
		}
		body := catalog.Compact(string(t.norm[i+1 : j]))
		ref, ok := c.m.hashtags[body]
		if !ok {
			for _, a := range outageAffixes {
				if len(body) <= len(a) {
					continue
				}
				var rest string
				switch {
				case strings.HasSuffix(body, a):
					rest = body[:len(body)-len(a)]
				case strings.HasPrefix(body, a):
					rest = body[len(a):]
				default:
					continue
				}
				if r, found := c.m.hashtags[rest]; found {
					ref, ok = hashtagRef{svc: r.svc, outage: true}, true
					break
				}
			}
		}
		if ok {
			t.hits = append(t.hits, hit{start: int32(i), end: int32(j), p: &hashtagPayloads[0], ok: true, hashtag: true, word: ref.svc})
			if ref.outage {
				t.hits = append(t.hits, hit{start: int32(i), end: int32(j), p: &hashtagPayloads[1], hashtag: true})
			}
		}
		i = j - 1
	}
}

// hashtagPayloads: a service found through a hashtag (the service index is carried in hit.word
// until indexWords runs, then moved to hit.ref) and the outage cue of an outage hashtag.
var hashtagPayloads = [2]payload{
	{kind: kindService, level: levelPlain, ref: -2},
	{kind: kindCue, cue: cueOutage, weight: 3},
}

// codes scans the error codes and adds them, and the AWS names matched by the automaton, as hits.
func (c *Classifier) codes(t *scratch, text string) {
	var cloudflare, nintendo bool
	for i := range t.hits {
		h := &t.hits[i]
		if h.p.kind != kindService {
			continue
		}
		ref := h.p.ref
		if h.hashtag {
			ref = h.word
		}
		switch ref {
		case c.special.cloudflare:
			cloudflare = true
		case c.special.nintendo, c.special.nintendoOnline:
			nintendo = true
		}
	}
	t.codes = scanCodes(t.codes[:0], t.norm, cloudflare, nintendo)
	for i := range t.hits {
		h := &t.hits[i]
		if h.p.kind != kindAWS || len(t.codes) >= maxCodes {
			continue
		}
		if original(t, text, h.start, h.end) != h.p.orig {
			continue
		}
		t.codes = append(t.codes, codeHit{record.ErrorCode{Code: h.p.orig, Family: "aws", Meaning: awsMeaning[h.p.orig]}, int(h.start), int(h.end)})
	}
	for i := range t.codes {
		if len(t.hits) >= maxCandidates+maxCodes {
			break
		}
		t.hits = append(t.hits, hit{start: int32(t.codes[i].start), end: int32(t.codes[i].end), p: &codePayload, word: int32(i)})
	}
}

var codePayload = payload{kind: kindCode}

// original returns the post text behind folded bytes [start, end).
func original(t *scratch, text string, start, end int32) string {
	return text[t.off[start]:t.off[end]]
}

// indexWords gives each hit its word and sentence number. Japanese and Chinese have no spaces, so
// two of their characters count as a word. A hashtag service's index moves from word to its payload
// reference first (see hashtagPayloads).
func indexWords(t *scratch) {
	t.order = t.order[:0]
	for i := range t.hits {
		h := &t.hits[i]
		if h.p == &hashtagPayloads[0] || h.p.kind == kindCode {
			t.order = append(t.order, h.word)
		} else {
			t.order = append(t.order, -1)
		}
	}
	var words2, sent, inName int32
	prevWord := false
	k := 0
	n := len(t.norm)
	for i := 0; i <= n && k < len(t.hits); {
		for k < len(t.hits) && int(t.hits[k].start) <= i {
			t.hits[k].word = words2 / 2
			t.hits[k].sent = sent
			if t.hits[k].p.kind == kindService {
				inName = max(inName, t.hits[k].end)
			}
			k++
		}
		if i == n {
			break
		}
		r, size := utf8.DecodeRune(t.norm[i:])
		switch {
		case isSpaceless(r):
			words2++
			prevWord = false
		case catalog.IsWordRune(r):
			if !prevWord {
				words2 += 2
			}
			prevWord = true
		default:
			prevWord = false
			if int32(i) >= inName && (r == '!' || r == '?' || r == '\n' || r == '。' ||
				r == '.' && (i+1 == n || t.norm[i+1] == ' ' || t.norm[i+1] == '\n')) {
				sent++
			}
		}
		i += size
	}
	// Word indices of hit ends, for "Outlook is down" distances.
	for i := range t.hits {
		h := &t.hits[i]
		h.wordEnd = h.word + int32(wordsIn(t.norm[h.start:h.end])) - 1
		if h.wordEnd < h.word {
			h.wordEnd = h.word
		}
	}
}

func wordsIn(b []byte) int {
	n, prev := 0, false
	for _, r := range string(b) {
		switch {
		case isSpaceless(r):
			n++
			prev = false
		case catalog.IsWordRune(r):
			if !prev {
				n += 2
			}
			prev = true
		default:
			prev = false
		}
	}
	return n / 2
}

// svcRef returns the service index of a service hit.
func (t *scratch) svcRef(i int) int32 {
	h := &t.hits[i]
	if h.p == &hashtagPayloads[0] {
		return t.order[i]
	}
	return h.p.ref
}

// weakStop are words that, right before a lower-case ambiguous name, show it is the ordinary word:
// "the weather outlook", "both teams", "turn signal".
var weakStop = map[string]bool{"the": true, "a": true, "an": true, "some": true, "any": true, "both": true,
	"two": true, "three": true, "several": true, "many": true, "our": true, "their": true, "turn": true,
	"cell": true, "no": true, "weather": true, "economic": true, "market": true, "financial": true, "business": true,
	"positive": true, "negative": true, "bleak": true, "grim": true, "let": true, "of": true, "los": true,
	"las": true, "dos": true, "les": true, "die": true, "beide": true, "beiden": true, "um": true, "uma": true}

// accept decides which service and region hits count and cancels cues that are not meant.
func (c *Classifier) accept(t *scratch, text string, langs uint8) {
	// Cues of another language and "down" used for numbers and prices.
	for i := range t.hits {
		h := &t.hits[i]
		if h.p.kind != kindCue {
			continue
		}
		if h.p.langs != 0 && langs != 0 && h.p.langs&langs == 0 {
			h.dead = true
			continue
		}
		if h.p.down && downIsNumber(t, i) {
			h.dead = true
		}
	}
	// Services and regions, plain names first.
	for i := range t.hits {
		h := &t.hits[i]
		switch h.p.kind {
		case kindService:
			if h.p.level == levelPlain {
				h.ok = true
			}
		case kindRegion:
			h.ok = h.p.level == levelPlain || original(t, text, h.start, h.end) == h.p.orig
		}
	}
	for pass := 0; pass < 2; pass++ {
		for i := range t.hits {
			h := &t.hits[i]
			if h.p.kind != kindService || h.ok || h.p.level == levelPlain {
				continue
			}
			h.ok = c.weakOK(t, text, i, langs, pass == 1)
		}
	}
}

// downIsNumber reports "down" in "shares down 8%", "down to 3 degrees", "8% down".
func downIsNumber(t *scratch, i int) bool {
	h := &t.hits[i]
	j := skipSpaces(t.norm, int(h.end))
	if j < len(t.norm) && (isDigit(t.norm[j]) || t.norm[j] == '$' || t.norm[j] == '-' && j+1 < len(t.norm) && isDigit(t.norm[j+1])) {
		return true
	}
	k := int(h.start)
	for k > 0 && t.norm[k-1] == ' ' {
		k--
	}
	if k > 0 && (t.norm[k-1] == '%' || isDigit(t.norm[k-1]) && !insideService(t, i, int32(k-1))) {
		return true
	}
	for j := i - 1; j >= 0 && t.hits[j].word >= h.word-3; j-- {
		if p := t.hits[j].p; p.kind == kindCue && p.cue == cueFinance && t.hits[j].sent == h.sent {
			return true
		}
	}
	return false
}

// insideService reports whether folded byte pos belongs to a service hit before hit i ("365" in "Microsoft 365 down").
func insideService(t *scratch, i int, pos int32) bool {
	for j := i - 1; j >= 0; j-- {
		if h := &t.hits[j]; h.p.kind == kindService && h.start <= pos && pos < h.end {
			return true
		}
	}
	return false
}

// weakOK decides an ambiguous name: it needs a cue nearby, a hashtag or @mention, an error code, a
// related service, or (for weak names) a capital letter in the middle of a sentence.
func (c *Classifier) weakOK(t *scratch, text string, i int, langs uint8, family bool) bool {
	h := &t.hits[i]
	ref := h.p.ref
	orig := original(t, text, h.start, h.end)
	if l := c.m.svcLangs[ref]; l != 0 && langs&l == 0 {
		return false
	}
	if h.p.level == levelExact && orig != h.p.orig {
		return false
	}
	start, end := int(h.start), int(h.end)
	if start > 0 && (t.norm[start-1] == '#' || t.norm[start-1] == '@') {
		return true
	}
	if len(h.p.orig) <= 2 { // X, EE, O2, au: not in X-ray, EE/UU, A&E
		if b := runeBefore(t.norm, start); b == '-' || b == '/' || b == '&' || b == '.' {
			return false
		}
		if a := runeAt(t.norm, end); a == '-' || a == '/' || a == '&' || a == '.' && isAlnumAt(t.norm, end+1) {
			return false
		}
	}
	if family && c.familyPresent(t, i) {
		return true
	}
	atStart := sentenceStart(t.norm, start)
	if atStart && end < len(t.norm) && t.norm[end] == ',' { // "Claro, ..." "Orange, ..."
		return false
	}
	lower := !hasUpper(orig)
	if lower && !atStart && weakStop[prevWord(t.norm, start)] {
		return false
	}
	// Hits are sorted by position, so the neighbours within six words are a short walk either way.
	lo, hi := i, i
	for lo > 0 && t.hits[lo-1].word >= h.word-6 {
		lo--
	}
	for hi+1 < len(t.hits) && t.hits[hi+1].word <= h.wordEnd+6 {
		hi++
	}
	for j := lo; j <= hi; j++ {
		o := &t.hits[j]
		if o.sent != h.sent {
			continue
		}
		switch o.p.kind {
		case kindCode:
			return true
		case kindCue:
			if o.dead {
				continue
			}
			switch o.p.cue {
			case cueOutage, cueProblem, cueSoft, cueDown, cueRecovery, cueDenial, cueTech, cueAsk:
				return true
			}
		}
	}
	return h.p.level == levelWeak && !lower && !atStart
}

// familyPresent reports whether an accepted service shares a parent with hit i or is its parent or child.
func (c *Classifier) familyPresent(t *scratch, i int) bool {
	s := c.cat.At(int(t.svcRef(i)))
	seen := 0
	for j := range t.hits {
		if j == i || !t.hits[j].ok || t.hits[j].p.kind != kindService {
			continue
		}
		if seen++; seen > maxServices*2 {
			return false
		}
		o := c.cat.At(int(t.svcRef(j)))
		if o.ID == s.Parent || o.Parent == s.ID || o.Parent != "" && o.Parent == s.Parent {
			return true
		}
	}
	return false
}

func sentenceStart(norm []byte, i int) bool {
	for i > 0 {
		switch norm[i-1] {
		case ' ', '"', '\'', '(', '*', '#', '@':
			i--
			continue
		case '.', '!', '?', '\n', ':', ';':
			return true
		}
		r := runeBefore(norm, i)
		return r == '。' || r == '！' || r == '？' || r == '」' || r == '【'
	}
	return true
}

func hasUpper(s string) bool {
	for _, r := range s {
		if unicode.IsUpper(r) {
			return true
		}
	}
	return false
}

// prevWord returns the folded word before position i.
func prevWord(norm []byte, i int) string {
	j := i
	for j > 0 && norm[j-1] == ' ' {
		j--
	}
	k := j
	for k > 0 && isAlnum(norm[k-1]) {
		k--
	}
	return string(norm[k:j])
}

// rules weighs the evidence the rules found: failure cues next to a
// service, questions, denials, past, hypothetical, news, promotions,
// recovery and error codes, into the rules' logit x.
func (c *Classifier) rules(t *scratch) ruleVerdict {
	rv, recovery, lastFail, recoverySent, failSent, nowAfterRecovery, bestCue := c.tally(t)
	// A code with no named service and no complaint around it is often a question or a fix
	// ("fixed my CE-108255-1 by ..."), so it counts less alone.
	if !rv.anyService && rv.best == 0 {
		rv.codeScore = min(rv.codeScore, 1.2)
	}
	x := -1.5 + rv.best + rv.codeScore
	if rv.best > 0 {
		x += 0.6 * float64(min(rv.strong-1, 2))
		if rv.ask > 0 {
			x += 1
		}
	}
	if rv.denial > 0 {
		x -= 4
	}
	if rv.past > 0 {
		if rv.now > 0 {
			x -= 1
		} else {
			x -= 3
		}
	}
	if bestCue >= 0 && c.hypothetical(t, bestCue) {
		rv.hypo = true
		x -= 3
	}
	if rv.news > 0 && rv.ask == 0 {
		x -= 1.5
	}
	if rv.promo > 0 || rv.planned > 0 {
		x -= 3
	}
	rv.recovered = recovery >= 0 && rv.anyService &&
		(int32(recovery) >= lastFail-2 || recoverySent == failSent && !nowAfterRecovery)
	if rv.recovered {
		x -= 5
	}
	rv.x = x
	return rv
}

// tally counts the live cues of the post and finds the strongest failure
// evidence next to a service; rules weighs what it counted.
func (c *Classifier) tally(t *scratch) (rv ruleVerdict, recovery int, lastFail, recoverySent, failSent int32, nowAfterRecovery bool, bestCue int) {
	recovery, lastFail, recoverySent, failSent, bestCue = -1, -1, -1, -1, -1
	t.anchors = t.anchors[:0]
	for i := range t.hits {
		h := &t.hits[i]
		if h.p.kind == kindService && h.ok {
			rv.anyService = true
		}
		if h.p.kind == kindService && h.ok || h.p.kind == kindCode {
			t.anchors = append(t.anchors, int32(i))
		}
	}
	for i := range t.hits {
		h := &t.hits[i]
		switch h.p.kind {
		case kindCode:
			rv.codeScore = max(rv.codeScore, codeWeight(t.codes[t.order[i]].code))
			continue
		case kindCue:
		default:
			continue
		}
		if h.dead {
			continue
		}
		switch h.p.cue {
		case cueAsk:
			rv.ask++
		case cueDenial:
			rv.denial++
		case cuePast:
			rv.past++
		case cueNow:
			rv.now++
			if recovery >= 0 {
				nowAfterRecovery = true
			}
		case cueNews:
			rv.news++
		case cuePromo:
			rv.promo++
		case cuePlanned:
			rv.planned++
		case cueRecovery:
			recovery = int(h.word)
			recoverySent = h.sent
			nowAfterRecovery = false
		case cueOutage, cueProblem, cueSoft, cueDown:
			rv.outageTag = rv.outageTag || h.hashtag
			if rv.failCues++; rv.failCues > maxFailCues {
				continue
			}
			w := c.evidence(t, i)
			if w > 0 && h.word >= lastFail {
				lastFail, failSent = h.word, h.sent
			}
			if w >= 1.5 {
				rv.strong++
			}
			if w > rv.best {
				rv.best, bestCue = w, i
			}
		}
	}
	return rv, recovery, lastFail, recoverySent, failSent, nowAfterRecovery, bestCue
}

// decide scores the post and builds the result. A post that names no
// service, quotes no code and has no failure cue or question is no
// candidate and costs nothing more; a candidate is scored by the model
// (the rules alone decide when the classifier has none).
func (c *Classifier) decide(t *scratch, text string, langs []string, v *Vector, explain bool) record.Result {
	rv := c.rules(t)
	res := record.Result{Intent: record.IntentNone}
	res.Services, res.ErrorCodes, res.Regions = c.collect(t, text)
	rv.ruleOK = rv.x > 0 && len(res.Services) > 0
	if c.model == nil {
		res.Score = math.Round(1/(1+math.Exp(-rv.x))*1000) / 1000
		switch {
		case rv.recovered:
			res.Intent = record.IntentRecovery
		case rv.ruleOK:
			res.Outage, res.Intent = true, record.IntentOutage
		}
		if !res.Outage && res.Score > 0.5 {
			res.Score = 0.5
		}
		return res
	}
	if !candidate(&rv, len(res.Services), len(res.ErrorCodes)) {
		return res
	}
	c.features(t, text, langs, &rv, v, explain)
	p := c.model.Prob(c.model.Logit(v))
	res.Score = math.Round(p*1000) / 1000
	switch {
	case rv.recovered:
		// "Teams is back": the rules read the order of failure and
		// recovery, which bags of words cannot.
		res.Intent = record.IntentRecovery
	case rv.vetoed():
		// Denials, hypotheticals, announced maintenance and ads say in
		// so many words that nothing is failing now: rules are right
		// there, and the few real posts like them teach a model little.
	case p >= c.model.Threshold && len(res.Services) > 0:
		res.Outage, res.Intent = true, record.IntentOutage
	}
	return res
}

// vetoed says the rules found a post that says nothing fails now: a
// denial ("isn't down, it's your wifi"), a hypothetical ("imagine if
// Slack went down"), maintenance announced in advance, or an ad.
func (rv *ruleVerdict) vetoed() bool {
	return rv.denial > 0 || rv.hypo || rv.planned > 0 || rv.promo > 0
}

// candidate says whether the model scores a post: it names a service,
// quotes a code, or has a failure cue or a question to others.
func candidate(rv *ruleVerdict, services, codes int) bool {
	return services > 0 || codes > 0 || rv.failCues > 0 || rv.ask > 0
}

// evidence is how strongly failure cue i, next to its nearest service, says that service is failing.
func (c *Classifier) evidence(t *scratch, i int) float64 {
	h := &t.hits[i]
	var best float64
	for _, j := range t.anchors {
		s := &t.hits[j]
		var w float64
		same := s.sent == h.sent
		after := h.word - s.wordEnd // cue words after the service
		before := s.word - h.wordEnd
		if h.p.cue == cueDown {
			switch {
			case after >= 0 && after <= 3:
				w = 3
			case same && after >= 0 && after <= 6: // "X ist mal wieder down", "X est encore down"
				w = 2.5
			case before >= 0 && before <= 3:
				w = 2
			case same:
				w = 1.5
			default:
				w = 0.5
			}
		} else {
			d := max(after, before)
			switch {
			case same && d <= 8:
				w = float64(h.p.weight)
			case same || d <= 12:
				w = 0.7 * float64(h.p.weight)
			default:
				w = 0.4 * float64(h.p.weight)
			}
		}
		if s.p.kind == kindCode {
			w *= 0.8
		}
		best = max(best, w)
	}
	return best
}

// hypothetical reports an "if", "what if", "imagine" before cue i in its sentence.
func (c *Classifier) hypothetical(t *scratch, i int) bool {
	h := &t.hits[i]
	for j := i - 1; j >= 0; j-- {
		o := &t.hits[j]
		if o.sent != h.sent {
			break
		}
		if o.p.kind == kindCue && o.p.cue == cueHypo && !o.dead {
			return true
		}
	}
	return false
}

// codeWeight is how much an error code alone says about an outage.
func codeWeight(e record.ErrorCode) float64 {
	switch e.Family {
	case "http":
		if strings.HasPrefix(e.Code, "HTTP 5") || e.Code == "HTTP 429" {
			return 2
		}
		return 0.5
	case "smtp":
		if strings.HasPrefix(e.Code, "4") {
			return 2 // transient: the receiving side is failing
		}
		return 1.5
	case "hresult":
		return 1.5
	default:
		return 2
	}
}

// collect builds the result lists: services in order of first mention (with the services that error
// codes imply), codes and regions, each once.
func (c *Classifier) collect(t *scratch, text string) ([]record.ServiceHit, []record.ErrorCode, []record.Region) {
	var nsvc, ncode, nreg int
	for i := range t.hits {
		h := &t.hits[i]
		switch {
		case h.p.kind == kindService && h.ok:
			nsvc++
		case h.p.kind == kindCode:
			ncode++
			nsvc++
		case h.p.kind == kindRegion && h.ok:
			nreg++
		}
	}
	services := make([]record.ServiceHit, 0, min(nsvc, maxServices))
	codes := make([]record.ErrorCode, 0, min(ncode, maxCodes))
	var regions []record.Region
	if nreg > 0 {
		regions = make([]record.Region, 0, min(nreg, maxRegions))
	}
	addSvc := func(ref int32, matched string) {
		s := c.cat.At(int(ref))
		for _, o := range services {
			if o.ID == s.ID {
				return
			}
		}
		if len(services) < maxServices {
			services = append(services, record.ServiceHit{ID: s.ID, Name: s.Name, Parent: c.cat.ParentName(int(ref)), Group: c.cat.GroupName(int(ref)), Category: s.Category, Matched: matched})
		}
	}
	for i := range t.hits {
		h := &t.hits[i]
		switch h.p.kind {
		case kindService:
			if h.ok {
				addSvc(t.svcRef(i), original(t, text, h.start, h.end))
			}
		case kindCode:
			e := t.codes[t.order[i]].code
			if !slices.ContainsFunc(codes, func(o record.ErrorCode) bool { return o.Code == e.Code }) && len(codes) < maxCodes {
				codes = append(codes, e)
			}
			if ref, ok := c.implied[e.Family]; ok {
				addSvc(ref, original(t, text, h.start, h.end))
			}
		case kindRegion:
			if !h.ok {
				continue
			}
			r := &c.cat.Places()[h.p.ref]
			if !slices.ContainsFunc(regions, func(o record.Region) bool { return o.Name == r.Name }) && len(regions) < maxRegions {
				regions = append(regions, record.Region{Name: r.Name, Kind: r.Kind, Code: r.Code})
			}
		}
	}
	return services, codes, regions
}
