package index

import (
	"errors"
	"fmt"
	"regexp/syntax"
	"strings"
	"sync"
	"unicode"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search/query"
	vregexp "github.com/blevesearch/vellum/regexp"
)

// Bounds on one regular expression or wildcard in a query. Bleve turns each
// into an automaton over the term dictionary, built again for every
// partition searched, and building it can take seconds (".*x.{0,30}" took
// over six on a loaded 2-core machine before hitting the library's own
// state cap): these keep every accepted one cheap to build.
const (
	// MaxRegexpLen is the longest regular expression, in bytes.
	MaxRegexpLen = 64
	// MaxRegexpRepeat is the largest count in x{n,m} (or n in x{n,}).
	MaxRegexpRepeat = 16
	// MaxRegexpRanges bounds the character ranges of all classes together
	// (\pL alone has hundreds, and each costs automaton instructions).
	MaxRegexpRanges = 64
	// MaxRegexpStates bounds the states of the automaton.
	MaxRegexpStates = 1000
	// maxRegexpProgram is the instruction budget given to the automaton
	// compiler, in its bytes (about 100 instructions).
	maxRegexpProgram = 4 << 10
)

// parseUserQuery parses q (Bleve's query-string syntax) so that words are
// all required, as in every search box: "outlook down" finds posts with
// both. "a OR b" needs either; AND is the default and may be written;
// "NOT w" is "-w"; +w, -w, quotes and field:value keep their meaning. It
// also checks every regular expression and wildcard against the bounds.
func parseUserQuery(q string) (query.Query, error) {
	parsed, err := bleve.NewQueryStringQuery(q).Parse()
	if err != nil {
		return nil, fmt.Errorf("%w: query: %v", ErrBadRequest, err)
	}
	if err := checkPatterns(parsed); err != nil {
		return nil, err
	}
	b, ok := parsed.(*query.BooleanQuery)
	if !ok {
		return parsed, nil
	}
	var should []query.Query
	if d, ok := b.Should.(*query.DisjunctionQuery); ok {
		should = d.Disjuncts
	}
	groups, excluded, err := wordGroups(should)
	if err != nil {
		return nil, err
	}
	out := bleve.NewBooleanQuery()
	positive := len(groups) > 0
	if c, ok := b.Must.(*query.ConjunctionQuery); ok && len(c.Conjuncts) > 0 {
		out.AddMust(c.Conjuncts...)
		positive = true
	}
	for _, g := range groups {
		if len(g) == 1 {
			out.AddMust(g[0])
		} else {
			out.AddMust(bleve.NewDisjunctionQuery(g...))
		}
	}
	if d, ok := b.MustNot.(*query.DisjunctionQuery); ok {
		excluded = append(d.Disjuncts, excluded...)
	}
	if len(excluded) > 0 {
		out.AddMustNot(excluded...)
	}
	if !positive && len(excluded) == 0 {
		return nil, fmt.Errorf("%w: query: no word to search for", ErrBadRequest)
	}
	return out, nil
}

// wordGroups splits the words of a query (in their order) into the groups
// that must each match: words joined by OR form one group.
func wordGroups(words []query.Query) (groups [][]query.Query, excluded []query.Query, err error) {
	join, negate := false, false
	for i, w := range words {
		switch operator(w) {
		case "AND":
			continue
		case "OR":
			if len(groups) == 0 || join || negate || i == len(words)-1 {
				return nil, nil, fmt.Errorf("%w: query: OR needs a word on each side (outlook OR teams)", ErrBadRequest)
			}
			join = true
			continue
		case "NOT":
			if join || i == len(words)-1 {
				return nil, nil, fmt.Errorf("%w: query: NOT needs a word after it (outlook NOT calendar)", ErrBadRequest)
			}
			negate = true
			continue
		}
		switch {
		case !searchable(w):
			// Punctuation alone ("outlook - down") analyzes to no term;
			// required, it would match nothing.
		case negate:
			excluded = append(excluded, w)
		case join:
			groups[len(groups)-1] = append(groups[len(groups)-1], w)
		default:
			groups = append(groups, []query.Query{w})
		}
		join, negate = false, false
	}
	return groups, excluded, nil
}

// searchable reports whether a plain word has a letter or digit to match.
func searchable(q query.Query) bool {
	m, ok := q.(*query.MatchQuery)
	return !ok || strings.IndexFunc(m.Match, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) >= 0
}

// operator reports the word AND, OR or NOT written in capitals on its own.
func operator(q query.Query) string {
	m, ok := q.(*query.MatchQuery)
	if !ok || m.FieldVal != "" || m.Fuzziness != 0 || m.BoostVal != nil {
		return ""
	}
	switch m.Match {
	case "AND", "OR", "NOT":
		return m.Match
	}
	return ""
}

// checkPatterns checks every regular expression and wildcard in q.
func checkPatterns(q query.Query) error {
	switch v := q.(type) {
	case *query.BooleanQuery:
		for _, c := range []query.Query{v.Must, v.Should, v.MustNot} {
			if err := checkPatterns(c); err != nil {
				return err
			}
		}
	case *query.ConjunctionQuery:
		for _, c := range v.Conjuncts {
			if err := checkPatterns(c); err != nil {
				return err
			}
		}
	case *query.DisjunctionQuery:
		for _, c := range v.Disjuncts {
			if err := checkPatterns(c); err != nil {
				return err
			}
		}
	case *query.RegexpQuery:
		return checkRegexp("/"+v.Regexp+"/", strings.TrimPrefix(v.Regexp, "^"))
	case *query.WildcardQuery:
		return checkRegexp(v.Wildcard, wildcardRegexp.Replace(v.Wildcard))
	}
	return nil
}

// wildcardRegexp is how Bleve turns a wildcard into a regular expression.
var wildcardRegexp = strings.NewReplacer("+", `\+`, "(", `\(`, ")", `\)`, "^", `\^`, "$", `\$`, ".", `\.`, "{", `\{`, "}", `\}`,
	"[", `\[`, "]", `\]`, `|`, `\|`, `\`, `\\`, "*", ".*", "?", ".")

// checkedPatterns remembers the verdicts on recent patterns: the check
// builds the automaton, and paging or exporting a search repeats it.
var checkedPatterns patternCache

type patternCache struct {
	mu sync.Mutex
	m  map[string]error
}

const maxCheckedPatterns = 1024

// checkRegexp checks one pattern (written is how the user wrote it) the
// way Bleve will compile it: Go's regexp/syntax in Perl mode, then Bleve's
// automaton, which refuses anchors, lazy repeats and word boundaries.
func checkRegexp(written, re string) error {
	c := &checkedPatterns
	c.mu.Lock()
	err, ok := c.m[written+"\x00"+re]
	c.mu.Unlock()
	if ok {
		return err
	}
	err = checkRegexpOnce(written, re)
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCheckedPatterns {
		c.m = make(map[string]error)
	}
	c.m[written+"\x00"+re] = err
	c.mu.Unlock()
	return err
}

func checkRegexpOnce(written, re string) error {
	limit := func(format string, args ...any) error {
		return &LimitError{Limit: "max_regexp", Msg: quoteWritten(written) + ": " + fmt.Sprintf(format, args...)}
	}
	if len(re) > MaxRegexpLen {
		return limit("%d bytes long, at most %d are allowed", len(re), MaxRegexpLen)
	}
	parsed, err := syntax.Parse(re, syntax.Perl)
	if err != nil {
		return fmt.Errorf("%w: query: regular expression %s does not parse: %v", ErrBadRequest, quoteWritten(written),
			strings.TrimPrefix(err.Error(), "error parsing regexp: "))
	}
	repeat, ranges := patternCost(parsed)
	if repeat > MaxRegexpRepeat {
		return limit("repeat count %d, at most %d is allowed", repeat, MaxRegexpRepeat)
	}
	if ranges > MaxRegexpRanges {
		return limit("its character classes have %d ranges, at most %d are allowed", ranges, MaxRegexpRanges)
	}
	a, err := vregexp.NewParsedWithLimit(re, parsed, maxRegexpProgram)
	switch {
	case errors.Is(err, vregexp.ErrCompiledTooBig) || (err != nil && strings.Contains(err.Error(), "states")):
		return limit("its automaton is too large; simplify it")
	case err != nil:
		return fmt.Errorf("%w: query: regular expression %s: %v (terms are matched whole: no anchors, lazy repeats or word boundaries)",
			ErrBadRequest, quoteWritten(written), err)
	}
	if n := countStates(a, MaxRegexpStates+1); n > MaxRegexpStates {
		return limit("its automaton has more than %d states; simplify it", MaxRegexpStates)
	}
	return nil
}

func quoteWritten(s string) string {
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	return "`" + s + "`"
}

// patternCost returns the largest repeat count and the number of
// character-class ranges in re.
func patternCost(re *syntax.Regexp) (repeat, ranges int) {
	switch re.Op {
	case syntax.OpRepeat:
		repeat = max(re.Min, re.Max)
	case syntax.OpCharClass:
		ranges = len(re.Rune) / 2
	}
	for _, sub := range re.Sub {
		r, n := patternCost(sub)
		repeat, ranges = max(repeat, r), ranges+n
	}
	return repeat, ranges
}

// countStates counts the automaton's states reachable from its start, up
// to limit.
func countStates(a *vregexp.Regexp, limit int) int {
	seen := map[int]bool{a.Start(): true}
	queue := []int{a.Start()}
	for len(queue) > 0 && len(seen) < limit {
		s := queue[0]
		queue = queue[1:]
		for b := range 256 {
			if n := a.Accept(s, byte(b)); n != 0 && !seen[n] {
				seen[n] = true
				queue = append(queue, n)
			}
		}
	}
	return len(seen)
}
