package csvfile

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/imapmigrate/imapmigrate/internal/credential"
	"github.com/imapmigrate/imapmigrate/internal/sensitive"
)

// File is a valid migration file.
type File struct {
	Rows      []Row
	Encoding  string   // how the bytes were read: "UTF-8", "UTF-16LE with BOM", "GBK", …
	Separator string   // between cells: ",", ";" or "\t"
	Notices   []string // how the file was read, where it differs from plain Exchange Online CSV

	// Warnings are things worth a look that do not make the file invalid:
	// a UserName that looks like a malformed admin login, a file that mixes
	// login forms, spaces around a password. At most Options.MaxProblems
	// row warnings are kept; WarningsOmitted counts the rest.
	Warnings        []Problem
	WarningsOmitted int
}

// Forms counts the rows of each login form.
func (f *File) Forms() map[credential.Form]int {
	n := map[credential.Form]int{}
	for _, r := range f.Rows {
		n[r.Login.Form]++
	}
	return n
}

// Row is one mailbox of a migration file. Printing it with fmt (any verb) or
// encoding/json masks the password.
type Row struct {
	Number       int    // the row as Excel shows it; the header is row 1
	EmailAddress string // the target mailbox, surrounding spaces removed
	Password     sensitive.String
	// Login is the UserName recognised: Login.Raw is the UserName exactly
	// as written (the login sent to the server), Login.Root the UserRoot.
	Login credential.Login
	// TargetUserName and TargetPassword, when the file has them, log in to
	// the target mailbox (per-user target access).
	TargetUserName string
	TargetPassword sensitive.String
}

// UserName is the UserName cell as written.
func (r Row) UserName() string { return r.Login.Raw }

// UserRoot is the UserRoot cell as written ("" when none).
func (r Row) UserRoot() string { return r.Login.Root }

// String describes the row with the password masked.
func (r Row) String() string {
	s := fmt.Sprintf("row %d: %s UserName=%q Password=***", r.Number, r.EmailAddress, r.Login.Raw)
	if r.Login.Root != "" {
		s += fmt.Sprintf(" UserRoot=%q", r.Login.Root)
	}
	if r.TargetUserName != "" {
		s += fmt.Sprintf(" TargetUserName=%q TargetPassword=***", r.TargetUserName)
	}
	return s + " (" + string(r.Login.Form) + ")"
}

// Format makes every fmt verb, %#v included, print String: a Row never
// prints its password.
func (r Row) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		fmt.Fprint(f, strconv.Quote(r.String()))
		return
	}
	fmt.Fprint(f, r.String())
}

// rowJSON is how a Row looks in JSON output.
type rowJSON struct {
	Row          int       `json:"Row"`
	EmailAddress string    `json:"EmailAddress"`
	UserName     string    `json:"UserName"`
	Password     string    `json:"Password"`
	UserRoot     string    `json:"UserRoot,omitempty"`
	TargetUser   string    `json:"TargetUserName,omitempty"`
	TargetPass   string    `json:"TargetPassword,omitempty"`
	Login        loginJSON `json:"Login"`
}

type loginJSON struct {
	Form   credential.Form `json:"Form"`
	User   string          `json:"User,omitempty"`
	Admin  string          `json:"Admin,omitempty"`
	Domain string          `json:"Domain,omitempty"`
}

// MarshalJSON writes the row with the password masked as "***".
func (r Row) MarshalJSON() ([]byte, error) {
	return json.Marshal(rowJSON{
		Row:          r.Number,
		EmailAddress: r.EmailAddress,
		UserName:     r.Login.Raw,
		Password:     "***",
		UserRoot:     r.Login.Root,
		TargetUser:   r.TargetUserName,
		TargetPass:   mask(r.TargetPassword),
		Login:        loginJSON{Form: r.Login.Form, User: r.Login.User, Admin: r.Login.Admin, Domain: r.Login.Domain},
	})
}

func mask(s sensitive.String) string {
	if s == "" {
		return ""
	}
	return "***"
}
