package folders

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
)

// planCase is one Plan run, its expectation written as Describe lines (the
// dry-run view) in plan order.
type planCase struct {
	name    string
	source  []Folder
	target  []Folder
	delim   rune
	opts    Options
	want    []string
	wantErr string // substring of the error, "" for none
}

func runPlanCases(t *testing.T, tests []planCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms, err := Plan(tt.source, tt.target, tt.delim, tt.opts)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Plan: unexpected error: %v", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("Plan: no error, want one containing %q", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("Plan: error %q, want one containing %q", err, tt.wantErr)
			}
			got := describeAll(ms)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("plan:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
		})
	}
}

func describeAll(ms []Mapping) []string {
	var out []string
	for _, m := range ms {
		out = append(out, Describe(m))
	}
	return out
}

// list builds folders with one delimiter; a name ending in "!" is \Noselect.
func list(delim rune, names ...string) []Folder {
	var fs []Folder
	for _, n := range names {
		f := Folder{Name: n, Delim: delim}
		if strings.HasSuffix(n, "!") {
			f.Name, f.NoSelect = strings.TrimSuffix(n, "!"), true
		}
		fs = append(fs, f)
	}
	return fs
}

// with returns fs plus folders that carry attributes.
func with(fs []Folder, more ...Folder) []Folder { return append(fs, more...) }

func TestPlanDelimiters(t *testing.T) {
	runPlanCases(t, []planCase{{
		name:   "Courier '.' with INBOX. prefix to Dovecot '/'",
		source: list('.', "INBOX", "INBOX.Projects", "INBOX.Projects.2023"),
		target: list('/', "INBOX"),
		delim:  '/',
		opts:   Options{SourcePrefix: "INBOX."},
		want: []string{
			`"INBOX" → "INBOX"  sync`,
			`"INBOX.Projects" → "Projects"  sync, create`,
			`"INBOX.Projects.2023" → "Projects/2023"  sync, create`,
		},
	}, {
		name:   "Dovecot '/' to Cyrus '.' with INBOX. prefix",
		source: list('/', "INBOX", "Projects", "Projects/2023"),
		target: list('.', "INBOX", "INBOX.Projects"),
		delim:  '.',
		opts:   Options{TargetPrefix: "INBOX."},
		want: []string{
			`"INBOX" → "INBOX"  sync`,
			`"Projects" → "INBOX.Projects"  sync`,
			`"Projects/2023" → "INBOX.Projects.2023"  sync, create`,
		},
	}, {
		name:   "prefix given without its trailing delimiter",
		source: list('.', "INBOX", "INBOX.Projects"),
		target: list('.', "INBOX"),
		delim:  '.',
		opts:   Options{SourcePrefix: "INBOX", TargetPrefix: "INBOX"},
		want: []string{
			`"INBOX" → "INBOX"  sync`,
			`"INBOX.Projects" → "INBOX.Projects"  sync, create`,
		},
	}, {
		name:   "source level holding the target delimiter is escaped, both ways",
		source: list('.', "INBOX", "INBOX.R/D", "INBOX.R/D.2023"),
		target: list('/', "INBOX"),
		delim:  '/',
		opts:   Options{SourcePrefix: "INBOX."},
		want: []string{
			`"INBOX" → "INBOX"  sync`,
			`"INBOX.R/D" → "R∕D"  sync, create`,
			`"INBOX.R/D.2023" → "R∕D/2023"  sync, create`,
		},
	}, {
		name:   "dots in a '/' name escaped on a '.' target",
		source: list('/', "INBOX", "john.doe", "v1.2/notes"),
		target: list('.', "INBOX"),
		delim:  '.',
		want: []string{
			`"INBOX" → "INBOX"  sync`,
			`"john.doe" → "john․doe"  sync, create`,
			`(parent) → "v1․2"  parent only, create — parent of "v1.2/notes"`,
			`"v1.2/notes" → "v1․2.notes"  sync, create`,
		},
	}, {
		name:   "flat source: the whole name is one level",
		source: list(0, "INBOX", "a/b", "Reports 2023"),
		target: list('/', "INBOX"),
		delim:  '/',
		want: []string{
			`"INBOX" → "INBOX"  sync`,
			`"a/b" → "a∕b"  sync, create`,
			`"Reports 2023" → "Reports 2023"  sync, create`,
		},
	}, {
		name:   "flat target: levels joined with '/', no parents",
		source: with(list('.', "INBOX", "INBOX.Archive!", "INBOX.Archive.2023", "INBOX.a/b")),
		target: list(0, "INBOX"),
		delim:  0,
		opts:   Options{SourcePrefix: "INBOX."},
		want: []string{
			`"INBOX" → "INBOX"  sync`,
			`"INBOX.Archive" → "Archive"  parent only — nothing to migrate below it: not created`,
			`"INBOX.Archive.2023" → "Archive/2023"  sync, create`,
			`"INBOX.a/b" → "a∕b"  sync, create`,
		},
	}, {
		name:   "Courier source without its prefix given: children stay below INBOX",
		source: list('.', "INBOX", "INBOX.Sent"),
		target: list('/', "INBOX"),
		delim:  '/',
		want: []string{
			`"INBOX" → "INBOX"  sync`,
			`"INBOX.Sent" → "INBOX/Sent"  sync, create`,
		},
	}, {
		name:   "empty levels dropped; \\Noselect duplicate gives way",
		source: list('/', "INBOX", "mail/!", "mail", "mail/lists/"),
		target: list('/', "INBOX"),
		delim:  '/',
		want: []string{
			`"INBOX" → "INBOX"  sync`,
			`"mail" → "mail"  sync, create`,
			`"mail/lists/" → "mail/lists"  sync, create`,
		},
	}})
}

func TestPlanInbox(t *testing.T) {
	runPlanCases(t, []planCase{{
		name:   "any case is INBOX, never created",
		source: list('/', "inbox", "Inbox/Foo"),
		target: list('/', "Archive"),
		delim:  '/',
		want: []string{
			`"inbox" → "INBOX"  sync`,
			`"Inbox/Foo" → "INBOX/Foo"  sync, create`,
		},
	}, {
		name:   "children of INBOX stay below INBOX",
		source: list('/', "INBOX", "INBOX/Foo", "INBOX/Foo/Bar", "Foo"),
		target: list('/', "INBOX", "INBOX/Foo"),
		delim:  '/',
		want: []string{
			`"INBOX" → "INBOX"  sync`,
			`"INBOX/Foo" → "INBOX/Foo"  sync`,
			`"INBOX/Foo/Bar" → "INBOX/Foo/Bar"  sync, create`,
			`"Foo" → "Foo"  sync, create`,
		},
	}, {
		name:   "INBOX children onto a target whose prefix is INBOX",
		source: list('/', "INBOX", "INBOX/Foo"),
		target: list('.', "INBOX"),
		delim:  '.',
		opts:   Options{TargetPrefix: "INBOX."},
		want: []string{
			`"INBOX" → "INBOX"  sync`,
			`"INBOX/Foo" → "INBOX.Foo"  sync, create`,
		},
	}, {
		name:   "target INBOX cannot have children: they move to the top level",
		source: list('/', "INBOX", "INBOX/Foo"),
		target: []Folder{{Name: "INBOX", Delim: '/', NoInferiors: true}},
		delim:  '/',
		want: []string{
			`"INBOX" → "INBOX"  sync`,
			`"INBOX/Foo" → "Foo"  sync, create — moved to the top level: the target's INBOX cannot have subfolders`,
		},
	}, {
		name:   "a target listing INBOX in another case",
		source: list('/', "INBOX", "INBOX/Foo"),
		target: list('/', "Inbox", "inbox/Foo"),
		delim:  '/',
		want: []string{
			`"INBOX" → "INBOX"  sync`,
			`"INBOX/Foo" → "INBOX/Foo"  sync`,
		},
	}})
}

func TestPlanSpecialUse(t *testing.T) {
	sent := func(name string) Folder { return Folder{Name: name, Delim: '/', SpecialUse: imap.MailboxAttrSent} }
	runPlanCases(t, []planCase{{
		name:   "by name onto the target's SPECIAL-USE folder",
		source: list('.', "INBOX", "INBOX.Sent", "INBOX.Drafts", "INBOX.Trash", "INBOX.Spam", "INBOX.Archives"),
		target: []Folder{
			{Name: "INBOX", Delim: '/'},
			{Name: "Sent Items", Delim: '/', SpecialUse: imap.MailboxAttrSent},
			{Name: "Drafts", Delim: '/', SpecialUse: imap.MailboxAttrDrafts},
			{Name: "Deleted Items", Delim: '/', SpecialUse: imap.MailboxAttrTrash},
			{Name: "Junk Email", Delim: '/', SpecialUse: imap.MailboxAttrJunk},
			{Name: "Archive", Delim: '/', SpecialUse: imap.MailboxAttrArchive},
		},
		delim: '/',
		opts:  Options{SourcePrefix: "INBOX."},
		want: []string{
			`"INBOX" → "INBOX"  sync`,
			`"INBOX.Archives" → "Archive"  sync, \Archive — mapped to the target's \Archive folder`,
			`"INBOX.Trash" → "Deleted Items"  sync, \Trash — mapped to the target's \Trash folder`,
			`"INBOX.Drafts" → "Drafts"  sync, \Drafts`,
			`"INBOX.Spam" → "Junk Email"  sync, \Junk — mapped to the target's \Junk folder`,
			`"INBOX.Sent" → "Sent Items"  sync, \Sent — mapped to the target's \Sent folder`,
		},
	}, {
		name:   "by attribute at any level onto the target's well-known name",
		source: with(list('/', "INBOX", "[Gmail]!"), Folder{Name: "[Gmail]/Sent Mail", Delim: '/', SpecialUse: imap.MailboxAttrSent}, Folder{Name: "[Gmail]/Starred", Delim: '/', SpecialUse: imap.MailboxAttrFlagged}),
		target: list('/', "INBOX", "Gesendete Objekte"),
		delim:  '/',
		want: []string{
			`"INBOX" → "INBOX"  sync`,
			`"[Gmail]/Sent Mail" → "Gesendete Objekte"  sync, \Sent — mapped to the target's \Sent folder`,
			`"[Gmail]" → "[Gmail]"  parent only, create`,
			`"[Gmail]/Starred" → "[Gmail]/Starred"  sync, create`,
		},
	}, {
		name:   "\\All only onto a target folder of that use",
		source: []Folder{{Name: "INBOX", Delim: '/'}, {Name: "[Gmail]/All Mail", Delim: '/', SpecialUse: imap.MailboxAttrAll}},
		target: []Folder{{Name: "INBOX", Delim: '.'}, {Name: "INBOX.Alle Nachrichten", Delim: '.', SpecialUse: imap.MailboxAttrAll}},
		delim:  '.',
		opts:   Options{TargetPrefix: "INBOX."},
		want: []string{
			`"INBOX" → "INBOX"  sync`,
			`"[Gmail]/All Mail" → "INBOX.Alle Nachrichten"  sync, \All — mapped to the target's \All folder`,
		},
	}, {
		name:   "no target folder for the use: keeps its name, created with the use",
		source: list('/', "INBOX", "Skickat", "已删除"),
		target: list('/', "INBOX"),
		delim:  '/',
		want: []string{
			`"INBOX" → "INBOX"  sync`,
			`"Skickat" → "Skickat"  sync, create, \Sent`,
			`"已删除" → "已删除"  sync, create, \Trash`,
		},
	}, {
		name:   "names count at the top level only",
		source: list('/', "INBOX", "Projects/Sent", "INBOX/Trash"),
		target: with(list('/', "INBOX"), sent("Sent Items"), Folder{Name: "Trash", Delim: '/', SpecialUse: imap.MailboxAttrTrash}),
		delim:  '/',
		want: []string{
			`"INBOX" → "INBOX"  sync`,
			`"INBOX/Trash" → "INBOX/Trash"  sync, create`,
			`(parent) → "Projects"  parent only, create — parent of "Projects/Sent"`,
			`"Projects/Sent" → "Projects/Sent"  sync, create`,
		},
	}, {
		name:   "two of one use: the one already named like the target's folder maps, the other keeps its name",
		source: with(list('/', "INBOX", "Sent Items"), sent("Sent")),
		target: with(list('/', "INBOX"), sent("Sent Items")),
		delim:  '/',
		want: []string{
			`"INBOX" → "INBOX"  sync`,
			`"Sent" → "Sent"  sync, create — another \Sent folder: kept as a folder of its own ("Sent Items" is the \Sent folder)`,
			`"Sent Items" → "Sent Items"  sync, \Sent`,
		},
	}, {
		name:   "two of one use: else the SPECIAL-USE flagged one maps",
		source: with(list('/', "INBOX", "Sent"), sent("Sent Messages")),
		target: with(list('/', "INBOX"), sent("Sent Items")),
		delim:  '/',
		want: []string{
			`"INBOX" → "INBOX"  sync`,
			`"Sent" → "Sent"  sync, create — another \Sent folder: kept as a folder of its own ("Sent Messages" is the \Sent folder)`,
			`"Sent Messages" → "Sent Items"  sync, \Sent — mapped to the target's \Sent folder`,
		},
	}, {
		name:   "two of one use by name only: the first by name maps",
		source: list('/', "INBOX", "Skickat", "Sent"),
		target: with(list('/', "INBOX"), sent("Gesendet")),
		delim:  '/',
		want: []string{
			`"INBOX" → "INBOX"  sync`,
			`"Sent" → "Gesendet"  sync, \Sent — mapped to the target's \Sent folder`,
			`"Skickat" → "Skickat"  sync, create — another \Sent folder: kept as a folder of its own ("Sent" is the \Sent folder)`,
		},
	}, {
		name:   "several well-known target folders: the one with the source's name",
		source: list('/', "INBOX", "Sent Items"),
		target: list('/', "INBOX", "Sent", "Sent Items"),
		delim:  '/',
		want: []string{
			`"INBOX" → "INBOX"  sync`,
			`"Sent Items" → "Sent Items"  sync, \Sent`,
		},
	}, {
		name:   "subfolders follow a folder that moved",
		source: list('.', "INBOX", "INBOX.Sent", "INBOX.Sent.2023", "INBOX.Sent.2023.Q1"),
		target: with(list('/', "INBOX"), sent("Sent Items")),
		delim:  '/',
		opts:   Options{SourcePrefix: "INBOX."},
		want: []string{
			`"INBOX" → "INBOX"  sync`,
			`"INBOX.Sent" → "Sent Items"  sync, \Sent — mapped to the target's \Sent folder`,
			`"INBOX.Sent.2023" → "Sent Items/2023"  sync, create`,
			`"INBOX.Sent.2023.Q1" → "Sent Items/2023/Q1"  sync, create`,
		},
	}, {
		name:   "onto a Courier target's special folder below the prefix",
		source: list('/', "INBOX", "Trash", "Trash/old"),
		target: []Folder{{Name: "INBOX", Delim: '.'}, {Name: "INBOX.Deleted Messages", Delim: '.'}},
		delim:  '.',
		opts:   Options{TargetPrefix: "INBOX."},
		want: []string{
			`"INBOX" → "INBOX"  sync`,
			`"Trash" → "INBOX.Deleted Messages"  sync, \Trash — mapped to the target's \Trash folder`,
			`"Trash/old" → "INBOX.Deleted Messages.old"  sync, create`,
		},
	}, {
		name:   "an excluded or \\Noselect folder is never chosen",
		source: with(list('/', "INBOX", "Sent!", "Papierkorb", "Trash"), sent("Sent Items")),
		target: with(list('/', "INBOX", "Deleted Items"), sent("Sent")),
		delim:  '/',
		opts:   Options{Exclude: []string{"Trash"}},
		want: []string{
			`"INBOX" → "INBOX"  sync`,
			`"Papierkorb" → "Deleted Items"  sync, \Trash — mapped to the target's \Trash folder`,
			`"Sent" → "Sent"  parent only — nothing to migrate below it: not created`,
			`"Sent Items" → "Sent"  sync, \Sent — mapped to the target's \Sent folder`,
			`"Trash" → "Trash"  excluded (Trash)`,
		},
	}, {
		name:   "case-insensitive target: the same name in another case is the same folder",
		source: with(list('/', "INBOX", "sent items"), sent("Sent")),
		target: with(list('/', "INBOX"), sent("Sent Items")),
		delim:  '/',
		opts:   Options{TargetCaseInsensitive: true},
		want: []string{
			`"INBOX" → "INBOX"  sync`,
			`"Sent" → "Sent"  sync, create — another \Sent folder: kept as a folder of its own ("sent items" is the \Sent folder)`,
			`"sent items" → "sent items"  sync, \Sent`,
		},
	}, {
		name:   "a target folder serves one use",
		source: list('/', "INBOX", "Sent", "Drafts"),
		target: []Folder{{Name: "INBOX", Delim: '/'}, {Name: "Outgoing", Delim: '/', SpecialUse: imap.MailboxAttrSent}, {Name: "Outgoing", Delim: '/', SpecialUse: imap.MailboxAttrDrafts}},
		delim:  '/',
		want: []string{
			`"INBOX" → "INBOX"  sync`,
			`"Drafts" → "Drafts"  sync, create, \Drafts`,
			`"Sent" → "Outgoing"  sync, \Sent — mapped to the target's \Sent folder`,
		},
	}})
}

func TestPlanExclusions(t *testing.T) {
	src := with(list('/', "INBOX", "INBOX/Lists", "Projects", "Projects/2023", "Projects/2023/Q1", "Papierkorb", "Papierkorb/old", "#Inbox#", "C/C++!"),
		Folder{Name: "Mail/Gesendet", Delim: '/', SpecialUse: imap.MailboxAttrSent})
	target := list('/', "INBOX")
	excluded := func(patterns ...string) planCase {
		return planCase{source: src, target: target, delim: '/', opts: Options{Exclude: patterns}}
	}
	cases := []struct {
		planCase
		want []string
	}{
		{excluded("Projects"), []string{
			`"INBOX" → "INBOX"  sync`,
			`"INBOX/Lists" → "INBOX/Lists"  sync, create`,
			`"#Inbox#" → "#Inbox#"  sync, create`,
			`"C/C++" → "C/C++"  parent only — nothing to migrate below it: not created`,
			`(parent) → "Mail"  parent only, create — parent of "Mail/Gesendet"`,
			`"Mail/Gesendet" → "Mail/Gesendet"  sync, create, \Sent`,
			`"Papierkorb" → "Papierkorb"  sync, create, \Trash`,
			`"Papierkorb/old" → "Papierkorb/old"  sync, create`,
			`"Projects" → "Projects"  excluded (Projects), create — created empty: parent of migrated folders`,
			`"Projects/2023" → "Projects/2023"  sync, create`,
			`"Projects/2023/Q1" → "Projects/2023/Q1"  sync, create`,
		}},
		{excluded("projects/2023/*", `\#inbox#`, "#DeletedItems#", "#SentItems#", "c/c++"), []string{
			`"INBOX" → "INBOX"  sync`,
			`"INBOX/Lists" → "INBOX/Lists"  sync, create`,
			`"#Inbox#" → "#Inbox#"  excluded (\#inbox#)`,
			`"C/C++" → "C/C++"  excluded (c/c++)`,
			`"Mail/Gesendet" → "Mail/Gesendet"  excluded (#SentItems#)`,
			`"Papierkorb" → "Papierkorb"  excluded (#DeletedItems#), create — created empty: parent of migrated folders`,
			`"Papierkorb/old" → "Papierkorb/old"  sync, create`,
			`"Projects" → "Projects"  sync, create`,
			`"Projects/2023" → "Projects/2023"  excluded (projects/2023/*)`,
			`"Projects/2023/Q1" → "Projects/2023/Q1"  excluded (projects/2023/*)`,
		}},
		{excluded("#Inbox#/*", "#deleteditems#/*", "/Projects/2023", "Projects/*"), []string{
			`"INBOX" → "INBOX"  excluded (#Inbox#/*)`,
			`"INBOX/Lists" → "INBOX/Lists"  excluded (#Inbox#/*)`,
			`"#Inbox#" → "#Inbox#"  sync, create`,
			`"C/C++" → "C/C++"  parent only — nothing to migrate below it: not created`,
			`(parent) → "Mail"  parent only, create — parent of "Mail/Gesendet"`,
			`"Mail/Gesendet" → "Mail/Gesendet"  sync, create, \Sent`,
			`"Papierkorb" → "Papierkorb"  excluded (#deleteditems#/*)`,
			`"Papierkorb/old" → "Papierkorb/old"  excluded (#deleteditems#/*)`,
			`"Projects" → "Projects"  excluded (Projects/*)`,
			`"Projects/2023" → "Projects/2023"  excluded (/Projects/2023)`,
			`"Projects/2023/Q1" → "Projects/2023/Q1"  excluded (Projects/*)`,
		}},
		{excluded("#SentItems#/*", "#Inbox#/Lists"), []string{
			`"INBOX" → "INBOX"  sync`,
			`"INBOX/Lists" → "INBOX/Lists"  excluded (#Inbox#/Lists)`,
			`"#Inbox#" → "#Inbox#"  sync, create`,
			`"C/C++" → "C/C++"  parent only — nothing to migrate below it: not created`,
			`"Mail/Gesendet" → "Mail/Gesendet"  excluded (#SentItems#/*)`,
			`"Papierkorb" → "Papierkorb"  sync, create, \Trash`,
			`"Papierkorb/old" → "Papierkorb/old"  sync, create`,
			`"Projects" → "Projects"  sync, create`,
			`"Projects/2023" → "Projects/2023"  sync, create`,
			`"Projects/2023/Q1" → "Projects/2023/Q1"  sync, create`,
		}},
	}
	var tests []planCase
	for _, c := range cases {
		c.planCase.name = strings.Join(c.opts.Exclude, " ")
		c.planCase.want = c.want
		tests = append(tests, c.planCase)
	}
	tests = append(tests, planCase{
		name:   "relative to the prefix, after delimiter translation",
		source: list('.', "INBOX", "INBOX.Old", "INBOX.Old.2019", "INBOX.a/b"),
		target: list('/', "INBOX"),
		delim:  '/',
		opts:   Options{SourcePrefix: "INBOX.", Exclude: []string{"old/*", `a\/b`}},
		want: []string{
			`"INBOX" → "INBOX"  sync`,
			`"INBOX.a/b" → "a∕b"  excluded (a\/b)`,
			`"INBOX.Old" → "Old"  excluded (old/*)`,
			`"INBOX.Old.2019" → "Old/2019"  excluded (old/*)`,
		},
	}, planCase{
		name:    "a bad pattern is an error",
		source:  list('/', "INBOX"),
		delim:   '/',
		opts:    Options{Exclude: []string{"#Outbox#"}},
		wantErr: "unknown well-known folder #Outbox#",
	})
	runPlanCases(t, tests)
}

func TestValidateExclude(t *testing.T) {
	tests := []struct {
		pattern string
		wantErr string
	}{
		{"Projects", ""},
		{"Projects/2023/*", ""},
		{"/Projects", ""},
		{"#Inbox#", ""},
		{"#inbox#/*", ""},
		{"#JunkEmail#/Old", ""},
		{`\#Inbox#`, ""},
		{"C#", ""},
		{`Foo\*`, ""},
		{`back\slash`, ""},
		{"", "empty pattern"},
		{"/", "empty pattern"},
		{"*", `"*" alone`},
		{"a//b", "empty folder name level"},
		{"a/", "empty folder name level"},
		{"Foo*", `"*" is only allowed as a whole last level`},
		{"*/Foo", `"*" is only allowed as a whole last level`},
		{"#Outbox#", "unknown well-known folder #Outbox#"},
		{"##", "unknown well-known folder ##"},
		{"Foo/#Inbox#", "can only come first"},
	}
	for _, tt := range tests {
		err := ValidateExclude(tt.pattern)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("ValidateExclude(%q): %v", tt.pattern, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("ValidateExclude(%q) = %v, want an error containing %q", tt.pattern, err, tt.wantErr)
		}
	}
}

func TestPlanUserRoot(t *testing.T) {
	runPlanCases(t, []planCase{{
		name:   "Oracle: '/' names with a leading delimiter",
		source: list('/', "/users/terry.adams!", "/users/terry.adams/INBOX", "/users/terry.adams/Sent", "/users/terry.adams/Sent/2023", "/users/alberta/INBOX", "INBOX"),
		target: list('/', "INBOX", "Sent"),
		delim:  '/',
		opts:   Options{UserRoot: "/users/terry.adams"},
		want: []string{
			`"/users/terry.adams/INBOX" → "INBOX"  sync`,
			`"/users/terry.adams/Sent" → "Sent"  sync, \Sent`,
			`"/users/terry.adams/Sent/2023" → "Sent/2023"  sync, create`,
		},
	}, {
		name:   "Courier: '.' delimiter, a dot inside the root, the root itself is INBOX",
		source: list('.', "users.terry.adams", "users.terry.adams.Drafts", "users.terry.adamsx.Drafts", "users.terry.adams.a/b"),
		target: list('/', "INBOX"),
		delim:  '/',
		opts:   Options{UserRoot: "/users/terry.adams/", Exclude: []string{"#Drafts#"}},
		want: []string{
			`"users.terry.adams" → "INBOX"  sync`,
			`"users.terry.adams.a/b" → "a∕b"  sync, create`,
			`"users.terry.adams.Drafts" → "Drafts"  excluded (#Drafts#)`,
		},
	}, {
		name:    "a root that names nothing",
		source:  list('/', "INBOX"),
		delim:   '/',
		opts:    Options{UserRoot: "//"},
		wantErr: "names no folder",
	}})
}

func TestPlanParents(t *testing.T) {
	runPlanCases(t, []planCase{{
		name:   "missing parents added, parents before children",
		source: list('/', "INBOX", "a/b/c", "z"),
		target: list('/', "INBOX"),
		delim:  '/',
		want: []string{
			`"INBOX" → "INBOX"  sync`,
			`(parent) → "a"  parent only, create — parent of "a/b/c"`,
			`(parent) → "a/b"  parent only, create — parent of "a/b/c"`,
			`"a/b/c" → "a/b/c"  sync, create`,
			`"z" → "z"  sync, create`,
		},
	}, {
		name:   "parents the target has are not repeated",
		source: list('/', "INBOX", "a/b/c"),
		target: list('/', "INBOX", "a"),
		delim:  '/',
		want: []string{
			`"INBOX" → "INBOX"  sync`,
			`(parent) → "a/b"  parent only, create — parent of "a/b/c"`,
			`"a/b/c" → "a/b/c"  sync, create`,
		},
	}, {
		name:   "\\Noselect source folders: created only when needed",
		source: list('.', "INBOX", "INBOX.Lists!", "INBOX.Lists.go", "INBOX.Old!", "INBOX.Old.Older!"),
		target: list('/', "INBOX"),
		delim:  '/',
		opts:   Options{SourcePrefix: "INBOX."},
		want: []string{
			`"INBOX" → "INBOX"  sync`,
			`"INBOX.Lists" → "Lists"  parent only, create`,
			`"INBOX.Lists.go" → "Lists/go"  sync, create`,
			`"INBOX.Old" → "Old"  parent only — nothing to migrate below it: not created`,
			`"INBOX.Old.Older" → "Old/Older"  parent only — nothing to migrate below it: not created`,
		},
	}, {
		name:   "a target folder that cannot hold messages is created; as a parent it is enough",
		source: list('/', "INBOX", "a", "b/c"),
		target: list('/', "INBOX", "a!", "b!"),
		delim:  '/',
		want: []string{
			`"INBOX" → "INBOX"  sync`,
			`"a" → "a"  sync, create`,
			`"b/c" → "b/c"  sync, create`,
		},
	}, {
		name:   "subscriptions carried",
		source: []Folder{{Name: "INBOX", Delim: '/', Subscribed: true}, {Name: "x/y", Delim: '/', Subscribed: true}},
		target: list('/', "INBOX"),
		delim:  '/',
		want: []string{
			`"INBOX" → "INBOX"  sync, subscribed`,
			`(parent) → "x"  parent only, create — parent of "x/y"`,
			`"x/y" → "x/y"  sync, create, subscribed`,
		},
	}})
}

func TestPlanCollisions(t *testing.T) {
	runPlanCases(t, []planCase{{
		name:   "escaping keeps a level with a delimiter apart from two levels",
		source: list('.', "INBOX", "a/b", "a.b"),
		target: list('/', "INBOX"),
		delim:  '/',
		want: []string{
			`"INBOX" → "INBOX"  sync`,
			`(parent) → "a"  parent only, create — parent of "a.b"`,
			`"a.b" → "a/b"  sync, create`,
			`"a/b" → "a∕b"  sync, create`,
		},
	}, {
		name:   "names differing in case are distinct on a case-sensitive target",
		source: list('/', "INBOX", "Foo", "foo"),
		target: list('/', "INBOX"),
		delim:  '/',
		want: []string{
			`"INBOX" → "INBOX"  sync`,
			`"Foo" → "Foo"  sync, create`,
			`"foo" → "foo"  sync, create`,
		},
	}, {
		name:   "and collide on a case-insensitive one",
		source: list('/', "INBOX", "Foo", "foo"),
		target: list('/', "INBOX"),
		delim:  '/',
		opts:   Options{TargetCaseInsensitive: true},
		want: []string{
			`"INBOX" → "INBOX"  sync`,
			`"Foo" → "Foo"  sync, create — collision: see the error`,
			`"foo" → "foo"  sync, create — collision: see the error`,
		},
		wantErr: `source folders "Foo" and "foo" would all become target folder "Foo"`,
	}, {
		name:   "a folder outside the source prefix meets one inside",
		source: list('.', "INBOX", "INBOX.Trash", "Trash"),
		target: list('/', "INBOX"),
		delim:  '/',
		opts:   Options{SourcePrefix: "INBOX."},
		want: []string{
			`"INBOX" → "INBOX"  sync`,
			`"INBOX.Trash" → "Trash"  sync, create, \Trash — collision: see the error`,
			`"Trash" → "Trash"  sync, create — collision: see the error`,
		},
		wantErr: `"INBOX.Trash" and "Trash"`,
	}, {
		name:   "INBOX children and top-level folders under an INBOX prefix",
		source: list('/', "INBOX", "INBOX/Foo", "Foo"),
		target: list('.', "INBOX"),
		delim:  '.',
		opts:   Options{TargetPrefix: "INBOX."},
		want: []string{
			`"INBOX" → "INBOX"  sync`,
			`"Foo" → "INBOX.Foo"  sync, create — collision: see the error`,
			`"INBOX/Foo" → "INBOX.Foo"  sync, create — collision: see the error`,
		},
		wantErr: `"Foo" and "INBOX/Foo"`,
	}, {
		name:   "a folder named like INBOX below the source prefix",
		source: list('.', "INBOX", "INBOX.inbox"),
		target: list('/', "INBOX"),
		delim:  '/',
		opts:   Options{SourcePrefix: "INBOX."},
		want: []string{
			`"INBOX" → "INBOX"  sync — collision: see the error`,
			`"INBOX.inbox" → "inbox"  sync — collision: see the error`,
		},
		wantErr: `would all become target folder "INBOX"`,
	}, {
		name:   "an excluded folder does not collide",
		source: list('/', "INBOX", "INBOX/Foo", "Foo"),
		target: list('.', "INBOX"),
		delim:  '.',
		opts:   Options{TargetPrefix: "INBOX.", Exclude: []string{"inbox/foo"}},
		want: []string{
			`"INBOX" → "INBOX"  sync`,
			`"Foo" → "INBOX.Foo"  sync, create`,
			`"INBOX/Foo" → "INBOX.Foo"  excluded (inbox/foo)`,
		},
	}})

	_, err := Plan(list('/', "INBOX", "A", "a", "B", "b"), nil, '/', Options{TargetCaseInsensitive: true})
	var ce *CollisionError
	if !errors.As(err, &ce) {
		t.Fatalf("Plan error %v is not a *CollisionError", err)
	}
	if ce.Target != "A" || !slices.Equal(ce.Sources, []string{"A", "a"}) {
		t.Fatalf("first collision = %+v, want target A from A and a", ce)
	}
	if !strings.Contains(err.Error(), `"B" and "b"`) {
		t.Fatalf("Plan error %q does not report the second collision", err)
	}
}

func TestPlanNonASCIIUntouched(t *testing.T) {
	names := []string{"R&D", "已发送", "Skickat", "Borttaget", "Éléments envoyés", "Отправленные", "&-", "~user", "100% done"}
	ms, err := Plan(list('/', append([]string{"INBOX"}, names...)...), list('/', "INBOX"), '/', Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Target != m.Source.Name {
			t.Errorf("%q became %q", m.Source.Name, m.Target)
		}
	}
	if len(ms) != len(names)+1 {
		t.Errorf("got %d mappings, want %d", len(ms), len(names)+1)
	}
}

func TestPlanDeterministic(t *testing.T) {
	source := with(list('.', "INBOX", "INBOX.Sent", "INBOX.Sent Items", "INBOX.a.b.c", "INBOX.A", "INBOX.Trash", "INBOX.Lists!", "INBOX.Lists.x", "INBOX.已发送"),
		Folder{Name: "INBOX.Gesendet", Delim: '.', SpecialUse: imap.MailboxAttrSent})
	target := with(list('/', "INBOX", "a"), Folder{Name: "Sent", Delim: '/', SpecialUse: imap.MailboxAttrSent})
	opts := Options{SourcePrefix: "INBOX.", Exclude: []string{"#DeletedItems#"}}
	first, err := Plan(source, target, '/', opts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range source {
		rotated := append(slices.Clone(source[i:]), source[:i]...)
		slices.Reverse(target)
		reversed := slices.Clone(rotated)
		slices.Reverse(reversed)
		for _, src := range [][]Folder{rotated, reversed} {
			got, err := Plan(src, target, '/', opts)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(describeAll(got), describeAll(first)) {
				t.Fatalf("order %d changed the plan:\n  %s\nwant:\n  %s", i, strings.Join(describeAll(got), "\n  "), strings.Join(describeAll(first), "\n  "))
			}
		}
	}
}

func TestPlanBadDelimiter(t *testing.T) {
	if _, err := Plan(nil, nil, '\uFFFD', Options{}); err == nil {
		t.Fatal("Plan accepted U+FFFD as a delimiter")
	}
}
