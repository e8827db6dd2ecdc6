package syncer

import (
	"bufio"
	"strings"
)

// maxHeader bounds how much of a message is read looking for its
// Message-ID: a header is never this long in practice.
const maxHeader = 4 << 20

// messageID returns the Message-ID of a message: the first <...> token of
// the first Message-ID header (unfolded), or the header's trimmed value when
// it has no angle brackets; "" when there is none. It reads only the header.
// The target side reads BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)] through the
// same function, so both sides agree.
func messageID(r *bufio.Reader) string {
	read := 0
	var value strings.Builder
	inID := false
	for read < maxHeader {
		line, err := r.ReadString('\n')
		read += len(line)
		trimmed := strings.TrimRight(line, "\r\n")
		if inID {
			if len(trimmed) > 0 && (trimmed[0] == ' ' || trimmed[0] == '\t') {
				value.WriteString(trimmed)
				if err != nil {
					break
				}
				continue
			}
			break
		}
		if trimmed == "" {
			return "" // end of header, or of message
		}
		if name, v, ok := strings.Cut(trimmed, ":"); ok && strings.EqualFold(name, "Message-ID") {
			value.WriteString(v)
			inID = true
		}
		if err != nil {
			break
		}
	}
	if !inID {
		return ""
	}
	// Control characters (a bare CR, a NUL) are no part of an identifier;
	// both sides drop them alike.
	s := strings.TrimSpace(strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, value.String()))
	if i := strings.IndexByte(s, '<'); i >= 0 {
		if j := strings.IndexByte(s[i:], '>'); j > 0 {
			return s[i : i+j+1]
		}
	}
	return s
}
