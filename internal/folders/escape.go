package folders

import "unicode/utf8"

// The escape of a name segment that contains the target's hierarchy
// delimiter (see the package documentation, "Delimiters and escaping").
//
// Three runes take part: the delimiter d, its look-alike L (what d becomes,
// so that "R/D" still reads as R∕D in a mail client) and a marker M that
// quotes a literal L or M of the original name. The encoding is a prefix
// code, which is what makes it reversible:
//
//	d → L        L → M L        M → M M        anything else → itself
//
// so the output never contains d, and a segment that contains none of d, L
// and M (every real name) is left as it is.

// markerRune quotes a literal look-alike or marker: U+241B SYMBOL FOR ESCAPE.
const markerRune = '\u241B'

// escapeRunes returns the look-alike and the marker for delimiter d.
func escapeRunes(d rune) (look, mark rune) {
	switch {
	case d == '/':
		look = '\u2215' // DIVISION SLASH
	case d == '.':
		look = '\u2024' // ONE DOT LEADER
	case d == '\\':
		look = '\u29F5' // REVERSE SOLIDUS OPERATOR
	case d > ' ' && d < 0x7F:
		look = 0xFF01 + (d - '!') // the FULLWIDTH form of a printable ASCII character
	case d >= 0 && d <= ' ':
		look = 0x2400 + d // CONTROL PICTURES (SYMBOL FOR SPACE for ' ')
	case d == 0x7F:
		look = '\u2421' // SYMBOL FOR DELETE
	case d == '\u2215':
		look = '\u2024'
	default: // a non-ASCII delimiter (IMAP4rev2 UTF-8 mode only)
		look = '\u2215'
	}
	mark = markerRune
	if look == markerRune || d == markerRune {
		mark = '\u241C'
	}
	return look, mark
}

// Escape makes one hierarchy level of a folder name safe to use on a server
// whose hierarchy delimiter is delim: every delim in segment becomes a
// look-alike character (U+2215 "∕" for '/', U+2024 "․" for '.', the fullwidth
// form for other printable ASCII delimiters), so "R/D" becomes "R∕D" on a
// '/' server. A look-alike or a U+241B "␛" already present in segment is
// quoted with a "␛" in front, which keeps the escape reversible (see
// Unescape); names without these rare characters are returned unchanged.
// With delim 0 (a flat server) segment is returned unchanged. Bytes that are
// not valid UTF-8 are copied as they are.
//
// delim must not be utf8.RuneError.
func Escape(segment string, delim rune) string {
	if delim == 0 {
		return segment
	}
	look, mark := escapeRunes(delim)
	if !containsAny(segment, delim, look, mark) {
		return segment
	}
	out := make([]byte, 0, len(segment)+8)
	for i := 0; i < len(segment); {
		r, size := utf8.DecodeRuneInString(segment[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			out = append(out, segment[i])
		case r == delim:
			out = utf8.AppendRune(out, look)
		case r == look || r == mark:
			out = utf8.AppendRune(out, mark)
			out = utf8.AppendRune(out, r)
		default:
			out = append(out, segment[i:i+size]...)
		}
		i += size
	}
	return string(out)
}

// Unescape reverses Escape: Unescape(Escape(s, d), d) == s for every s and
// every delimiter d. A marker at the very end of segment, which Escape never
// produces, is kept as it is.
func Unescape(segment string, delim rune) string {
	if delim == 0 {
		return segment
	}
	look, mark := escapeRunes(delim)
	if !containsAny(segment, look, mark) {
		return segment
	}
	out := make([]byte, 0, len(segment))
	for i := 0; i < len(segment); {
		r, size := utf8.DecodeRuneInString(segment[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			out = append(out, segment[i])
		case r == mark:
			next, nsize := utf8.DecodeRuneInString(segment[i+size:])
			if nsize == 0 || (next == utf8.RuneError && nsize == 1) {
				out = append(out, segment[i:i+size]...) // lone marker: not ours
				break
			}
			out = utf8.AppendRune(out, next)
			size += nsize
		case r == look:
			out = utf8.AppendRune(out, delim)
		default:
			out = append(out, segment[i:i+size]...)
		}
		i += size
	}
	return string(out)
}

// containsAny reports whether s holds any of the (valid, non-RuneError) runes.
func containsAny(s string, runes ...rune) bool {
	for _, r := range s {
		for _, x := range runes {
			if r == x {
				return true
			}
		}
	}
	return false
}
