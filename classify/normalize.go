package classify

import (
	"unicode/utf8"

	"github.com/downsignal/downsignal/catalog"
)

// The matcher runs over a folded copy of the post: lower case, accents removed, full-width forms
// made ASCII, typographic quotes and dashes made plain, invalid UTF-8 made spaces. Every pattern is
// folded the same way, so one byte-level automaton finds them all. off maps each folded byte back to
// the byte of the original text that produced it, so matches can quote the post as written.

// fold writes the folded text into t.norm and the offsets into t.off (len(norm)+1 entries).
func (t *scratch) fold(text string) {
	t.norm = t.norm[:0]
	t.off = t.off[:0]
	for i := 0; i < len(text); {
		c := text[i]
		if c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			t.norm = append(t.norm, c)
			t.off = append(t.off, int32(i))
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		if r == utf8.RuneError && size <= 1 {
			t.norm = append(t.norm, ' ')
			t.off = append(t.off, int32(i))
			i++
			continue
		}
		n := len(t.norm)
		t.norm = catalog.FoldRune(t.norm, r)
		for range len(t.norm) - n {
			t.off = append(t.off, int32(i))
		}
		i += size
	}
	t.off = append(t.off, int32(len(text)))
}

// isSpaceless reports whether r belongs to a script written without spaces between words, where a
// neighbouring character is no word boundary problem for a pattern in another script.
func isSpaceless(r rune) bool {
	return 0x3040 <= r && r <= 0x30FF || // hiragana, katakana
		0x3400 <= r && r <= 0x9FFF || // CJK ideographs
		0xF900 <= r && r <= 0xFAFF ||
		0xFF66 <= r && r <= 0xFF9F || // half-width katakana
		0xAC00 <= r && r <= 0xD7AF || // hangul
		0x0E00 <= r && r <= 0x0E7F // thai
}

func isKatakana(r rune) bool { return 0x30A0 <= r && r <= 0x30FF || 0xFF66 <= r && r <= 0xFF9F }

func isKana(r rune) bool { return 0x3040 <= r && r <= 0x30FF }

// runeBefore returns the rune that ends at b[i] (exclusive), or 0 at the start.
func runeBefore(b []byte, i int) rune {
	if i <= 0 {
		return 0
	}
	r, _ := utf8.DecodeLastRune(b[:i])
	return r
}

// runeAt returns the rune that starts at b[i], or 0 at the end.
func runeAt(b []byte, i int) rune {
	if i >= len(b) {
		return 0
	}
	r, _ := utf8.DecodeRune(b[i:])
	return r
}
