package classify

import (
	"unicode"
	"unicode/utf8"
)

// The matcher runs over a folded copy of the post: lower case, accents removed, full-width forms
// made ASCII, typographic quotes and dashes made plain, invalid UTF-8 made spaces. Every pattern is
// folded the same way, so one byte-level automaton finds them all. off maps each folded byte back to
// the byte of the original text that produced it, so matches can quote the post as written.

// latinFold maps accented Latin letters (already lower case) to their base letters.
var latinFold = map[rune]string{
	'à': "a", 'á': "a", 'â': "a", 'ã': "a", 'ä': "a", 'å': "a", 'ā': "a", 'ă': "a", 'ą': "a",
	'ç': "c", 'ć': "c", 'č': "c", 'ď': "d", 'đ': "d",
	'è': "e", 'é': "e", 'ê': "e", 'ë': "e", 'ē': "e", 'ė': "e", 'ę': "e", 'ě': "e",
	'ì': "i", 'í': "i", 'î': "i", 'ï': "i", 'ī': "i", 'ı': "i", 'ğ': "g",
	'ł': "l", 'ñ': "n", 'ń': "n", 'ň': "n",
	'ò': "o", 'ó': "o", 'ô': "o", 'õ': "o", 'ö': "o", 'ø': "o", 'ō': "o", 'ő': "o",
	'ř': "r", 'ś': "s", 'š': "s", 'ş': "s", 'ș': "s", 'ť': "t", 'ț': "t",
	'ù': "u", 'ú': "u", 'û': "u", 'ü': "u", 'ū': "u", 'ů': "u", 'ű': "u",
	'ý': "y", 'ÿ': "y", 'ź': "z", 'ż': "z", 'ž': "z",
	'ß': "ss", 'æ': "ae", 'œ': "oe",
	'’': "'", '‘': "'", 'ʼ': "'", '′': "'", '`': "'", '´': "'",
	'“': "\"", '”': "\"", '„': "\"", '«': "\"", '»': "\"",
	'–': "-", '—': "-", '‐': "-", '‑': "-", '−': "-",
	'！': "!", '？': "?", '＃': "#", '＠': "@",
	'\u3000': " ", '\u00a0': " ", '\u2009': " ", '\u202f': " ",
}

// foldRune appends the folded form of r to dst.
func foldRune(dst []byte, r rune) []byte {
	if r < utf8.RuneSelf {
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		return append(dst, byte(r))
	}
	if 0xFF01 <= r && r <= 0xFF5E { // full-width ASCII
		r -= 0xFEE0
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		return append(dst, byte(r))
	}
	switch r {
	case 0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0xFE0F, 0xFE0E: // invisible
		return dst
	}
	if s, ok := latinFold[r]; ok {
		return append(dst, s...)
	}
	l := unicode.ToLower(r)
	if s, ok := latinFold[l]; ok {
		return append(dst, s...)
	}
	return utf8.AppendRune(dst, l)
}

// foldString folds s the way the matcher folds posts.
func foldString(s string) string {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		b = foldRune(b, r)
	}
	return string(b)
}

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
		t.norm = foldRune(t.norm, r)
		for range len(t.norm) - n {
			t.off = append(t.off, int32(i))
		}
		i += size
	}
	t.off = append(t.off, int32(len(text)))
}

// isWordRune reports whether r is part of a word for boundary purposes.
func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '_'
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
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
