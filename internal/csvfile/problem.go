package csvfile

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Problem is one thing wrong (or, in File.Warnings, worth a look) in a
// migration file, said so that an admin can find and fix it in Excel.
type Problem struct {
	// Row is the row as Excel shows it (the header is row 1); 0 when the
	// problem is about the whole file.
	Row int `json:"Row"`
	// Column is the attribute (EmailAddress, …) for a mailbox row, or the
	// Excel column letter (A, B, …) for a header cell or a cell with no
	// attribute; "" when the problem is about the whole row.
	Column  string `json:"Column,omitempty"`
	Message string `json:"Message"` // what is wrong; never holds a password
	Fix     string `json:"Fix"`     // how to fix it
}

// String formats the problem as "row N, column C: what is wrong — how to fix".
func (p Problem) String() string {
	var b strings.Builder
	switch {
	case p.Row == 0:
		b.WriteString("file")
	case p.Column == "":
		fmt.Fprintf(&b, "row %d", p.Row)
	default:
		fmt.Fprintf(&b, "row %d, column %s", p.Row, p.Column)
	}
	b.WriteString(": ")
	b.WriteString(p.Message)
	if p.Fix != "" {
		b.WriteString(" — ")
		b.WriteString(p.Fix)
	}
	return b.String()
}

// ProblemsError is returned by Parse when a migration file is invalid. It
// holds the first problems (Options.MaxProblems of the row problems, and
// every whole-file problem), ordered by row, and counts the rest.
type ProblemsError struct {
	Problems []Problem
	Omitted  int // problems found but not kept

	// Notices say how the file was read (encoding, separator), as in File.
	Notices []string
	// Warnings found on the way; they do not make the file invalid.
	Warnings        []Problem
	WarningsOmitted int
}

// Total is the number of problems found.
func (e *ProblemsError) Total() int { return len(e.Problems) + e.Omitted }

// Error lists every kept problem, one per line.
func (e *ProblemsError) Error() string {
	var b strings.Builder
	n := e.Total()
	fmt.Fprintf(&b, "invalid migration file: %d %s", n, plural(n, "problem", "problems"))
	for _, p := range e.Problems {
		b.WriteString("\n")
		b.WriteString(p.String())
	}
	if e.Omitted > 0 {
		fmt.Fprintf(&b, "\n… and %d more %s", e.Omitted, plural(e.Omitted, "problem", "problems"))
	}
	return b.String()
}

// problems collects problems or warnings up to a limit. Whole-file problems
// (row 0) are always kept: there are few of them and they matter most.
type problems struct {
	max     int
	rowKept int
	list    []Problem
	omitted int
}

func (c *problems) add(row int, column, message, fix string) {
	if row > 0 && c.rowKept >= c.max {
		c.omitted++
		return
	}
	if row > 0 {
		c.rowKept++
	}
	c.list = append(c.list, Problem{Row: row, Column: column, Message: message, Fix: fix})
}

// sorted returns the problems ordered by row, stable within a row.
func (c *problems) sorted() []Problem {
	slices.SortStableFunc(c.list, func(a, b Problem) int { return cmp.Compare(a.Row, b.Row) })
	return c.list
}

func (c *problems) empty() bool { return len(c.list) == 0 && c.omitted == 0 }

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
