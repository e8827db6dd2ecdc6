package csvfile

import (
	"fmt"
	"strings"
	"unicode"
)

// The attributes of a migration file, as Exchange Online names them.
const (
	AttrEmailAddress = "EmailAddress"
	AttrUserName     = "UserName"
	AttrPassword     = "Password"
	AttrUserRoot     = "UserRoot"
	// TargetUserName and TargetPassword log in to the target mailbox, for a
	// target endpoint with per-user access.
	AttrTargetUserName = "TargetUserName"
	AttrTargetPassword = "TargetPassword"
)

// attribute is one column the migration file may have. A new attribute
// (TargetUserName, TargetPassword, …) is one entry here, one field in Row
// and its checks in checkRow.
type attribute struct {
	name     string
	required bool
}

var attributes = []attribute{
	{AttrEmailAddress, true},
	{AttrUserName, true},
	{AttrPassword, true},
	{AttrUserRoot, false},
	{AttrTargetUserName, false},
	{AttrTargetPassword, false},
}

// attributeList is "EmailAddress, UserName, Password, UserRoot", for messages.
var attributeList = func() string {
	names := make([]string, len(attributes))
	for i, a := range attributes {
		names[i] = a.name
	}
	return strings.Join(names, ", ")
}()

// requiredHeader is the header a minimal file starts with, for messages.
const requiredHeader = "EmailAddress,UserName,Password"

// header is the recognised header row.
type header struct {
	row   int
	width int            // cells in the header row, trailing padding included
	used  int            // cells up to the last non-empty one; the rest is padding
	cols  map[string]int // attribute name → cell index
}

// lookupAttribute matches a header cell exactly but for case.
func lookupAttribute(cell string) (attribute, bool) {
	for _, a := range attributes {
		if strings.EqualFold(cell, a.name) {
			return a, true
		}
	}
	return attribute{}, false
}

// guessAttribute matches a header cell loosely: case, spaces and punctuation
// ignored ("Email Address", "e-mail address", "User_Name").
func guessAttribute(cell string) (attribute, bool) {
	squash := func(s string) string {
		return strings.Map(func(r rune) rune {
			if unicode.IsLetter(r) || unicode.IsDigit(r) {
				return unicode.ToLower(r)
			}
			return -1
		}, s)
	}
	c := squash(cell)
	for _, a := range attributes {
		if c == squash(a.name) {
			return a, true
		}
	}
	return attribute{}, false
}

// readHeader checks the header row. ok is false when the row names no
// attribute at all: then it is no header, and the rows cannot be checked.
func readHeader(rec record, pr *problems) (h header, ok bool) {
	h = header{row: rec.row, width: len(rec.cells), cols: map[string]int{}}
	for i, c := range rec.cells {
		if c != "" {
			h.used = i + 1
		}
	}
	// A row that names no attribute, or holds an address, is no header but
	// most likely the first mailbox: then its cells (a password among them)
	// must not be quoted as unknown attribute names.
	msg := "the first row is not a header: it names none of the attributes " + attributeList
	for _, c := range rec.cells {
		if _, found := guessAttribute(c); found {
			msg = ""
		}
	}
	for _, c := range rec.cells {
		if strings.Contains(c, "@") {
			msg = "the first row looks like a mailbox, not a header"
		}
	}
	if msg != "" {
		pr.add(rec.row, "", msg, fmt.Sprintf("insert a first row with the attribute names %s (and UserRoot if you use it)", requiredHeader))
		return h, false
	}
	if rec.bad != nil {
		pr.add(rec.row, columnLetter(rec.bad.cell), rec.bad.msg, rec.bad.fix)
	}

	guessed := map[string]bool{} // attributes already named by a "did you mean"
	for i, cell := range rec.cells[:h.used] {
		col := columnLetter(i)
		name := strings.TrimSpace(cell)
		a, exact := lookupAttribute(name)
		switch {
		case name == "":
			pr.add(rec.row, col, "the column has no attribute name",
				"delete the column, or name it with one of "+attributeList)
			continue
		case !exact:
			if g, found := guessAttribute(name); found {
				guessed[g.name] = true
				pr.add(rec.row, col, fmt.Sprintf("unknown attribute %q", cell),
					fmt.Sprintf("did you mean %s? Write it exactly so, without spaces", g.name))
			} else {
				pr.add(rec.row, col, fmt.Sprintf("unknown attribute %q", cell),
					"the attributes are "+attributeList+"; rename the column or delete it")
			}
			continue
		case name != cell:
			pr.add(rec.row, col, fmt.Sprintf("attribute name %q has %s", cell, spaceWhere(cell)),
				fmt.Sprintf("remove the spaces: write exactly %s", a.name))
		}
		if j, dup := h.cols[a.name]; dup {
			pr.add(rec.row, col, fmt.Sprintf("attribute %s appears twice (columns %s and %s)", a.name, columnLetter(j), col),
				"delete one of the two columns")
			continue
		}
		h.cols[a.name] = i
	}
	for _, a := range attributes {
		if _, found := h.cols[a.name]; a.required && !found && !guessed[a.name] {
			pr.add(rec.row, "", fmt.Sprintf("the header has no %s attribute", a.name),
				fmt.Sprintf("add a column named %s; the header must name at least %s", a.name, requiredHeader))
		}
	}
	return h, true
}

// spaceWhere says where the spaces around a header name are.
func spaceWhere(s string) string {
	before := len(s) != len(strings.TrimLeftFunc(s, unicode.IsSpace))
	after := len(s) != len(strings.TrimRightFunc(s, unicode.IsSpace))
	switch {
	case before && after:
		return "spaces before and after it"
	case before:
		return "a space before it"
	}
	return "a space after it"
}

// columnLetter is Excel's name for the 0-based column i: A, …, Z, AA, ….
func columnLetter(i int) string {
	var b []byte
	for i++; i > 0; i = (i - 1) / 26 {
		b = append([]byte{byte('A' + (i-1)%26)}, b...)
	}
	return string(b)
}
