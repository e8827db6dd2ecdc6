package folders

import (
	"fmt"
	"testing"

	"github.com/emersion/go-imap/v2"
)

func TestUseByName(t *testing.T) {
	tests := []struct {
		use   imap.MailboxAttr
		names []string
	}{
		{imap.MailboxAttrSent, []string{"Sent", "sent items", "SENT MESSAGES", "Sent Mail", "已发送", "已傳送", "寄件備份", "Skickat",
			"Skickade objekt", "Gesendet", "Gesendete Objekte", "Envoyés", "ÉLÉMENTS ENVOYÉS", "Enviados",
			"Elementos enviados", "Inviati", "Posta inviata", "Verzonden", "Verzonden items", "Wysłane",
			"Отправленные", "送信済み"}},
		{imap.MailboxAttrDrafts, []string{"Drafts", "草稿", "Utkast", "Entwürfe", "Brouillons", "Borradores", "Bozze", "Concepten", "Черновики", "下書き"}},
		{imap.MailboxAttrTrash, []string{"Trash", "Deleted Items", "Deleted Messages", "Papierkorb", "Borttaget", "Corbeille", "已删除",
			"Papelera", "Cestino", "Prullenbak", "Kosz", "Корзина", "ゴミ箱"}},
		{imap.MailboxAttrJunk, []string{"Junk", "Spam", "Junk E-mail", "Junk Email", "Skräppost", "Courrier indésirable", "垃圾邮件", "迷惑メール"}},
		{imap.MailboxAttrArchive, []string{"Archive", "Archives", "Arkiv", "Archiv", "Archivio", "Архив"}},
		{"", []string{"", "INBOX", "Projects", "Sent/2023", "Sent Items 2", "All Mail", "Starred", "Outbox", "R&D"}},
	}
	for _, tt := range tests {
		for _, n := range tt.names {
			if got := UseByName(n); got != tt.use {
				t.Errorf("UseByName(%q) = %q, want %q", n, got, tt.use)
			}
		}
	}
}

func TestWellKnownNamesAreUnambiguous(t *testing.T) {
	seen := make(map[string]imap.MailboxAttr)
	for u, names := range wellKnownNames {
		for _, n := range names {
			k := foldKey(n)
			if other, dup := seen[k]; dup && other != u {
				t.Errorf("%q is both %s and %s", n, other, u)
			}
			seen[k] = u
		}
	}
}

func TestFoldKey(t *testing.T) {
	pairs := [][2]string{{"Sent", "SENT"}, {"Éléments", "éLÉMENTS"}, {"Kelvin", "\u212Aelvin"}, {"Straße", "STRAßE"}}
	for _, p := range pairs {
		if foldKey(p[0]) != foldKey(p[1]) {
			t.Errorf("foldKey(%q) != foldKey(%q)", p[0], p[1])
		}
	}
	if foldKey("Sent") == foldKey("Sent Items") {
		t.Error("different names fold together")
	}
}

func TestFolderFromList(t *testing.T) {
	tests := []struct {
		attrs []imap.MailboxAttr
		want  Folder
	}{
		{nil, Folder{Name: "x", Delim: '/'}},
		{[]imap.MailboxAttr{`\HasNoChildren`, `\Sent`}, Folder{Name: "x", Delim: '/', SpecialUse: imap.MailboxAttrSent}},
		{[]imap.MailboxAttr{`\noselect`, `\HasChildren`}, Folder{Name: "x", Delim: '/', NoSelect: true}},
		{[]imap.MailboxAttr{`\NonExistent`, `\Subscribed`}, Folder{Name: "x", Delim: '/', NoSelect: true, Subscribed: true}},
		{[]imap.MailboxAttr{`\Noinferiors`, `\JUNK`}, Folder{Name: "x", Delim: '/', NoInferiors: true, SpecialUse: imap.MailboxAttrJunk}},
		{[]imap.MailboxAttr{`\Important`, `\Marked`}, Folder{Name: "x", Delim: '/'}},
		{[]imap.MailboxAttr{`\Trash`, `\Archive`}, Folder{Name: "x", Delim: '/', SpecialUse: imap.MailboxAttrTrash}},
	}
	for _, tt := range tests {
		if got := FolderFromList("x", '/', tt.attrs); got != tt.want {
			t.Errorf("FolderFromList(%q) = %+v, want %+v", tt.attrs, got, tt.want)
		}
	}
}

func TestDescribe(t *testing.T) {
	tests := []struct {
		m    Mapping
		want string
	}{
		{Mapping{Source: Folder{Name: "INBOX.Sent Messages", Subscribed: true}, Target: "Sent Items", SpecialUse: imap.MailboxAttrSent, Sync: true},
			`"INBOX.Sent Messages" → "Sent Items"  sync, \Sent, subscribed`},
		{Mapping{Source: Folder{Name: "Trash"}, Target: "Trash", Excluded: "#DeletedItems#"},
			`"Trash" → "Trash"  excluded (#DeletedItems#)`},
		{Mapping{Target: "a/b", Create: true, Note: `parent of "a/b/c"`},
			`(parent) → "a/b"  parent only, create — parent of "a/b/c"`},
		{Mapping{Source: Folder{Name: "已发送"}, Target: "已发送", Sync: true, Create: true},
			`"已发送" → "已发送"  sync, create`},
	}
	for _, tt := range tests {
		if got := Describe(tt.m); got != tt.want {
			t.Errorf("Describe(%+v)\n got %s\nwant %s", tt.m, got, tt.want)
		}
	}
}

func ExamplePlan() {
	source := []Folder{ // a Courier mailbox
		{Name: "INBOX", Delim: '.', Subscribed: true},
		{Name: "INBOX.Sent", Delim: '.', Subscribed: true},
		{Name: "INBOX.Sent.2023", Delim: '.'},
		{Name: "INBOX.Trash", Delim: '.'},
		{Name: "INBOX.R/D", Delim: '.'},
		{Name: "INBOX.Clients.ACME", Delim: '.'},
	}
	target := []Folder{ // Exchange Online
		{Name: "Inbox", Delim: '/'},
		{Name: "Sent Items", Delim: '/', SpecialUse: imap.MailboxAttrSent},
		{Name: "Deleted Items", Delim: '/', SpecialUse: imap.MailboxAttrTrash},
	}
	plan, err := Plan(source, target, '/', Options{
		SourcePrefix:          "INBOX.",
		Exclude:               []string{"#DeletedItems#"},
		TargetCaseInsensitive: true,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, m := range plan {
		fmt.Println(Describe(m))
	}
	// Output:
	// "INBOX" → "INBOX"  sync, subscribed
	// (parent) → "Clients"  parent only, create — parent of "INBOX.Clients.ACME"
	// "INBOX.Clients.ACME" → "Clients/ACME"  sync, create
	// "INBOX.R/D" → "R∕D"  sync, create
	// "INBOX.Sent" → "Sent Items"  sync, \Sent, subscribed — mapped to the target's \Sent folder
	// "INBOX.Sent.2023" → "Sent Items/2023"  sync, create
	// "INBOX.Trash" → "Trash"  excluded (#DeletedItems#)
}
