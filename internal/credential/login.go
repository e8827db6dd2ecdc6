package credential

import (
	"fmt"
	"strings"
)

// Form is the login form of a migration file row.
type Form string

// The login forms, as named in reports, JSON and the documentation.
const (
	Plain     Form = "plain"
	Exchange  Form = "exchange"
	Dovecot   Form = "dovecot"
	Mirapoint Form = "mirapoint"
	UserRoot  Form = "userroot"
)

// Forms lists every form in the order they are shown in summaries.
var Forms = []Form{Plain, Exchange, Dovecot, Mirapoint, UserRoot}

// Describe returns a short human description of the form.
func (f Form) Describe() string {
	switch f {
	case Plain:
		return "the user's own login"
	case Exchange:
		return "Exchange admin login Domain/Admin/User"
	case Dovecot:
		return "Dovecot master user User*Admin"
	case Mirapoint:
		return "Mirapoint admin login #user@domain#Admin#"
	case UserRoot:
		return "admin login with UserRoot (virtual shared folders)"
	}
	return string(f)
}

// DefaultMasterSeparator is Dovecot's conventional master user separator, the
// one Exchange Online's documentation uses.
const DefaultMasterSeparator = "*"

// Login is one row's login, recognised.
type Login struct {
	Raw  string // the UserName cell as written: the login name sent to the server
	Root string // the UserRoot cell as written ("" when none)
	Form Form

	// User is whose mailbox is opened: the user part of an admin form, the
	// whole name for Plain, the last segment of Root for UserRoot (display
	// only; may be "").
	User string
	// Admin is whose password the row holds: the admin part of an admin
	// form, the UserName for UserRoot, "" for Plain.
	Admin string
	// Domain is the Windows domain of an Exchange login, otherwise the
	// domain of User when User is an address ("" when none).
	Domain string
}

// Warning says what looks wrong in a login and how it is usually written.
type Warning struct {
	Message string
	Fix     string
}

func (w Warning) String() string { return w.Message + " — " + w.Fix }

// IsAdmin reports whether the row logs in with an administrator's password
// rather than the user's own.
func (l Login) IsAdmin() bool { return l.Form != Plain && l.Form != "" }

// SASLPlain returns the identities of the SASL PLAIN login (RFC 4616) that an
// admin form stands for: authzid is the user to act as, authcid the admin
// whose password the row holds. For Exchange, authcid is the down-level logon
// name Domain\Admin. ok is false for Plain and UserRoot, which log in as
// themselves.
func (l Login) SASLPlain() (authzid, authcid string, ok bool) {
	switch l.Form {
	case Dovecot, Mirapoint:
		return l.User, l.Admin, true
	case Exchange:
		return l.User, l.Domain + `\` + l.Admin, true
	}
	return "", "", false
}

// String describes the login for display, e.g. "dovecot: user terry.adams,
// admin mailadmin". It holds no secret.
func (l Login) String() string {
	var b strings.Builder
	b.WriteString(string(l.Form))
	b.WriteString(": ")
	switch {
	case l.Form == Plain:
		b.WriteString("user " + l.User)
	case l.User != "":
		b.WriteString("user " + l.User + ", admin " + l.Admin)
	default:
		b.WriteString("admin " + l.Admin)
	}
	if l.Root != "" {
		b.WriteString(", root " + l.Root)
	}
	return b.String()
}

// Parse recognises the login form of a UserName and optional UserRoot.
// masterSeparator is the source endpoint's Dovecot master user separator
// ("" means DefaultMasterSeparator). The returned warnings describe names
// that carry a form's marker without being well formed; Parse never fails,
// because the name is sent as written whatever it looks like.
func Parse(userName, userRoot, masterSeparator string) (Login, []Warning) {
	if masterSeparator == "" {
		masterSeparator = DefaultMasterSeparator
	}
	l := Login{Raw: userName, Root: userRoot, Form: Plain, User: userName}
	var warns []Warning
	switch {
	case strings.HasPrefix(userName, "#"):
		if w, ok := l.mirapoint(); !ok {
			warns = append(warns, w)
		}
	case strings.Contains(userName, "/") && !strings.Contains(masterSeparator, "/"):
		if w, ok := l.exchange(); !ok {
			warns = append(warns, w)
		}
	case strings.Contains(userName, masterSeparator):
		if w, ok := l.dovecot(masterSeparator); !ok {
			warns = append(warns, w)
		}
	}
	if len(warns) == 0 && l.Form != Exchange {
		// A malformed admin form is no address: give it no domain.
		l.Domain = addressDomain(l.User)
	}
	if userRoot != "" {
		if l.Form == Plain {
			l.Form, l.Admin, l.User = UserRoot, userName, rootLeaf(userRoot)
			l.Domain = addressDomain(l.User)
		} else {
			warns = append(warns, Warning{
				Message: fmt.Sprintf("UserRoot is given with a %s admin login", l.Form),
				Fix:     "UserRoot goes with the admin's own login (Courier, Oracle virtual shared folders); leave UserRoot empty for admin login forms unless your server needs both",
			})
		}
	}
	return l, warns
}

// mirapoint recognises #user@domain#admin#.
func (l *Login) mirapoint() (Warning, bool) {
	const how = "a Mirapoint admin login is written #user@domain#Admin_UserName#"
	raw := l.Raw
	parts := strings.Split(raw, "#")
	switch {
	case !strings.HasSuffix(raw, "#") || len(raw) == 1:
		return Warning{`starts with "#" like a Mirapoint admin login but has no closing "#"`, how}, false
	case len(parts) != 4:
		return Warning{fmt.Sprintf(`starts with "#" like a Mirapoint admin login but has %d "#" instead of 3`, len(parts)-1), how}, false
	}
	user, admin := parts[1], parts[2]
	at := strings.LastIndexByte(user, '@')
	switch {
	case user == "" || admin == "":
		return Warning{"looks like a Mirapoint admin login but its user or admin part is empty", how}, false
	case at <= 0 || at == len(user)-1:
		return Warning{fmt.Sprintf("looks like a Mirapoint admin login but its user part %q is not user@domain", user), how}, false
	}
	l.Form, l.User, l.Admin = Mirapoint, user, admin
	return Warning{}, true
}

// exchange recognises Domain/Admin/User.
func (l *Login) exchange() (Warning, bool) {
	const how = "an Exchange admin login is written Domain/Admin_UserName/User_UserName"
	parts := strings.Split(l.Raw, "/")
	if len(parts) != 3 {
		return Warning{fmt.Sprintf(`contains %d "/" like an Exchange admin login, which has 2`, len(parts)-1), how}, false
	}
	if parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return Warning{"looks like an Exchange admin login but its domain, admin or user part is empty", how}, false
	}
	l.Form, l.Domain, l.Admin, l.User = Exchange, parts[0], parts[1], parts[2]
	return Warning{}, true
}

// dovecot recognises user<sep>admin, split at the first separator as
// Dovecot does.
func (l *Login) dovecot(sep string) (Warning, bool) {
	how := fmt.Sprintf("a Dovecot master user login is written User_UserName%sAdmin_UserName", sep)
	user, admin, _ := strings.Cut(l.Raw, sep)
	switch {
	case user == "" || admin == "":
		return Warning{fmt.Sprintf("contains the master user separator %q but its user or admin part is empty", sep), how}, false
	case strings.Contains(admin, sep):
		return Warning{fmt.Sprintf("contains the master user separator %q more than once", sep), how + "; Dovecot takes everything after the first separator as the admin"}, false
	}
	l.Form, l.User, l.Admin = Dovecot, user, admin
	return Warning{}, true
}

// rootLeaf is the last non-empty "/"-separated segment of a UserRoot.
func rootLeaf(root string) string {
	root = strings.TrimRight(root, "/")
	return root[strings.LastIndexByte(root, '/')+1:]
}

// addressDomain is the domain of user@domain, or "".
func addressDomain(s string) string {
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return ""
	}
	return s[at+1:]
}
