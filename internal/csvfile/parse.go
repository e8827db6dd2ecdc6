package csvfile

import (
	"fmt"
	"io"
	"math"
	"net/mail"
	"strings"
	"unicode"

	"github.com/imapmigrate/imapmigrate/internal/credential"
	"github.com/imapmigrate/imapmigrate/internal/sensitive"
)

// Defaults, from Exchange Online's limits for a migration file.
const (
	DefaultMaxRows     = 50_000
	DefaultMaxBytes    = 10 << 20 // 10 MiB, Exchange Online's "10 MB"
	DefaultMaxProblems = 100
)

// Options says how to read a migration file. The zero value reads like
// Exchange Online, with encoding detection.
type Options struct {
	// Encoding is "" or "auto" (a byte-order mark, else UTF-8, else
	// UTF-16 recognised by its NUL bytes), or a WHATWG encoding label:
	// "utf-8", "utf-16le", "utf-16be", "windows-1252" (also "latin1"),
	// "gbk", "gb18030", "big5", "shift_jis", …. A byte-order mark in the
	// file wins over the label.
	Encoding string
	// MaxRows is the most mailbox rows (header and blank rows not counted);
	// 0 means DefaultMaxRows.
	MaxRows int
	// MaxBytes is the largest file, counted in bytes as stored (before
	// decoding); 0 means DefaultMaxBytes.
	MaxBytes int64
	// MasterSeparator is the source server's Dovecot master user separator;
	// "" means credential.DefaultMasterSeparator ("*").
	MasterSeparator string
	// MaxProblems is how many row problems (and, separately, row warnings)
	// are kept; 0 means DefaultMaxProblems.
	MaxProblems int
}

// Validate names the first bad option: a negative limit or an unknown
// encoding.
func (o Options) Validate() error {
	switch {
	case o.MaxRows < 0:
		return fmt.Errorf("csv max rows %d: must be positive", o.MaxRows)
	case o.MaxBytes < 0:
		return fmt.Errorf("csv max bytes %d: must be positive", o.MaxBytes)
	case o.MaxProblems < 0:
		return fmt.Errorf("csv max problems %d: must be positive", o.MaxProblems)
	}
	_, _, err := lookupEncoding(o.Encoding)
	return err
}

func (o Options) withDefaults() (Options, error) {
	if err := o.Validate(); err != nil {
		return o, err
	}
	if o.MaxRows == 0 {
		o.MaxRows = DefaultMaxRows
	}
	if o.MaxBytes == 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxProblems == 0 {
		o.MaxProblems = DefaultMaxProblems
	}
	if o.MasterSeparator == "" {
		o.MasterSeparator = credential.DefaultMasterSeparator
	}
	return o, nil
}

// Parse reads and validates a migration file. It returns the File when the
// file is valid, a *ProblemsError listing every problem when it is not, and
// any other error when it cannot be read or opts are wrong (an unknown
// encoding). It reads at most opts.MaxBytes+1 bytes: a larger file is
// reported as too large without looking further.
func Parse(r io.Reader, opts Options) (*File, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if opts.MaxBytes < math.MaxInt64 {
		r = io.LimitReader(r, opts.MaxBytes+1)
	}
	raw, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read migration file: %w", err)
	}
	return parse(raw, opts)
}

// parse validates raw file bytes; opts has its defaults.
func parse(raw []byte, opts Options) (*File, error) {
	c := &checker{
		opts:     opts,
		problems: problems{max: opts.MaxProblems},
		warnings: problems{max: opts.MaxProblems},
		seen:     map[string]int{},
		forms:    map[credential.Form][]int{},
	}
	if int64(len(raw)) > opts.MaxBytes {
		c.problems.add(0, "", fmt.Sprintf("the file is larger than %s", sizeString(opts.MaxBytes)),
			"split the mailboxes into several migration files, one batch each")
		return nil, c.err()
	}
	d, err := decode(raw, opts.Encoding)
	if err != nil {
		return nil, err
	}
	c.file.Encoding, c.file.Notices, c.badFix = d.encoding, d.notices, d.badFix
	text := d.text

	sep, text, fromLine := sepLine(text)
	if !fromLine {
		sep = detectSeparator(text)
	}
	c.file.Separator = string(sep)
	switch {
	case fromLine:
		c.notice(fmt.Sprintf("the first line sets the separator (sep=%c); Excel does not show it as a row, and neither do row numbers here", sep))
	case sep == ';':
		c.notice(`cells are separated by ";" (as Excel saves CSV where "," is the decimal mark: Swedish, German, French and other locales), so the file was read with ";"`)
	case sep == '\t':
		c.notice(`cells are separated by tabs (as Excel saves "Unicode text"), so the file was read with tabs`)
	}
	if strings.Contains(text, "\r") && !strings.Contains(text, "\n") {
		c.notice("rows end with a carriage return only (as older Excel for Mac saves CSV); read as line breaks")
	}

	if strings.TrimSpace(text) == "" {
		c.problems.add(0, "", "the file is empty",
			fmt.Sprintf("save the migration file again with a header row (%s) and one row per mailbox", requiredHeader))
		return nil, c.err()
	}
	c.check(&scanner{text: text, sep: sep})
	if !c.problems.empty() {
		return nil, c.err()
	}
	c.file.Warnings, c.file.WarningsOmitted = c.warnings.sorted(), c.warnings.omitted
	return &c.file, nil
}

// checker holds the state of one validation pass.
type checker struct {
	opts     Options
	file     File
	problems problems
	warnings problems
	badFix   string

	head     header
	dataRows int                       // non-blank rows after the header
	blanks   []int                     // blank rows not yet known to be followed by a mailbox row
	seen     map[string]int            // folded EmailAddress → first row
	forms    map[credential.Form][]int // rows of each login form
}

func (c *checker) notice(s string) { c.file.Notices = append(c.file.Notices, s) }

func (c *checker) err() error {
	return &ProblemsError{
		Problems: c.problems.sorted(), Omitted: c.problems.omitted, Notices: c.file.Notices,
		Warnings: c.warnings.sorted(), WarningsOmitted: c.warnings.omitted,
	}
}

// check reads the header and every row.
func (c *checker) check(s *scanner) {
	rec, more := s.next()
	for more && rec.blank() {
		c.blanks = append(c.blanks, rec.row)
		rec, more = s.next()
	}
	if !more { // only cells with nothing in them, like ""
		c.problems.add(0, "", "the file has only blank rows",
			fmt.Sprintf("save the migration file again with a header row (%s) and one row per mailbox", requiredHeader))
		return
	}
	for _, b := range c.blanks {
		c.problems.add(b, "", "blank row above the header", "delete the row: the header must be in row 1")
	}
	c.blanks = nil
	head, ok := readHeader(rec, &c.problems)
	if !ok {
		return
	}
	c.head = head
	for rec, more = s.next(); more; rec, more = s.next() {
		c.checkRow(rec)
	}
	if n := len(c.blanks); n > 0 {
		c.notice(fmt.Sprintf("ignored %d blank %s at the end of the file (%s)", n, plural(n, "row", "rows"), rowList(c.blanks, 5)))
	}
	switch {
	case c.dataRows == 0:
		c.problems.add(0, "", "the file has a header but no mailbox rows",
			"add one row per mailbox below the header")
	case c.dataRows > c.opts.MaxRows:
		c.problems.add(0, "", fmt.Sprintf("the file has %d mailbox rows, more than the limit of %d", c.dataRows, c.opts.MaxRows),
			"split the mailboxes into several migration files, one batch each")
	}
	c.checkForms()
}

// checkRow validates one row below the header and keeps it when it is valid.
func (c *checker) checkRow(rec record) {
	if rec.blank() {
		c.blanks = append(c.blanks, rec.row)
		return
	}
	for _, b := range c.blanks {
		c.problems.add(b, "", "blank row", "delete the row: a migration file has one row per mailbox, without gaps")
	}
	c.blanks = c.blanks[:0]
	c.dataRows++

	bad := false
	problem := func(column, msg, fix string) {
		bad = true
		c.problems.add(rec.row, column, msg, fix)
	}
	warn := func(column, msg, fix string) { c.warnings.add(rec.row, column, msg, fix) }
	h := c.head

	if rec.bad != nil {
		problem(c.columnName(rec.bad.cell), rec.bad.msg, rec.bad.fix)
		return
	}
	if len(rec.cells) != h.width {
		sepName := fmt.Sprintf("%q", c.file.Separator)
		if c.file.Separator == "\t" {
			sepName = "a tab"
		}
		problem("", fmt.Sprintf("the row has %d cells but the header has %d", len(rec.cells), h.width),
			fmt.Sprintf("a value that contains %s must be in double quotes (Excel does this when it saves); otherwise give the row one cell per header column", sepName))
		return
	}
	unreadable := map[int]bool{}
	for i, cell := range rec.cells {
		switch {
		case strings.ContainsRune(cell, '\x00'):
			unreadable[i] = true
			problem(c.columnName(i), "contains NUL characters",
				`the file is probably UTF-16 without a byte-order mark: give --csv-encoding utf-16le (or utf-16be), or save it from Excel as "CSV UTF-8"`)
		case strings.ContainsRune(cell, '\uFFFD'):
			unreadable[i] = true
			problem(c.columnName(i), "contains bytes that are not valid in the file's encoding (shown as �)", c.badFix)
		case i >= h.used && cell != "":
			problem(c.columnName(i), "a value in a column that has no attribute name",
				"delete the value, or name the column in row 1")
		}
	}
	cell := func(attr string) (string, bool) {
		i, ok := h.cols[attr]
		if !ok || unreadable[i] {
			return "", false
		}
		return rec.cells[i], true
	}

	email, hasEmail := cell(AttrEmailAddress)
	email = strings.TrimSpace(email)
	if hasEmail {
		switch msg, fix := checkEmail(email); {
		case msg != "":
			problem(AttrEmailAddress, msg, fix)
		default:
			key := foldKey(email)
			if first, dup := c.seen[key]; dup {
				problem(AttrEmailAddress, fmt.Sprintf("%q is also in row %d", email, first),
					fmt.Sprintf("each mailbox may have one row only: delete row %d or row %d", first, rec.row))
			} else {
				c.seen[key] = rec.row
			}
		}
	}

	user, hasUser := cell(AttrUserName)
	if hasUser && strings.TrimSpace(user) == "" {
		problem(AttrUserName, "empty",
			"enter the login of the mailbox on the source server, or an admin login form (see the migration file documentation)")
		user, hasUser = "", false
	}
	password, hasPassword := cell(AttrPassword)
	if hasPassword && password == "" {
		problem(AttrPassword, "empty", "enter the password of the UserName login (the admin's password for an admin login form)")
		hasPassword = false
	}
	root, _ := cell(AttrUserRoot)
	// These go to the source server exactly as written: spaces around them
	// may be meant, but rarely are.
	for _, v := range []struct{ attr, value, what string }{
		{AttrUserName, user, "the login"}, {AttrPassword, password, "the password"}, {AttrUserRoot, root, "the folder name"},
	} {
		if v.value != strings.TrimSpace(v.value) {
			warn(v.attr, "starts or ends with a space, which is part of "+v.what,
				"remove the space unless "+v.what+" really has it")
		}
	}

	targetUser, _ := cell(AttrTargetUserName)
	targetPassword, _ := cell(AttrTargetPassword)
	switch {
	case targetUser != "" && targetPassword == "":
		problem(AttrTargetPassword, "empty while TargetUserName is set", "enter the password of the TargetUserName login, or leave both empty")
	case targetUser == "" && targetPassword != "":
		problem(AttrTargetUserName, "empty while TargetPassword is set", "enter the login of the target mailbox, or leave both empty")
	}

	if !hasUser {
		return
	}
	login, warns := credential.Parse(user, root, c.opts.MasterSeparator)
	for _, w := range warns {
		warn(AttrUserName, w.Message, w.Fix)
	}
	c.forms[login.Form] = append(c.forms[login.Form], rec.row)
	if bad || !hasEmail || !hasPassword {
		return
	}
	c.file.Rows = append(c.file.Rows, Row{
		Number:       rec.row,
		EmailAddress: email,
		Password:     sensitive.String(password),
		Login:        login,

		TargetUserName: targetUser,
		TargetPassword: sensitive.String(targetPassword),
	})
}

// checkForms warns when rows log in in more than one way: a batch reads one
// source server, whose admin logins have one form.
func (c *checker) checkForms() {
	if len(c.forms) < 2 {
		return
	}
	var most credential.Form
	for _, f := range credential.Forms {
		if len(c.forms[f]) > len(c.forms[most]) {
			most = f
		}
	}
	var parts []string
	for _, f := range credential.Forms {
		rows := c.forms[f]
		switch {
		case len(rows) == 0:
			continue
		case f == most:
			parts = append(parts, fmt.Sprintf("%d %s", len(rows), f))
		default:
			parts = append(parts, fmt.Sprintf("%d %s (%s)", len(rows), f, rowList(rows, 5)))
		}
	}
	c.warnings.add(0, "", "the file mixes login forms: "+strings.Join(parts, ", "),
		"a batch reads one source server, which expects one form: check that the rows not in the "+string(most)+" form are meant so")
}

// columnName names cell i of a mailbox row: its attribute, or its letter.
func (c *checker) columnName(i int) string {
	for name, j := range c.head.cols {
		if i == j {
			return name
		}
	}
	return columnLetter(i)
}

// checkEmail returns what is wrong with an EmailAddress, or "" when it is
// a bare address by net/mail's rules (no display name, no angle brackets,
// no comments).
func checkEmail(s string) (msg, fix string) {
	if s == "" {
		return "empty", "enter the email address of the mailbox in the target system"
	}
	a, err := mail.ParseAddress(s)
	switch {
	case err != nil:
		return fmt.Sprintf("%q is not an email address", s), "write it as name@domain, for example terry.adams@contoso.com"
	case a.Name != "":
		return fmt.Sprintf("%q has a display name", s), "keep only the address: " + a.Address
	case a.Address != s:
		return fmt.Sprintf("%q is not written as a bare address", s), "write it as name@domain, without angle brackets, quotes or comments"
	}
	return "", ""
}

// foldKey maps s to a key equal for exactly the strings strings.EqualFold
// finds equal: each rune becomes the smallest rune of its case-folding orbit.
func foldKey(s string) string {
	return strings.Map(func(r rune) rune {
		m := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			m = min(m, f)
		}
		return m
	}, s)
}

// sepLine recognises a first line "sep=;" (which Excel reads as the
// separator and does not show) and returns the separator and the text after
// that line.
func sepLine(text string) (sep byte, rest string, ok bool) {
	if len(text) < 5 || !strings.EqualFold(text[:4], "sep=") {
		return ',', text, false
	}
	sep = text[4]
	if len(text) > 5 && text[5] != '\r' && text[5] != '\n' {
		return ',', text, false
	}
	printable := sep > ' ' && sep < 0x7f && sep != '"' && !unicode.IsLetter(rune(sep)) && !unicode.IsDigit(rune(sep))
	if !printable && sep != '\t' {
		return ',', text, false
	}
	rest = text[5:]
	rest = strings.TrimPrefix(rest, "\r")
	rest = strings.TrimPrefix(rest, "\n")
	return sep, rest, true
}

// detectSeparator picks the separator under which the header names the most
// attributes: ",", or ";" (Excel in locales with a decimal comma), or tab
// (Excel's "Unicode text"). A tie goes to ",".
func detectSeparator(text string) byte {
	best, bestN := byte(','), 0
	for _, sep := range []byte{',', ';', '\t'} {
		s := scanner{text: text, sep: sep}
		for rec, ok := s.next(); ok; rec, ok = s.next() {
			if rec.blank() {
				continue
			}
			n := 0
			for _, cell := range rec.cells {
				if _, found := guessAttribute(cell); found {
					n++
				}
			}
			if n > bestN {
				best, bestN = sep, n
			}
			break
		}
	}
	return best
}

// rowList writes "rows 3, 7, 9" with at most max rows, then "…".
func rowList(rows []int, max int) string {
	var b strings.Builder
	b.WriteString(plural(len(rows), "row ", "rows "))
	for i, r := range rows {
		if i == max {
			b.WriteString(", …")
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprint(&b, r)
	}
	return b.String()
}

// sizeString writes a byte count for admins: "10 MiB" for whole mebibytes.
func sizeString(n int64) string {
	if n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}
