package credential

import (
	"fmt"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name, user, root, sep string
		want                  Login
		warn                  string // substring of the only warning, "" for none
	}{
		{name: "plain", user: "terry.adams",
			want: Login{Form: Plain, User: "terry.adams"}},
		{name: "plain address", user: "alberta@contoso.com",
			want: Login{Form: Plain, User: "alberta@contoso.com", Domain: "contoso.com"}},
		{name: "plain with hash inside", user: "a#b",
			want: Login{Form: Plain, User: "a#b"}},
		{name: "exchange", user: "contoso-students/mailadmin/terry.adams",
			want: Login{Form: Exchange, Domain: "contoso-students", Admin: "mailadmin", User: "terry.adams"}},
		{name: "exchange too few parts", user: "contoso/terry",
			want: Login{Form: Plain, User: "contoso/terry"}, warn: `contains 1 "/"`},
		{name: "exchange too many parts", user: "a/b/c/d",
			want: Login{Form: Plain, User: "a/b/c/d"}, warn: `contains 3 "/"`},
		{name: "exchange empty part", user: "contoso//terry",
			want: Login{Form: Plain, User: "contoso//terry"}, warn: "part is empty"},
		{name: "dovecot", user: "terry.adams*mailadmin",
			want: Login{Form: Dovecot, User: "terry.adams", Admin: "mailadmin"}},
		{name: "dovecot address", user: "terry@contoso.edu*mailadmin",
			want: Login{Form: Dovecot, User: "terry@contoso.edu", Admin: "mailadmin", Domain: "contoso.edu"}},
		{name: "dovecot custom separator", user: "terry%admin", sep: "%",
			want: Login{Form: Dovecot, User: "terry", Admin: "admin"}},
		{name: "dovecot star is plain with another separator", user: "terry*admin", sep: "%",
			want: Login{Form: Plain, User: "terry*admin"}},
		{name: "dovecot slash separator wins over exchange", user: "terry/admin", sep: "/",
			want: Login{Form: Dovecot, User: "terry", Admin: "admin"}},
		{name: "dovecot multi-character separator", user: "terry::admin", sep: "::",
			want: Login{Form: Dovecot, User: "terry", Admin: "admin"}},
		{name: "dovecot no user", user: "*admin",
			want: Login{Form: Plain, User: "*admin"}, warn: "user or admin part is empty"},
		{name: "dovecot no admin", user: "terry*",
			want: Login{Form: Plain, User: "terry*"}, warn: "user or admin part is empty"},
		{name: "dovecot two separators", user: "terry*admin*x",
			want: Login{Form: Plain, User: "terry*admin*x"}, warn: "more than once"},
		{name: "mirapoint", user: "#terry.adams@contoso-students.edu#mailadmin#",
			want: Login{Form: Mirapoint, User: "terry.adams@contoso-students.edu", Admin: "mailadmin", Domain: "contoso-students.edu"}},
		{name: "mirapoint without closing hash", user: "#a@b#admin",
			want: Login{Form: Plain, User: "#a@b#admin"}, warn: `no closing "#"`},
		{name: "mirapoint lone hash", user: "#",
			want: Login{Form: Plain, User: "#"}, warn: `no closing "#"`},
		{name: "mirapoint too many hashes", user: "#a@b#ad#min#",
			want: Login{Form: Plain, User: "#a@b#ad#min#"}, warn: `has 4 "#"`},
		{name: "mirapoint too few hashes", user: "#a@b#",
			want: Login{Form: Plain, User: "#a@b#"}, warn: `has 2 "#"`},
		{name: "mirapoint empty admin", user: "#a@b##",
			want: Login{Form: Plain, User: "#a@b##"}, warn: "part is empty"},
		{name: "mirapoint user not an address", user: "#terry#admin#",
			want: Login{Form: Plain, User: "#terry#admin#"}, warn: "is not user@domain"},
		{name: "mirapoint user ends with at", user: "#terry@#admin#",
			want: Login{Form: Plain, User: "#terry@#admin#"}, warn: "is not user@domain"},
		{name: "mirapoint wins over dovecot marker", user: "#a*b@c#admin#",
			want: Login{Form: Mirapoint, User: "a*b@c", Admin: "admin", Domain: "c"}},
		{name: "userroot", user: "mailadmin", root: "/users/terry.adams",
			want: Login{Form: UserRoot, Admin: "mailadmin", User: "terry.adams"}},
		{name: "userroot trailing slash", user: "mailadmin", root: "/users/terry/",
			want: Login{Form: UserRoot, Admin: "mailadmin", User: "terry"}},
		{name: "userroot without slash", user: "mailadmin", root: "terry",
			want: Login{Form: UserRoot, Admin: "mailadmin", User: "terry"}},
		{name: "userroot with admin form", user: "terry*admin", root: "/users/terry",
			want: Login{Form: Dovecot, User: "terry", Admin: "admin"}, warn: "UserRoot is given with a dovecot admin login"},
		{name: "userroot with malformed admin form", user: "#a@b#admin", root: "/users/a",
			want: Login{Form: UserRoot, Admin: "#a@b#admin", User: "a"}, warn: `no closing "#"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, warns := Parse(tt.user, tt.root, tt.sep)
			tt.want.Raw, tt.want.Root = tt.user, tt.root
			if got != tt.want {
				t.Errorf("Parse(%q, %q, %q) = %#v, want %#v", tt.user, tt.root, tt.sep, got, tt.want)
			}
			switch {
			case tt.warn == "" && len(warns) > 0:
				t.Errorf("unexpected warnings %v", warns)
			case tt.warn != "" && len(warns) != 1:
				t.Errorf("warnings %v, want one containing %q", warns, tt.warn)
			case tt.warn != "" && !strings.Contains(warns[0].Message, tt.warn):
				t.Errorf("warning %q, want it to contain %q", warns[0].Message, tt.warn)
			}
			for _, w := range warns {
				if w.Fix == "" {
					t.Errorf("warning %q has no fix", w.Message)
				}
			}
		})
	}
}

func TestSASLPlain(t *testing.T) {
	tests := []struct {
		user, root       string
		authzid, authcid string
		ok               bool
	}{
		{"terry.adams*mailadmin", "", "terry.adams", "mailadmin", true},
		{"#terry@contoso.edu#mailadmin#", "", "terry@contoso.edu", "mailadmin", true},
		{"contoso/mailadmin/terry", "", "terry", `contoso\mailadmin`, true},
		{"terry", "", "", "", false},
		{"mailadmin", "/users/terry", "", "", false},
	}
	for _, tt := range tests {
		l, _ := Parse(tt.user, tt.root, "")
		z, c, ok := l.SASLPlain()
		if z != tt.authzid || c != tt.authcid || ok != tt.ok {
			t.Errorf("%q: SASLPlain() = %q, %q, %v; want %q, %q, %v", tt.user, z, c, ok, tt.authzid, tt.authcid, tt.ok)
		}
		if ok != l.IsAdmin() && l.Form != UserRoot {
			t.Errorf("%q: IsAdmin() = %v", tt.user, l.IsAdmin())
		}
	}
}

func TestLoginString(t *testing.T) {
	tests := map[string]string{
		"terry":                   "plain: user terry",
		"terry*admin":             "dovecot: user terry, admin admin",
		"contoso/mailadmin/terry": "exchange: user terry, admin mailadmin",
	}
	for in, want := range tests {
		l, _ := Parse(in, "", "")
		if got := l.String(); got != want {
			t.Errorf("%q: String() = %q, want %q", in, got, want)
		}
	}
	l, _ := Parse("mailadmin", "/", "")
	if got, want := l.String(), "userroot: admin mailadmin, root /"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestFormDescribe(t *testing.T) {
	for _, f := range Forms {
		if f.Describe() == string(f) {
			t.Errorf("form %q has no description", f)
		}
	}
}

func ExampleParse() {
	l, warns := Parse("terry.adams*mailadmin", "", DefaultMasterSeparator)
	fmt.Println(l.Form, l.User, l.Admin, len(warns))
	authzid, authcid, _ := l.SASLPlain()
	fmt.Println(authzid, authcid)

	_, warns = Parse("#terry@contoso.edu#mailadmin", "", "")
	fmt.Println(warns[0].Message)
	// Output:
	// dovecot terry.adams mailadmin 0
	// terry.adams mailadmin
	// starts with "#" like a Mirapoint admin login but has no closing "#"
}
