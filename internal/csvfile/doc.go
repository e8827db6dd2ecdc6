// Package csvfile reads and validates migration files: the CSV an admin saves
// from Excel with one row per mailbox (EmailAddress, UserName, Password and
// optionally UserRoot). It is the only parser of that file in imapmigrate.
//
// Parse accepts every file a careful admin could have meant and rejects a bad
// one with all its problems at once (a *ProblemsError), each with its row,
// its column and a fix, so that nothing is created from a file with any
// problem. The user documentation is docs/migration-file.md; the rules and
// the decisions behind them are:
//
// Rows are numbered as Excel shows them when it opens the file: the header is
// row 1, the first mailbox row 2, blank rows count, and a quoted value that
// holds a line break does not start a new row. A first line "sep=;" (which
// Excel reads as a directive and does not show) is not counted.
//
// Encodings: a byte-order mark decides (UTF-8, UTF-16LE, UTF-16BE: Excel's
// "CSV UTF-8" and "Unicode text"); otherwise Options.Encoding, "auto" meaning
// UTF-8, or UTF-16 when the first two bytes are an ASCII character and a NUL.
// Legacy code pages (windows-1252, gbk, big5, … any WHATWG label) are never
// guessed: the admin names them. Bytes not valid in the encoding are reported
// per cell, saying which encoding was used and how to choose another.
//
// Separators: "," as Exchange Online requires, and also ";" (what Excel
// writes where "," is the decimal mark: Swedish, German, French, …) and tab
// (Excel's "Unicode text"). The separator is the one under which the first
// non-blank row names the most attributes, "," on a tie; any other than ","
// is accepted with a notice. A file is never read with a separator its
// header does not support, so a ";" file cannot be half-read as ",".
//
// Header: attribute names match case-insensitively, in any order. Spaces
// around a name are an error that says so (the reference insists on none;
// the column is still used to check the rows). Empty cells at the end of the
// header are Excel's padding of its used range and are ignored, as long as the
// rows hold nothing below them; an empty header cell before a named one is an
// error. Unknown attributes are errors, with a "did you mean" when the name
// differs from an attribute only by case, spaces or punctuation. A new
// attribute is one entry in the attributes table.
//
// Rows: CRLF, LF or CR line ends; RFC 4180 quoting (separators, quotes as "",
// and line breaks inside quotes); blank rows (empty lines, or cells that are
// all empty) are errors between mailbox rows and above the header, and
// ignored with a notice at the end. Every row has the header's number of
// cells. EmailAddress is trimmed of surrounding spaces and must be a bare
// address by net/mail's rules (no display name, brackets or comments), unique
// without regard to case; UserName and Password are kept exactly as written
// (they go to the source server so) and must not be empty; spaces around them
// are warnings. Each UserName is recognised by package credential; malformed
// admin forms and a file mixing forms are warnings.
//
// Limits: Options.MaxBytes (default 10 MB, counted in stored bytes) and
// Options.MaxRows (default 50,000 mailbox rows), as Exchange Online. A file
// over the byte limit is reported as such without reading further.
//
// Passwords never appear in a Problem, a warning, or the fmt or JSON output
// of a Row.
//
// Why not encoding/csv: it skips empty lines silently, numbers lines rather
// than rows, stops at the first quoting error without saying in which cell,
// and cannot be asked which separator a header uses. The scanner here is the
// same RFC 4180 reading with those answers, and is fuzzed (FuzzParse).
package csvfile
