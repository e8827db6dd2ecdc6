package imapconn

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// maxLine bounds one response line (without its literals): a server that
// sends more is broken or hostile.
const maxLine = 1 << 20

// readLine reads one IMAP response line ending in CRLF, without the CRLF.
func readLine(br *bufio.Reader) (string, error) {
	var sb strings.Builder
	for {
		chunk, isPrefix, err := br.ReadLine()
		if err != nil {
			return "", err
		}
		sb.Write(chunk)
		if sb.Len() > maxLine {
			return "", fmt.Errorf("response line longer than %d bytes", maxLine)
		}
		if !isPrefix {
			return sb.String(), nil
		}
	}
}

// literalSuffix returns the size of the literal announced at the end of line
// ("{123}" or "{123+}"), or -1.
func literalSuffix(line string) int64 {
	if !strings.HasSuffix(line, "}") {
		return -1
	}
	i := strings.LastIndexByte(line, '{')
	if i < 0 {
		return -1
	}
	num := strings.TrimSuffix(line[i+1:len(line)-1], "+")
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 {
		return -1
	}
	return n
}

// readResponse reads one whole response: a line, and, for each literal it
// announces, the literal's bytes (discarded) and the rest of the line.
// It returns the text with literals replaced by "{n}".
func readResponse(br *bufio.Reader) (string, error) {
	line, err := readLine(br)
	if err != nil {
		return "", err
	}
	full := line
	for {
		n := literalSuffix(line)
		if n < 0 {
			return full, nil
		}
		if _, err := io.CopyN(io.Discard, br, n); err != nil {
			return "", err
		}
		line, err = readLine(br)
		if err != nil {
			return "", err
		}
		full += line
	}
}

// quote returns s as an IMAP quoted string. ok is false when s cannot be
// quoted (CR, LF, NUL or 8-bit bytes) and must be sent as a literal.
func quote(s string) (q string, ok bool) {
	var sb strings.Builder
	sb.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			sb.WriteByte('\\')
			sb.WriteByte(c)
		case c == 0 || c == '\r' || c == '\n' || c >= 0x80:
			return "", false
		default:
			sb.WriteByte(c)
		}
	}
	sb.WriteByte('"')
	return sb.String(), true
}

// quoteUTF8 quotes s for a session where IMAP4rev2 is enabled: 8-bit UTF-8
// is allowed in quoted strings; CR, LF and NUL cannot occur in mailbox names.
func quoteUTF8(s string) string {
	var sb strings.Builder
	sb.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '"' || c == '\\' {
			sb.WriteByte('\\')
		}
		if c != '\r' && c != '\n' && c != 0 {
			sb.WriteByte(c)
		}
	}
	sb.WriteByte('"')
	return sb.String()
}

// encodeMailbox encodes a UTF-8 mailbox name in modified UTF-7 (RFC 3501
// section 5.1.3), as go-imap's client does for the commands it sends.
func encodeMailbox(name string) string {
	var sb strings.Builder
	var pending []rune
	flush := func() {
		if len(pending) == 0 {
			return
		}
		units := utf16.Encode(pending)
		b := make([]byte, 0, 2*len(units))
		for _, u := range units {
			b = append(b, byte(u>>8), byte(u))
		}
		sb.WriteByte('&')
		sb.WriteString(mutf7.EncodeToString(b))
		sb.WriteByte('-')
		pending = pending[:0]
	}
	for _, r := range name {
		if r >= 0x20 && r <= 0x7e {
			flush()
			if r == '&' {
				sb.WriteString("&-")
			} else {
				sb.WriteRune(r)
			}
			continue
		}
		if r == utf8.RuneError {
			r = '\uFFFD'
		}
		pending = append(pending, r)
	}
	flush()
	return sb.String()
}

// decodeMailbox is the inverse of encodeMailbox.
func decodeMailbox(s string) (string, error) {
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '&' {
			if c < 0x20 || c > 0x7e {
				return "", errors.New("mailbox name: 8-bit byte in modified UTF-7")
			}
			sb.WriteByte(c)
			continue
		}
		end := strings.IndexByte(s[i+1:], '-')
		if end < 0 {
			return "", errors.New("mailbox name: unterminated modified UTF-7 run")
		}
		run := s[i+1 : i+1+end]
		i += end + 1
		if run == "" {
			sb.WriteByte('&')
			continue
		}
		b, err := mutf7.DecodeString(run)
		if err != nil || len(b)%2 != 0 {
			return "", fmt.Errorf("mailbox name: bad modified UTF-7 run %q", run)
		}
		units := make([]uint16, len(b)/2)
		for j := range units {
			units[j] = uint16(b[2*j])<<8 | uint16(b[2*j+1])
		}
		sb.WriteString(string(utf16.Decode(units)))
	}
	return sb.String(), nil
}
