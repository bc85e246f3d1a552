package catalog

import (
	"unicode"
	"unicode/utf8"
)

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

// FoldRune appends the folded form of r to dst.
func FoldRune(dst []byte, r rune) []byte {
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

// Fold folds s the way the classifier folds posts: lower case, accents
// removed, full-width forms made ASCII, typographic quotes and dashes plain.
// Names are looked up and matched in this form.
func Fold(s string) string {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		b = FoldRune(b, r)
	}
	return string(b)
}

// IsWordRune reports whether r is part of a word for boundary purposes.
func IsWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '_'
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
}
