package detect

import (
	"strings"
	"unicode"

	"github.com/cespare/xxhash/v2"
)

// A "voice" is one independent report. Distinct authors are voices, except
// that authors who posted near-duplicate texts are merged into one: a
// message copied by a hundred accounts is one voice, not a hundred.
//
// Near-duplicates are found with MinHash over word pairs, banded so that
// two texts sharing most of their word pairs share a band key with high
// probability. Short texts ("Outlook down?") carry no band keys: many
// people really do write the same three words during an outage, and only
// a longer text is distinctive enough to betray copy and paste.

const (
	// minDupWords is the shortest text (in words) checked for copies.
	minDupWords = 8
	bands       = 4
	rowsPerBand = 2
)

// bandKeys returns the near-duplicate keys of a text, or nil for a short
// text. Equal keys at the same index mean "probably copied".
func bandKeys(text string) []uint64 {
	words := normalizeWords(text)
	if len(words) < minDupWords {
		return nil
	}
	var mins [bands * rowsPerBand]uint64
	for i := range mins {
		mins[i] = ^uint64(0)
	}
	for i := 0; i+1 < len(words); i++ {
		h := xxhash.Sum64String(words[i] + " " + words[i+1])
		for j := range mins {
			// Cheap independent-enough hash family: mix with a per-row odd constant.
			v := mix(h ^ (uint64(j+1) * 0x9e3779b97f4a7c15))
			if v < mins[j] {
				mins[j] = v
			}
		}
	}
	keys := make([]uint64, bands)
	for b := range bands {
		h := uint64(b+1) * 0xff51afd7ed558ccd
		for r := range rowsPerBand {
			h = mix(h ^ mins[b*rowsPerBand+r])
		}
		keys[b] = h | 1 // never 0
	}
	return keys
}

func mix(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}

// normalizeWords lower-cases the text and drops links, mentions, hashtags'
// marks and punctuation, so trivial edits do not hide a copy.
func normalizeWords(text string) []string {
	var out []string
	for _, f := range strings.Fields(strings.ToLower(text)) {
		if strings.HasPrefix(f, "http://") || strings.HasPrefix(f, "https://") || strings.HasPrefix(f, "@") {
			continue
		}
		w := strings.TrimFunc(f, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
		if w != "" {
			out = append(out, w)
		}
	}
	return out
}

// countVoices counts the voices among entries: authors joined when they
// share a band key at the same band index.
func countVoices(entries []*entry) int {
	switch len(entries) {
	case 0:
		return 0
	case 1:
		return 1
	}
	parent := make(map[uint64]uint64, len(entries))
	var find func(uint64) uint64
	find = func(x uint64) uint64 {
		p, ok := parent[x]
		if !ok {
			parent[x] = x
			return x
		}
		if p == x {
			return x
		}
		r := find(p)
		parent[x] = r
		return r
	}
	union := func(a, b uint64) {
		ra, rb := find(a), find(b)
		if ra != rb {
			parent[ra] = rb
		}
	}
	owner := make(map[[2]uint64]uint64) // (band index, key) -> first author
	for _, e := range entries {
		find(e.Author)
		for i, k := range e.Bands {
			bk := [2]uint64{uint64(i), k}
			if a, ok := owner[bk]; ok {
				union(a, e.Author)
			} else {
				owner[bk] = e.Author
			}
		}
	}
	n := 0
	for x := range parent {
		if find(x) == x {
			n++
		}
	}
	return n
}
