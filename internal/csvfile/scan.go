package csvfile

import (
	"strings"
)

// record is one row of the file as Excel shows it.
type record struct {
	row   int // 1-based, counting every row Excel shows, blank ones too
	cells []string
	// bad is the first syntax error of the row, if any.
	bad *syntaxError
}

// syntaxError is a quoting mistake in one cell.
type syntaxError struct {
	cell     int
	msg, fix string
}

// blank reports whether the row shows nothing: an empty line, or cells that
// are all empty or spaces (what Excel writes for an emptied row: ",,,").
func (r record) blank() bool {
	for _, c := range r.cells {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// scanner splits text into records by the rules Excel writes and reads
// (RFC 4180): cells separated by sep; a cell in double quotes may hold sep,
// line breaks and doubled quotes (""); rows end with CRLF, LF or a lone CR
// (Excel for Mac). Unlike encoding/csv it returns empty lines as blank rows
// and says in which cell a quoting mistake is, because problems are reported
// by Excel row and column; after a mistake it carries on, so that every
// problem of the file is found at once.
type scanner struct {
	text string
	sep  byte
	pos  int
	row  int
}

// next returns the next record, or false at the end of the text. A final line
// break ends the last row; it does not start an empty one.
func (s *scanner) next() (record, bool) {
	if s.pos >= len(s.text) {
		return record{}, false
	}
	s.row++
	rec := record{row: s.row}
	for {
		rec.cells = append(rec.cells, s.cell(&rec, len(rec.cells)))
		if s.pos < len(s.text) && s.text[s.pos] == s.sep {
			s.pos++
			continue
		}
		break
	}
	// s.cell stops only at sep, a line break or the end.
	if s.pos < len(s.text) && s.text[s.pos] == '\r' {
		s.pos++
	}
	if s.pos < len(s.text) && s.text[s.pos] == '\n' {
		s.pos++
	}
	return rec, true
}

// cell reads one cell starting at s.pos and leaves s.pos at the separator,
// line break or end that follows it.
func (s *scanner) cell(rec *record, idx int) string {
	t := s.text
	if s.pos < len(t) && t[s.pos] == '"' {
		s.pos++
		var b strings.Builder
		for {
			i := strings.IndexByte(t[s.pos:], '"')
			if i < 0 {
				b.WriteString(strings.ReplaceAll(t[s.pos:], "\r\n", "\n"))
				s.pos = len(t)
				rec.fail(idx, "a double quote opens a value that is never closed (the rest of the file is inside it)",
					`end the value with a double quote, and write each double quote inside a quoted value twice ("")`)
				return b.String()
			}
			b.WriteString(strings.ReplaceAll(t[s.pos:s.pos+i], "\r\n", "\n"))
			s.pos += i + 1
			if s.pos < len(t) && t[s.pos] == '"' {
				b.WriteByte('"')
				s.pos++
				continue
			}
			break
		}
		if s.pos < len(t) && !s.stop(t[s.pos]) {
			rec.fail(idx, "text after the closing double quote of a quoted value",
				`put the whole value in double quotes and write each double quote inside it twice (""), as Excel does when it saves`)
			b.WriteString(s.unquoted())
		}
		return b.String()
	}
	v := s.unquoted()
	if strings.IndexByte(v, '"') >= 0 {
		rec.fail(idx, "a double quote inside a value that does not start with one",
			`put the whole value in double quotes and write the double quote inside it twice (""), as Excel does when it saves`)
	}
	return v
}

// unquoted reads up to the next separator, line break or end.
func (s *scanner) unquoted() string {
	start := s.pos
	for s.pos < len(s.text) && !s.stop(s.text[s.pos]) {
		s.pos++
	}
	return s.text[start:s.pos]
}

func (s *scanner) stop(c byte) bool { return c == s.sep || c == '\n' || c == '\r' }

func (r *record) fail(cell int, msg, fix string) {
	if r.bad == nil {
		r.bad = &syntaxError{cell: cell, msg: msg, fix: fix}
	}
}
