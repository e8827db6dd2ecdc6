package testenv

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

func TestDovecotCapabilities(t *testing.T) {
	d := StartDovecot(t, DovecotOptions{Users: map[string]string{"alice": "pw"}})

	c := d.Client(t, "alice", "pw")
	caps, err := c.Capability().Wait()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []imap.Cap{
		imap.CapIMAP4rev1, imap.CapCondStore, imap.CapQResync, imap.CapUIDPlus,
		imap.CapLiteralPlus, imap.CapMultiAppend, imap.CapSpecialUse,
		imap.CapMove, imap.CapNamespace, imap.CapEnable, imap.CapIdle,
	} {
		if _, ok := caps[want]; !ok {
			t.Errorf("capability %s not advertised after login", want)
		}
	}
	t.Logf("capabilities after login: %s", capList(caps))
}

func capList(caps imap.CapSet) string {
	var l []string
	for c := range caps {
		l = append(l, string(c))
	}
	slices.Sort(l)
	return strings.Join(l, " ")
}

// TestDovecotGreeting checks what an engine sees before logging in on the
// plain port: STARTTLS and AUTH=PLAIN offered, LOGIN allowed without TLS.
func TestDovecotGreeting(t *testing.T) {
	d := StartDovecot(t, DovecotOptions{})
	conn, err := net.DialTimeout("tcp", d.Addr(), dialTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"STARTTLS", "AUTH=PLAIN", "LITERAL+"} {
		if !strings.Contains(line, want) {
			t.Errorf("greeting %q lacks %s", strings.TrimSpace(line), want)
		}
	}
	if strings.Contains(line, "LOGINDISABLED") {
		t.Errorf("greeting %q: LOGIN disabled without TLS", strings.TrimSpace(line))
	}
}

func TestDovecotAddUserAfterStart(t *testing.T) {
	d := StartDovecot(t, DovecotOptions{Users: map[string]string{"alice": "pw"}})
	if c, err := DialLogin(d.Addr(), "bob", "bob-pw", nil); err == nil {
		c.Close()
		t.Fatal("bob logged in before he was added")
	}
	// Within the same second as lookups for alice and for the missing bob:
	// a new account is still seen at once.
	d.Client(t, "alice", "pw")
	if err := d.AddUser("Bob", "bob-pw"); err != nil {
		t.Fatal(err)
	}
	d.Client(t, "bob", "bob-pw")
	d.Client(t, d.MasterLogin("bob"), d.MasterPassword)

	for _, bad := range []struct{ name, pass string }{
		{"", "x"}, {"a:b", "x"}, {"a/b", "x"}, {"a b", "x"}, {".hidden", "x"},
		{"a*b", "x"}, {"carol", "pa:ss"}, {"carol", "pa\nss"},
	} {
		if err := d.AddUser(bad.name, bad.pass); err == nil {
			t.Errorf("AddUser(%q, %q) accepted", bad.name, bad.pass)
		}
	}
}

func TestDovecotMailDir(t *testing.T) {
	d := StartDovecot(t, DovecotOptions{Users: map[string]string{"alice": "pw"}})
	c := d.Client(t, "alice", "pw")
	Seed(t, c, "INBOX", Message{Body: GenMessage(rand.New(rand.NewPCG(1, 1)), 0)})

	// A message without flags lands in new/, one with flags in cur/.
	files, err := filepath.Glob(filepath.Join(d.MailDir("Alice"), "*", "*,S=*"))
	if err != nil || len(files) != 1 {
		t.Fatalf("MailDir: message files: %v, %v", files, err)
	}
	if os.Geteuid() == 0 {
		fi, err := os.Stat(files[0])
		if err != nil {
			t.Fatal(err)
		}
		u, err := user.Lookup(DefaultMailUser)
		if err != nil {
			t.Fatal(err)
		}
		if uid := strconv.Itoa(int(fi.Sys().(*syscall.Stat_t).Uid)); uid != u.Uid {
			t.Errorf("message file owned by uid %s, want %s (%s)", uid, u.Uid, DefaultMailUser)
		}
	}
}

func TestDovecotSeparatorAndLayout(t *testing.T) {
	tests := []struct {
		name    string
		opts    DovecotOptions
		delim   rune
		ok, bad []string // mailbox names that CREATE accepts / refuses
	}{
		{"slash", DovecotOptions{}, '/', []string{"a/b/c", "Grüße/日本"}, []string{"dotted.name"}},
		{"dot, fsync", DovecotOptions{Separator: '.', Fsync: true}, '.', []string{"a.b.c"}, []string{"slash/name"}},
		{"slash fs", DovecotOptions{Layout: "fs"}, '/', []string{"a/b/c", "dotted.name"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.opts.Users = map[string]string{"alice": "pw"}
			d := StartDovecot(t, tt.opts)
			c := d.Client(t, "alice", "pw")
			delim, err := Delimiter(c)
			if err != nil || delim != tt.delim {
				t.Fatalf("delimiter %q, %v; want %q", delim, err, tt.delim)
			}
			if d.Separator != tt.delim {
				t.Errorf("Dovecot.Separator %q", d.Separator)
			}
			for _, name := range tt.ok {
				Seed(t, c, name, Message{Body: GenMessage(rand.New(rand.NewPCG(2, 2)), 0)})
				if n := len(Snapshot(t, c)[name]); n != 1 {
					t.Errorf("%q: %d messages after seeding one", name, n)
				}
			}
			for _, name := range tt.bad {
				if err := c.Create(name, nil).Wait(); err == nil {
					t.Errorf("CREATE %q accepted; the package doc says Dovecot refuses it", name)
				}
			}
		})
	}

	for _, bad := range []DovecotOptions{{Separator: ':'}, {Layout: "mbox"}, {MasterSeparator: "**"}, {MaxUserIPConnections: -1}} {
		if _, err := Start(context.Background(), t.TempDir(), bad); err == nil {
			t.Errorf("Start(%+v) accepted bad options", bad)
		}
	}
}

func TestDovecotSpecialUse(t *testing.T) {
	specialUse := func(t *testing.T, d *Dovecot) map[string]imap.MailboxAttr {
		c := d.Client(t, "alice", "pw")
		l, err := c.List("", "*", &imap.ListOptions{ReturnSpecialUse: true}).Collect()
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]imap.MailboxAttr{}
		for _, mb := range l {
			for _, a := range mb.Attrs {
				switch a {
				case imap.MailboxAttrSent, imap.MailboxAttrDrafts, imap.MailboxAttrTrash, imap.MailboxAttrJunk, imap.MailboxAttrArchive:
					got[mb.Mailbox] = a
				}
			}
		}
		return got
	}
	all := map[string]imap.MailboxAttr{
		"Sent": imap.MailboxAttrSent, "Drafts": imap.MailboxAttrDrafts, "Trash": imap.MailboxAttrTrash,
		"Junk": imap.MailboxAttrJunk, "Archive": imap.MailboxAttrArchive,
	}

	t.Run("on demand", func(t *testing.T) {
		t.Parallel()
		d := StartDovecot(t, DovecotOptions{Users: map[string]string{"alice": "pw"}})
		if got := specialUse(t, d); len(got) != 0 {
			t.Fatalf("special-use folders exist before being created: %v", got)
		}
		c := d.Client(t, "alice", "pw")
		if err := CreateMailbox(c, "Sent"); err != nil {
			t.Fatal(err)
		}
		if got := specialUse(t, d); len(got) != 1 || got["Sent"] != imap.MailboxAttrSent {
			t.Fatalf("after CREATE Sent: %v", got)
		}
	})
	t.Run("auto", func(t *testing.T) {
		t.Parallel()
		d := StartDovecot(t, DovecotOptions{Users: map[string]string{"alice": "pw"}, AutoCreateSpecialUse: true})
		got := specialUse(t, d)
		for name, attr := range all {
			if got[name] != attr {
				t.Errorf("%s: %q, want %q", name, got[name], attr)
			}
		}
	})
}

func TestDovecotMaxUserIPConnections(t *testing.T) {
	d := StartDovecot(t, DovecotOptions{Users: map[string]string{"alice": "pw"}, MaxUserIPConnections: 12})
	// Dovecot's default limit is 10 per user and IP.
	for i := range 12 {
		c := d.Client(t, "alice", "pw")
		if _, err := c.Select("INBOX", nil).Wait(); err != nil {
			t.Fatalf("connection %d: %v", i+1, err)
		}
	}
	if c, err := DialLogin(d.Addr(), "alice", "pw", nil); err == nil {
		c.Close()
		t.Error("connection 13 was accepted with MaxUserIPConnections 12")
	}
}

// TestTwoDovecots starts a source and a target at once, as engine tests do,
// outside a test's helpers (Start/Stop, as the benchmark uses them).
func TestTwoDovecots(t *testing.T) {
	RequireDovecot(t)
	ctx := context.Background()
	dirs := []string{mkdirTemp(t), mkdirTemp(t)}
	ds := make([]*Dovecot, len(dirs))
	errs := make([]error, len(dirs))
	var wg sync.WaitGroup
	for i, dir := range dirs {
		wg.Go(func() {
			ds[i], errs[i] = Start(ctx, dir, DovecotOptions{Users: map[string]string{"alice": "pw"}})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("start %d: %v", i, err)
		}
		t.Cleanup(func() { ds[i].Kill() })
	}
	if ds[0].Port == ds[1].Port || ds[0].TLSPort == ds[1].TLSPort {
		t.Fatalf("instances share ports: %+v, %+v", ds[0], ds[1])
	}
	for i, d := range ds {
		// Typically 50-150 ms; on a loaded 2-CPU machine running several
		// suites at once, up to about 2 s.
		t.Logf("instance %d started in %v", i, d.StartDuration)
		if d.StartDuration > 3*time.Second {
			t.Errorf("instance %d took %v to start", i, d.StartDuration)
		}
		Seed(t, d.Client(t, "alice", "pw"), "INBOX", Message{Body: GenMessage(rand.New(rand.NewPCG(uint64(i), 0)), 0)})
	}
	a := Snapshot(t, ds[0].Client(t, "alice", "pw"))["INBOX"]
	b := Snapshot(t, ds[1].Client(t, "alice", "pw"))["INBOX"]
	if len(a) != 1 || len(b) != 1 || a[0].SHA256 == b[0].SHA256 {
		t.Fatalf("instances share a mailbox: %v / %v", a, b)
	}

	// Graceful stop, twice, then Kill: all fine; the port is closed.
	start := time.Now()
	if err := ds[0].Stop(); err != nil {
		t.Errorf("Stop: %v", err)
	}
	t.Logf("graceful stop took %v", time.Since(start))
	if err := ds[0].Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	if err := ds[0].Kill(); err != nil {
		t.Errorf("Kill after Stop: %v", err)
	}
	select {
	case <-ds[0].Exited():
	default:
		t.Error("Exited not closed after Stop")
	}
	if c, err := net.DialTimeout("tcp", ds[0].Addr(), time.Second); err == nil {
		c.Close()
		t.Error("port still open after Stop")
	}
	// Kill: immediate.
	start = time.Now()
	if err := ds[1].Kill(); err != nil {
		t.Errorf("Kill: %v", err)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("Kill took %v", d)
	}
}

// mkdirTemp makes a directory the mail user can traverse (see StartDovecot).
func mkdirTemp(t *testing.T) string {
	dir, err := os.MkdirTemp("", "imapmigrate-dovecot-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func TestDovecotStartErrors(t *testing.T) {
	RequireDovecot(t)
	if os.Geteuid() == 0 {
		// t.TempDir's parents are 0700: the mail user could not reach them.
		_, err := Start(context.Background(), t.TempDir(), DovecotOptions{})
		if err == nil || !strings.Contains(err.Error(), "not searchable") {
			t.Errorf("Start in t.TempDir: %v, want a 'not searchable' error", err)
		}
	}
	// A broken configuration fails fast with Dovecot's own words.
	start := time.Now()
	_, err := Start(context.Background(), mkdirTemp(t), DovecotOptions{ExtraConfig: "no_such_setting = 1"})
	if err == nil || !strings.Contains(err.Error(), "no_such_setting") {
		t.Errorf("Start with a bad setting: %v, want Dovecot's complaint", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("bad config took %v to report", d)
	}
}

// TestDovecotBehaviours pins down what Dovecot does that an engine copying
// mail must expect (see the package documentation).
func TestDovecotBehaviours(t *testing.T) {
	d := StartDovecot(t, DovecotOptions{Users: map[string]string{"alice": "pw"}})
	c := d.Client(t, "alice", "pw")

	// 1. A message appended with bare LF line endings comes back with CRLF,
	// and RFC822.SIZE counts the CRLF form: bytes are not kept verbatim.
	lf := []byte("Subject: bare LF\nFrom: a@example.com\n\nline 1\nline 2\n")
	crlf := []byte(strings.ReplaceAll(string(lf), "\n", "\r\n"))
	// 2. INTERNALDATE keeps the instant, not the zone.
	when := time.Date(2020, 1, 1, 10, 0, 0, 0, time.FixedZone("", 5*3600+1800))
	Seed(t, c, "INBOX", Message{Body: lf, InternalDate: when})
	got := Snapshot(t, c)["INBOX"][0]
	if got.SHA256 != BodySHA256(crlf) || got.Size != int64(len(crlf)) || got.BodyLen != int64(len(crlf)) {
		t.Errorf("bare-LF message: size %d, body %d bytes, sha %s; want the CRLF form (%d bytes)", got.Size, got.BodyLen, got.SHA256, len(crlf))
	}
	if !got.InternalDate.Equal(when) {
		t.Errorf("INTERNALDATE %v, want the instant %v", got.InternalDate, when)
	}

	// 3. MULTIAPPEND answers with one APPENDUID holding a UID range.
	resp := rawIMAP(t, d.Addr(), "a LOGIN alice pw",
		"b APPEND INBOX (\\Seen) {3+}\r\nx\r\n {3+}\r\ny\r\n",
		"c LOGOUT")
	if !strings.Contains(resp, "[APPENDUID ") || !strings.Contains(resp, " 2:3]") {
		t.Errorf("MULTIAPPEND response lacks APPENDUID with a range:\n%s", resp)
	}

	// 4. More than 26 keywords per mailbox are accepted (Maildir file names
	// hold 26; the rest live only in Dovecot's index).
	var kws []imap.Flag
	for i := range 30 {
		kws = append(kws, imap.Flag(fmt.Sprintf("kw%02d", i)))
	}
	Seed(t, c, "Keywords", Message{Body: crlf, Flags: kws})
	if n := len(Snapshot(t, c)["Keywords"][0].Flags); n != 30 {
		t.Errorf("30 keywords stored, %d read back", n)
	}
}

// rawIMAP sends commands (each completed with CRLF) on one connection and
// returns everything the server said until it closed the connection.
func rawIMAP(t *testing.T, addr string, cmds ...string) string {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, dialTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	for _, cmd := range cmds {
		if _, err := conn.Write([]byte(cmd + "\r\n")); err != nil {
			t.Fatal(err)
		}
	}
	var out strings.Builder
	sc := bufio.NewScanner(conn)
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
	}
	return out.String()
}
