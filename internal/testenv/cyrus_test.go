package testenv

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
)

// TestCyrusStarts checks what every test relies on: LOGIN as a user, the
// admin's proxy login with an authzid, fast failures, and the log.
func TestCyrusStarts(t *testing.T) {
	c := StartCyrus(t, CyrusOptions{Users: map[string]string{"alice": "alice-pw", "Bob": "bob-pw"}})
	t.Logf("started in %v; syslog captured: %v", c.StartDuration, c.SyslogCaptured)

	body := GenMessage(rand.New(rand.NewPCG(3, 3)), 0)
	Seed(t, c.Client(t, "alice", "alice-pw"), "INBOX", Message{Body: body})
	// Login names are case-insensitive (username_tolower); Bob was created
	// as bob.
	c.Client(t, "BOB", "bob-pw")

	// The admin logs in as alice: SASL PLAIN authzid=alice, authcid=admin.
	snap := Snapshot(t, c.AdminClientAs(t, "alice"))
	if got := snap["INBOX"]; len(got) != 1 || got[0].SHA256 != BodySHA256(body) {
		t.Fatalf("admin as alice sees INBOX %+v, want alice's one message", got)
	}
	if got := Snapshot(t, c.AdminClientAs(t, "bob"))["INBOX"]; len(got) != 0 {
		t.Errorf("admin as bob sees %d messages, want 0", len(got))
	}

	auth := func(authzid, authcid, pass string) error {
		cl, err := imapclient.DialInsecure(c.Addr(), &imapclient.Options{Dialer: &net.Dialer{Timeout: dialTimeout}})
		if err != nil {
			return err
		}
		defer cl.Close()
		return cl.Authenticate(sasl.NewPlainClient(authzid, authcid, pass))
	}
	if err := auth("", "alice", "alice-pw"); err != nil {
		t.Errorf("PLAIN without authzid: %v", err)
	}
	for _, bad := range []struct{ authzid, authcid, pass string }{
		{"alice", c.AdminUser, "wrong"},
		{"alice", "bob", "bob-pw"}, // bob is no proxy server
		{"", "alice", "bob-pw"},
	} {
		if err := auth(bad.authzid, bad.authcid, bad.pass); err == nil {
			t.Errorf("PLAIN %q/%q/%q succeeded", bad.authzid, bad.authcid, bad.pass)
		}
	}
	for _, bad := range []struct{ user, pass string }{
		{"alice", "wrong"}, {"nobody", "alice-pw"}, {"alice", "bob-pw"}, {c.AdminUser + "x", c.AdminPassword},
	} {
		start := time.Now()
		if cl, err := DialLogin(c.Addr(), bad.user, bad.pass, nil); err == nil {
			cl.Close()
			t.Errorf("LOGIN %s/%s succeeded", bad.user, bad.pass)
		}
		// Cyrus's default failedloginpause is 3 s.
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("failed LOGIN took %v; failedloginpause should be 0", d)
		}
	}

	if c.SyslogCaptured {
		if log := c.LogTail(100); !strings.Contains(log, "login: localhost [127.0.0.1] alice plaintext User logged in") {
			t.Errorf("cyrus.log lacks alice's login:\n%s", log)
		}
	} else if expectSyslog() {
		t.Errorf("running as root with mount namespaces, but Cyrus's syslog is not captured:\n%s", c.LogTail(20))
	}
	if os.Geteuid() == 0 {
		// Cyrus runs as the mail user and its files are the mail user's.
		fi, err := os.Stat(filepath.Join(c.Dir, "conf", "mailboxes.db"))
		if err != nil {
			t.Fatal(err)
		}
		u, err := user.Lookup(DefaultMailUser)
		if err != nil {
			t.Fatal(err)
		}
		if uid := strconv.Itoa(int(fi.Sys().(*syscall.Stat_t).Uid)); uid != u.Uid {
			t.Errorf("mailboxes.db owned by uid %s, want %s (%s)", uid, u.Uid, DefaultMailUser)
		}
	}
}

// TestCyrusGreeting checks what an engine sees before logging in on the
// plain port.
func TestCyrusGreeting(t *testing.T) {
	c := StartCyrus(t, CyrusOptions{})
	conn, err := net.DialTimeout("tcp", c.Addr(), dialTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	const want = "* OK [CAPABILITY IMAP4rev1 LITERAL+ ID ENABLE STARTTLS AUTH=PLAIN AUTH=LOGIN SASL-IR] localhost Cyrus IMAP 3.6.1"
	if !strings.HasPrefix(line, want) {
		t.Errorf("greeting %q, want it to start with %q", strings.TrimSpace(line), want)
	}
}

func TestCyrusTLS(t *testing.T) {
	// A CA from elsewhere (its key in a 0700 directory the mail user cannot
	// read): Cyrus gets a copy.
	ca := NewTestCA(t)
	c := StartCyrus(t, CyrusOptions{Users: map[string]string{"alice": "pw"}, CA: ca})
	if c.CA != ca || c.Endpoint().CA != ca {
		t.Fatal("CyrusOptions.CA not used")
	}
	caPEM, err := os.ReadFile(ca.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	trusted := &imapclient.Options{TLSConfig: &tls.Config{RootCAs: pool}, Dialer: &net.Dialer{Timeout: dialTimeout}}
	untrusted := &imapclient.Options{TLSConfig: &tls.Config{RootCAs: x509.NewCertPool()}, Dialer: &net.Dialer{Timeout: dialTimeout}}
	dials := []struct {
		name string
		dial func(*imapclient.Options) (*imapclient.Client, error)
	}{
		{"starttls", func(o *imapclient.Options) (*imapclient.Client, error) { return imapclient.DialStartTLS(c.Addr(), o) }},
		{"implicit", func(o *imapclient.Options) (*imapclient.Client, error) { return imapclient.DialTLS(c.TLSAddr(), o) }},
	}
	for _, d := range dials {
		start := time.Now()
		cl, err := d.dial(trusted)
		if err != nil {
			t.Errorf("%s: %v", d.name, err)
			continue
		}
		if err := cl.Login("alice", "pw").Wait(); err != nil {
			t.Errorf("%s: login: %v", d.name, err)
		}
		closeClient(cl)
		// Without session tickets (see cyrusOpenSSLConf) no 40 ms wait for
		// a delayed ACK; allow for a slow machine.
		t.Logf("%s: connected and logged in in %v", d.name, time.Since(start))

		if cl, err := d.dial(untrusted); err == nil {
			err = cl.Noop().Wait() // STARTTLS may only fail at the first command
			cl.Close()
			if err == nil {
				t.Errorf("%s: connected without trusting the CA", d.name)
			}
		}
	}
}

func TestCyrusAddUserAfterStart(t *testing.T) {
	c := StartCyrus(t, CyrusOptions{Users: map[string]string{"alice": "pw"}})
	if cl, err := DialLogin(c.Addr(), "bob", "bob-pw", nil); err == nil {
		cl.Close()
		t.Fatal("bob logged in before he was added")
	}
	c.Client(t, "alice", "pw")
	if err := c.AddUser("Bob", "bob-pw"); err != nil {
		t.Fatal(err)
	}
	// At once, with his INBOX, by LOGIN and through the admin.
	cl := c.Client(t, "bob", "bob-pw")
	if _, err := cl.Select("INBOX", nil).Wait(); err != nil {
		t.Fatalf("bob's INBOX: %v", err)
	}
	Seed(t, cl, c.Mailbox("Sent"), Message{Body: GenMessage(rand.New(rand.NewPCG(4, 4)), 0)})
	if n := len(Snapshot(t, c.AdminClientAs(t, "bob"))[c.Mailbox("Sent")]); n != 1 {
		t.Errorf("admin as bob: %d messages in Sent, want 1", n)
	}
	// A dot in a name: user.john^doe with the '.' separator.
	if err := c.AddUser("john.doe", "jd-pw"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Client(t, "john.doe", "jd-pw").Select("INBOX", nil).Wait(); err != nil {
		t.Errorf("john.doe's INBOX: %v", err)
	}
	// A new password replaces the old one; the mail stays.
	if err := c.AddUser("bob", "new-pw"); err != nil {
		t.Fatal(err)
	}
	if cl, err := DialLogin(c.Addr(), "bob", "bob-pw", nil); err == nil {
		cl.Close()
		t.Error("bob's old password still works")
	}
	if n := len(Snapshot(t, c.Client(t, "bob", "new-pw"))[c.Mailbox("Sent")]); n != 1 {
		t.Errorf("after a new password bob has %d messages in Sent, want 1", n)
	}

	// Many at once (AddUser serialises the sasldb updates).
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() { errs[i] = c.AddUser(fmt.Sprintf("par%d", i), "pw") })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("AddUser par%d: %v", i, err)
			continue
		}
		c.Client(t, fmt.Sprintf("par%d", i), "pw")
	}

	for _, bad := range []struct{ name, pass string }{
		{"", "x"}, {"a b", "x"}, {"a/b", "x"}, {"a@b", "x"}, {".hidden", "x"}, {"-x", "x"}, {"trailing.", "x"},
		{"carol", ""}, {"carol", "pa\nss"}, {c.AdminUser, "x"},
	} {
		if err := c.AddUser(bad.name, bad.pass); err == nil {
			t.Errorf("AddUser(%q, %q) accepted", bad.name, bad.pass)
		}
	}
}

func TestCyrusNamespaces(t *testing.T) {
	tests := []struct {
		name   string
		opts   CyrusOptions
		delim  rune
		prefix string
		// ok are folder paths below the personal namespace that CREATE
		// accepts, bad ones it refuses.
		ok, bad []string
	}{
		{"debian", CyrusOptions{}, '.', "INBOX.", []string{"a.b.c", "Grüße 日本"}, []string{"sl/ash"}},
		{"unixhierarchysep", CyrusOptions{UnixHierarchySep: true}, '/', "INBOX/", []string{"a/b/c", "dotted.name"}, nil},
		{"altnamespace", CyrusOptions{AltNamespace: true}, '.', "", []string{"Sent", "a.b"}, []string{"sl/ash"}},
		{"both", CyrusOptions{AltNamespace: true, UnixHierarchySep: true}, '/', "", []string{"Sent", "a/b", "dotted.name"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.opts.Users = map[string]string{"alice": "pw", "john.doe": "pw"}
			c := StartCyrus(t, tt.opts)
			if c.Separator != tt.delim || c.PersonalPrefix != tt.prefix {
				t.Errorf("Separator %q, PersonalPrefix %q; want %q, %q", c.Separator, c.PersonalPrefix, tt.delim, tt.prefix)
			}
			cl := c.Client(t, "alice", "pw")
			ns, err := cl.Namespace().Wait()
			if err != nil {
				t.Fatal(err)
			}
			if len(ns.Personal) != 1 || ns.Personal[0].Prefix != tt.prefix || ns.Personal[0].Delim != tt.delim {
				t.Errorf("personal namespace %+v, want %q %q", ns.Personal, tt.prefix, tt.delim)
			}
			if delim, err := Delimiter(cl); err != nil || delim != tt.delim {
				t.Errorf("delimiter %q, %v; want %q", delim, err, tt.delim)
			}
			for _, p := range tt.ok {
				name := c.Mailbox(strings.Split(p, string(tt.delim))...)
				if !strings.HasPrefix(name, tt.prefix) {
					t.Fatalf("Mailbox(%q) = %q, want prefix %q", p, name, tt.prefix)
				}
				Seed(t, cl, name, Message{Body: GenMessage(rand.New(rand.NewPCG(5, 5)), 0)})
				if n := len(Snapshot(t, cl)[name]); n != 1 {
					t.Errorf("%q: %d messages after seeding one", name, n)
				}
			}
			for _, p := range tt.bad {
				if err := cl.Create(c.Mailbox(p), nil).Wait(); err == nil {
					t.Errorf("CREATE %q accepted", c.Mailbox(p))
				}
			}
			// The admin's view: every user's INBOX is user<sep>name.
			l, err := c.Client(t, c.AdminUser, c.AdminPassword).List("", "user"+string(tt.delim)+"%", nil).Collect()
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, mb := range l {
				got = append(got, mb.Mailbox)
			}
			slices.Sort(got)
			johnDoe := "john^doe"
			if tt.delim == '/' {
				johnDoe = "john.doe"
			}
			want := []string{"user" + string(tt.delim) + "alice", "user" + string(tt.delim) + johnDoe}
			if !slices.Equal(got, want) {
				t.Errorf("admin LIST user%c%%: %q, want %q", tt.delim, got, want)
			}
		})
	}
}

// TestCyrusSeedSnapshot runs the seed and snapshot helpers against Cyrus,
// with folder names as a user of Debian's namespace sees them.
func TestCyrusSeedSnapshot(t *testing.T) {
	c := StartCyrus(t, CyrusOptions{Users: map[string]string{"alice": "pw"}})
	cl := c.Client(t, "alice", "pw")
	rng := rand.New(rand.NewPCG(6, 6))
	paris := time.FixedZone("", 3600)
	seeds := map[string][]Message{
		"INBOX": {
			{Body: GenMessage(rng, 2000), Flags: []imap.Flag{imap.FlagSeen}, InternalDate: time.Date(2019, 3, 4, 5, 6, 7, 0, paris)},
			{Body: GenMessage(rng, 3000), Flags: []imap.Flag{imap.FlagAnswered, imap.FlagFlagged, "$Forwarded", "Project_X"}, InternalDate: time.Date(2020, 12, 31, 23, 59, 59, 0, time.UTC)},
			{Body: GenMessage(rng, 1<<20, WithAttachment()), InternalDate: time.Date(2021, 6, 1, 12, 0, 0, 0, time.UTC)},
		},
		c.Mailbox("Sent"):                    {{Body: GenMessage(rng, 5000), Flags: []imap.Flag{imap.FlagSeen, "$MDNSent"}, InternalDate: time.Date(2018, 7, 7, 7, 7, 7, 0, time.UTC)}},
		c.Mailbox("Projects", "2024", "Q1"):  {{Body: GenMessage(rng, 64<<10), Flags: []imap.Flag{imap.FlagDeleted, imap.FlagDraft}, InternalDate: time.Date(2024, 2, 29, 10, 0, 0, 0, paris)}},
		c.Mailbox("Empty"):                   nil,
		c.Mailbox("Ünïcode", "Привет", "日本"): {{Body: GenMessage(rng, 100), InternalDate: time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)}},
	}
	want := map[string][]MessageInfo{}
	for name, msgs := range seeds {
		uids := Seed(t, cl, name, msgs...)
		infos := []MessageInfo{}
		for i, m := range msgs {
			if uids[i] == 0 {
				t.Fatalf("%s: no APPENDUID for message %d", name, i)
			}
			infos = append(infos, MessageInfo{UID: uids[i], Flags: normalizeFlags(m.Flags), InternalDate: m.InternalDate.UTC(),
				Size: int64(len(m.Body)), BodyLen: int64(len(m.Body)), SHA256: BodySHA256(m.Body)})
		}
		want[name] = infos
	}
	// Cyrus creates the parents as real, selectable mailboxes.
	for _, p := range [][]string{{"Projects"}, {"Projects", "2024"}, {"Ünïcode"}, {"Ünïcode", "Привет"}} {
		want[c.Mailbox(p...)] = []MessageInfo{}
	}
	if diff := DiffSnapshots(want, Snapshot(t, cl)); len(diff) > 0 {
		t.Fatalf("snapshot differs from what was seeded:\n%s", joinLines(diff))
	}
}

// TestTwoCyruses starts a source and a target at once, as engine tests do,
// outside a test's helpers.
func TestTwoCyruses(t *testing.T) {
	RequireCyrus(t)
	ctx := context.Background()
	dirs := []string{mkdirTemp(t), mkdirTemp(t)}
	cs := make([]*Cyrus, len(dirs))
	errs := make([]error, len(dirs))
	var wg sync.WaitGroup
	for i, dir := range dirs {
		wg.Go(func() {
			cs[i], errs[i] = StartCyrusDir(ctx, dir, CyrusOptions{Users: map[string]string{"alice": "pw"}})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("start %d: %v", i, err)
		}
		t.Cleanup(func() { cs[i].Kill() })
	}
	if cs[0].Port == cs[1].Port || cs[0].TLSPort == cs[1].TLSPort {
		t.Fatalf("instances share ports: %+v, %+v", cs[0], cs[1])
	}
	for i, c := range cs {
		// Typically 30-50 ms; allow for a loaded machine.
		t.Logf("instance %d started in %v", i, c.StartDuration)
		if c.StartDuration > 3*time.Second {
			t.Errorf("instance %d took %v to start", i, c.StartDuration)
		}
		Seed(t, c.Client(t, "alice", "pw"), "INBOX", Message{Body: GenMessage(rand.New(rand.NewPCG(uint64(i), 9)), 0)})
	}
	a := Snapshot(t, cs[0].Client(t, "alice", "pw"))["INBOX"]
	b := Snapshot(t, cs[1].Client(t, "alice", "pw"))["INBOX"]
	if len(a) != 1 || len(b) != 1 || a[0].SHA256 == b[0].SHA256 {
		t.Fatalf("instances share a mailbox: %v / %v", a, b)
	}

	// Graceful stop, twice, then Kill: all fine; the port is closed.
	start := time.Now()
	if err := cs[0].Stop(); err != nil {
		t.Errorf("Stop: %v", err)
	}
	t.Logf("graceful stop took %v", time.Since(start))
	if err := cs[0].Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	if err := cs[0].Kill(); err != nil {
		t.Errorf("Kill after Stop: %v", err)
	}
	select {
	case <-cs[0].Exited():
	default:
		t.Error("Exited not closed after Stop")
	}
	if conn, err := net.DialTimeout("tcp", cs[0].Addr(), time.Second); err == nil {
		conn.Close()
		t.Error("port still open after Stop")
	}
	start = time.Now()
	if err := cs[1].Kill(); err != nil {
		t.Errorf("Kill: %v", err)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("Kill took %v", d)
	}
	if conn, err := net.DialTimeout("tcp", cs[1].TLSAddr(), time.Second); err == nil {
		conn.Close()
		t.Error("TLS port still open after Kill")
	}
}

// TestCyrusPortTaken: a port taken between choosing it and master binding
// it makes master exit, and Start tries again with new ports.
func TestCyrusPortTaken(t *testing.T) {
	RequireCyrus(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	taken := ln.Addr().(*net.TCPAddr).Port
	calls := 0
	cyrusFreePorts = func(host string, n int) ([]int, error) {
		calls++
		ports, err := freePorts(host, n)
		if calls == 1 && err == nil {
			ports[1] = taken
		}
		return ports, err
	}
	defer func() { cyrusFreePorts = freePorts }()

	c := StartCyrus(t, CyrusOptions{})
	if calls != 2 || c.TLSPort == taken {
		t.Errorf("%d port choices, TLS port %d (taken: %d); want a second choice", calls, c.TLSPort, taken)
	}
}

func TestCyrusStartErrors(t *testing.T) {
	RequireCyrus(t)
	if os.Geteuid() == 0 {
		// t.TempDir's parents are 0700: the mail user could not reach them.
		_, err := StartCyrusDir(context.Background(), t.TempDir(), CyrusOptions{})
		if err == nil || !strings.Contains(err.Error(), "not searchable") {
			t.Errorf("StartCyrusDir in t.TempDir: %v, want a 'not searchable' error", err)
		}
	}
	for _, bad := range []CyrusOptions{
		{AdminUser: "bad name"}, {Users: map[string]string{"a/b": "x"}}, {Root: t.TempDir()}, {StartTimeout: -1},
	} {
		if c, err := StartCyrusDir(context.Background(), mkdirTemp(t), bad); err == nil {
			c.Kill()
			t.Errorf("StartCyrusDir(%+v) accepted bad options", bad)
		}
	}
	// A broken configuration fails fast, with master's own words when its
	// syslog is captured.
	start := time.Now()
	_, err := StartCyrusDir(context.Background(), mkdirTemp(t), CyrusOptions{ExtraConfig: "tls_client_certs: sometimes"})
	if err == nil {
		t.Fatal("StartCyrusDir with a bad setting succeeded")
	}
	t.Logf("bad setting: %v", err)
	if expectSyslog() && !strings.Contains(err.Error(), "tls_client_certs") {
		t.Errorf("bad setting: %v, want Cyrus's complaint about tls_client_certs", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("bad config took %v to report", d)
	}
}

// TestCyrusBehaviours pins down what Cyrus does that an engine copying mail
// must expect (see the package documentation). Each part has its own user.
func TestCyrusBehaviours(t *testing.T) {
	c := StartCyrus(t, CyrusOptions{})
	// addUser adds the user named after the subtest (and suffix).
	addUser := func(t *testing.T, suffix string) string {
		t.Helper()
		name := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name())) + suffix
		if err := c.AddUser(name, "pw"); err != nil {
			t.Fatal(err)
		}
		return name
	}
	newUser := func(t *testing.T) (string, *imapclient.Client) {
		t.Helper()
		name := addUser(t, "")
		return name, c.Client(t, name, "pw")
	}
	// raw runs commands as another new user, after LOGIN, and returns the
	// answers.
	raw := func(t *testing.T, cmds ...string) string {
		t.Helper()
		name := addUser(t, "-raw")
		return rawIMAP(t, c.Addr(), append(append([]string{"l LOGIN " + name + " pw"}, cmds...), "z LOGOUT")...)
	}
	literal := func(s string) string { return fmt.Sprintf("{%d+}\r\n%s", len(s), s) }

	t.Run("capabilities", func(t *testing.T) {
		_, cl := newUser(t)
		caps, err := cl.Capability().Wait()
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("capabilities after login: %s", capList(caps))
		for _, want := range []imap.Cap{
			imap.CapIMAP4rev1, imap.CapLiteralPlus, imap.CapID, imap.CapEnable, imap.CapIdle,
			imap.CapCondStore, imap.CapQResync, imap.CapUIDPlus, imap.CapMultiAppend, imap.CapMove,
			imap.CapNamespace, imap.CapSpecialUse, imap.CapCreateSpecialUse, imap.CapListExtended,
			imap.CapListStatus, imap.CapStatusSize, imap.CapUnselect, imap.CapChildren, imap.CapBinary,
			imap.CapCatenate, imap.CapESearch, imap.CapACL, imap.CapQuota, imap.CapMetadata,
			imap.CapObjectID, imap.CapSaveDate, imap.CapPreview, "APPENDLIMIT=4294967295", "COMPRESS=DEFLATE",
			// Cyrus's oddity: LOGINDISABLED after login, though LOGIN works
			// without TLS (TestCyrusStarts).
			"XLIST", "LOGINDISABLED",
		} {
			if _, ok := caps[want]; !ok {
				t.Errorf("capability %s not advertised after login", want)
			}
		}
		for _, absent := range []imap.Cap{imap.CapIMAP4rev2, imap.CapUTF8Accept, imap.CapLiteralMinus, "NOTIFY", imap.CapSASLIR} {
			if _, ok := caps[absent]; ok {
				t.Errorf("capability %s advertised after login", absent)
			}
		}
	})

	t.Run("enable", func(t *testing.T) {
		// Our client asks for IMAP4rev2 and UTF8=ACCEPT; Cyrus 3.6 has
		// neither, so names travel in modified UTF-7.
		out := raw(t, "a ENABLE IMAP4rev2 UTF8=ACCEPT CONDSTORE QRESYNC")
		if !strings.Contains(out, "* ENABLED CONDSTORE QRESYNC\na OK") {
			t.Errorf("ENABLE answer, want only CONDSTORE and QRESYNC enabled:\n%s", out)
		}
	})

	t.Run("namespace", func(t *testing.T) {
		_, cl := newUser(t)
		ns, err := cl.Namespace().Wait()
		if err != nil {
			t.Fatal(err)
		}
		want := imap.NamespaceData{
			Personal: []imap.NamespaceDescriptor{{Prefix: "INBOX.", Delim: '.'}},
			Other:    []imap.NamespaceDescriptor{{Prefix: "user.", Delim: '.'}},
			Shared:   []imap.NamespaceDescriptor{{Prefix: "", Delim: '.'}},
		}
		if fmt.Sprint(*ns) != fmt.Sprint(want) {
			t.Errorf("NAMESPACE %+v, want %+v", *ns, want)
		}
		// A folder outside INBOX. would be a shared one: users may not.
		if err := cl.Create("Sent", nil).Wait(); err == nil {
			t.Error("CREATE Sent (a top-level, shared name) accepted for a user")
		}
	})

	t.Run("select", func(t *testing.T) {
		out := raw(t, "a SELECT INBOX", "b EXAMINE INBOX")
		sel, exa, _ := strings.Cut(out, "a OK")
		// UIDVALIDITY, UIDNEXT and HIGHESTMODSEQ without ENABLE CONDSTORE.
		for _, want := range []string{`\* OK \[UIDVALIDITY \d+\]`, `\* OK \[UIDNEXT 1\]`, `\* OK \[HIGHESTMODSEQ \d+\]`,
			`\* OK \[MAILBOXID \(\w+\)\]`, `\* OK \[PERMANENTFLAGS \(\\Answered \\Flagged \\Draft \\Deleted \\Seen \\\*\)\]`, `a OK \[READ-WRITE\]`} {
			if !regexp.MustCompile(want).MatchString(sel + "a OK" + exa) {
				t.Errorf("SELECT answer lacks %s:\n%s", want, sel)
			}
		}
		// EXAMINE: no permanent flags at all.
		for _, want := range []string{`\* OK \[PERMANENTFLAGS \(\)\]`, `\* OK \[HIGHESTMODSEQ \d+\]`, `b OK \[READ-ONLY\]`} {
			if !regexp.MustCompile(want).MatchString(exa) {
				t.Errorf("EXAMINE answer lacks %s:\n%s", want, exa)
			}
		}
	})

	t.Run("multiappend", func(t *testing.T) {
		out := raw(t, "a APPEND INBOX (\\Seen) "+literal("Subject: 1\r\n\r\none\r\n")+" "+literal("Subject: 2\r\n\r\ntwo\r\n"))
		if !regexp.MustCompile(`a OK \[APPENDUID \d+ 1:2\]`).MatchString(out) {
			t.Errorf("MULTIAPPEND answer lacks one APPENDUID with the range 1:2:\n%s", out)
		}
	})

	t.Run("bytes", func(t *testing.T) {
		// What Cyrus refuses, and why.
		refused := map[string]string{
			"Subject: bare LF\n\nline\n":       "Message contains bare newlines",
			"Subject: NUL\r\n\r\nli\x00ne\r\n": "Message contains NUL characters",
			"no header line\r\n\r\nbody\r\n":   "Message contains invalid header",
			"Subject: no body, no CRLF":        "Message contains invalid header",
		}
		_, cl := newUser(t)
		for msg, want := range refused {
			_, err := Append(cl, "INBOX", Message{Body: []byte(msg)})
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("APPEND %q: %v, want NO %q", msg, err, want)
			}
		}
		// What Cyrus keeps byte for byte: no final CRLF, a bare CR in the
		// body, 8-bit bodies, long lines; RFC822.SIZE is the length.
		kept := []string{
			"Subject: no final CRLF\r\n\r\nlast line",
			"Subject: bare CR\r\n\r\nli\rne\r\n",
			"Subject: 8-bit body\r\n\r\n\xc3\xa9t\xc3\xa9 \xff\r\n",
			"Subject: long\r\n\r\n" + strings.Repeat("x", 20000) + "\r\n",
			"Subject: trailing blank lines\r\n\r\nx\r\n\r\n\r\n",
			// The 8-bit header below, as Cyrus stores it.
			"Subject: 8 bit XXX\r\nFrom: XXX <a@example.com>\r\n\r\n\xc3\xa9t\xc3\xa9\r\n",
		}
		var msgs []Message
		for _, m := range kept {
			msgs = append(msgs, Message{Body: []byte(m)})
		}
		Seed(t, cl, c.Mailbox("kept"), msgs...)
		got := Snapshot(t, cl)[c.Mailbox("kept")]
		for i, m := range kept {
			if i >= len(got) || got[i].SHA256 != BodySHA256([]byte(m)) || got[i].Size != int64(len(m)) {
				t.Errorf("message %d (%q...) not kept verbatim: %+v", i, m[:min(len(m), 30)], got)
			}
		}
		// 8-bit bytes in a header are replaced by X, one for one
		// (munge8bit, on by default; it covers APPEND, not only lmtpd):
		// RFC822.SIZE is unchanged, the bytes are not.
		header8 := "Subject: 8 bit \xc3\xa9\xff\r\nFrom: \xe6\x97\xa5 <a@example.com>\r\n\r\n\xc3\xa9t\xc3\xa9\r\n"
		uids := Seed(t, cl, c.Mailbox("munged"), Message{Body: []byte(header8)})
		got = Snapshot(t, cl)[c.Mailbox("munged")]
		if len(got) != 1 || got[0].UID != uids[0] || got[0].Size != int64(len(header8)) || got[0].SHA256 != BodySHA256([]byte(kept[len(kept)-1])) {
			t.Errorf("8-bit header: %+v; want the same size with X for each 8-bit byte", got)
		}
	})

	t.Run("internaldate", func(t *testing.T) {
		// The instant is kept, not the zone: Cyrus answers in its own.
		_, cl := newUser(t)
		when := time.Date(2020, 1, 1, 10, 0, 0, 0, time.FixedZone("", 5*3600+1800))
		Seed(t, cl, "INBOX", Message{Body: []byte("Subject: d\r\n\r\nx\r\n"), InternalDate: when})
		if got := Snapshot(t, cl)["INBOX"][0].InternalDate; !got.Equal(when) {
			t.Errorf("INTERNALDATE %v, want the instant %v", got, when)
		}
	})

	t.Run("keywords", func(t *testing.T) {
		_, cl := newUser(t)
		body := []byte("Subject: k\r\n\r\nx\r\n")
		Seed(t, cl, "INBOX", Message{Body: body, Flags: []imap.Flag{"KW1", "$Label1"}})
		sel, err := cl.Select("INBOX", nil).Wait()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(sel.PermanentFlags, imap.FlagWildcard) {
			t.Errorf("PERMANENTFLAGS %v lacks \\*", sel.PermanentFlags)
		}
		// Keywords are matched without case and keep the case first used.
		if err := cl.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{"kw1", "Kw2"}}, nil).Close(); err != nil {
			t.Fatal(err)
		}
		if err := cl.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{"kW2"}}, nil).Close(); err != nil {
			t.Fatal(err)
		}
		flags := Snapshot(t, cl)["INBOX"][0].Flags
		if !slices.Equal(flags, []imap.Flag{"$Label1", "KW1", "Kw2"}) {
			t.Errorf("flags %v, want [$Label1 KW1 Kw2]", flags)
		}
		// A client may create 100 keywords per mailbox (the 28 slots left of
		// Cyrus's 128 are for mailbox_initial_flags): the 101st is refused.
		var kws []imap.Flag
		for i := range 100 {
			kws = append(kws, imap.Flag(fmt.Sprintf("k%03d", i)))
		}
		Seed(t, cl, c.Mailbox("many"), Message{Body: body, Flags: kws[:97]})
		if _, err := Append(cl, c.Mailbox("many"), Message{Body: body, Flags: kws[97:]}); err != nil {
			t.Errorf("keywords 98-100: %v", err)
		}
		_, err = Append(cl, c.Mailbox("many"), Message{Body: body, Flags: []imap.Flag{"one-too-many"}})
		if err == nil || !strings.Contains(err.Error(), "Too many user flags in mailbox") {
			t.Errorf("APPEND with keyword 101: %v, want NO Too many user flags in mailbox", err)
		}
		if _, err := cl.Select(c.Mailbox("many"), nil).Wait(); err != nil {
			t.Fatal(err)
		}
		err = cl.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{"one-too-many"}}, nil).Close()
		if err == nil || !strings.Contains(err.Error(), "Too many user flags in mailbox") {
			t.Errorf("STORE of keyword 101: %v, want NO Too many user flags in mailbox", err)
		}
		if err := cl.Unselect().Wait(); err != nil {
			t.Fatal(err)
		}
		if n := len(Snapshot(t, cl)[c.Mailbox("many")][0].Flags); n != 97 {
			t.Errorf("%d keywords read back, want 97", n)
		}
	})

	t.Run("list-subscribed", func(t *testing.T) {
		_, cl := newUser(t)
		if err := CreateMailbox(cl, c.Mailbox("a", "b", "c")); err != nil {
			t.Fatal(err)
		}
		// CREATE subscribes nothing.
		if l, err := cl.List("", "*", &imap.ListOptions{SelectSubscribed: true}).Collect(); err != nil || len(l) != 0 {
			t.Errorf("LIST (SUBSCRIBED) after CREATE: %v, %v; want nothing", listNames(l), err)
		}
		if err := cl.Subscribe(c.Mailbox("a", "b", "c")).Wait(); err != nil {
			t.Fatal(err)
		}
		// Only the subscribed child: neither LSUB nor LIST (SUBSCRIBED)
		// lists its unsubscribed parents, not even as \Noselect.
		out := raw(t, "a CREATE INBOX.a.b.c", "b SUBSCRIBE INBOX.a.b.c", `c LSUB "" "*"`, `d LIST (SUBSCRIBED) "" "*"`)
		for _, want := range []string{`* LSUB () "." INBOX.a.b.c` + "\nc OK", `* LIST (\Subscribed \HasNoChildren) "." INBOX.a.b.c` + "\nd OK"} {
			if !strings.Contains(out, want) {
				t.Errorf("answer lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("special-use", func(t *testing.T) {
		_, cl := newUser(t)
		// Nothing is created for a new user.
		if l, err := cl.List("", "*", nil).Collect(); err != nil || !slices.Equal(listNames(l), []string{"INBOX"}) {
			t.Errorf("a new user's folders: %v, %v; want INBOX only", listNames(l), err)
		}
		for name, use := range map[string][]imap.MailboxAttr{
			"Sent":    {imap.MailboxAttrSent},
			"Trash":   {imap.MailboxAttrTrash},
			"Archive": {imap.MailboxAttrArchive, imap.MailboxAttrJunk}, // more than one is fine
		} {
			if err := cl.Create(c.Mailbox(name), &imap.CreateOptions{SpecialUse: use}).Wait(); err != nil {
				t.Errorf("CREATE %s (USE %v): %v", name, use, err)
			}
		}
		err := cl.Create(c.Mailbox("Bogus"), &imap.CreateOptions{SpecialUse: []imap.MailboxAttr{`\Bogus`}}).Wait()
		var ierr *imap.Error
		if !errors.As(err, &ierr) || ierr.Code != "USEATTR" {
			t.Errorf("CREATE (USE (\\Bogus)): %v, want NO [USEATTR]", err)
		}
		// A plain LIST shows the attributes (specialusealways); LIST
		// (SPECIAL-USE) lists only those folders.
		out := raw(t, "a CREATE INBOX.Sent (USE (\\Sent))", "b CREATE INBOX.Other", `c LIST "" "*"`, `d LIST (SPECIAL-USE) "" "*"`)
		for _, want := range []string{
			`* LIST (\HasNoChildren \Sent) "." INBOX.Sent`,
			`* LIST (\HasNoChildren) "." INBOX.Other`,
			`d OK`,
		} {
			if !strings.Contains(out, want) {
				t.Errorf("answer lacks %q:\n%s", want, out)
			}
		}
		if _, d, _ := strings.Cut(out, "c OK"); strings.Contains(d, "INBOX.Other") || !strings.Contains(d, "INBOX.Sent") {
			t.Errorf("LIST (SPECIAL-USE) should list INBOX.Sent only:\n%s", d)
		}
		// A folder with a special use cannot be deleted (specialuse_protect).
		if err := cl.Delete(c.Mailbox("Trash")).Wait(); err == nil {
			t.Error("DELETE of a \\Trash folder accepted")
		}
	})

	t.Run("noselect", func(t *testing.T) {
		// CREATE a.b.c makes a and a.b real mailboxes, and a mailbox with
		// children cannot be deleted: a user never sees \Noselect.
		_, cl := newUser(t)
		if err := cl.Create(c.Mailbox("a", "b", "c"), nil).Wait(); err != nil {
			t.Fatal(err)
		}
		l, err := cl.List("", "*", nil).Collect()
		if err != nil {
			t.Fatal(err)
		}
		for _, mb := range l {
			if slices.Contains(mb.Attrs, imap.MailboxAttrNoSelect) || slices.Contains(mb.Attrs, imap.MailboxAttrNonExistent) {
				t.Errorf("%s: %v", mb.Mailbox, mb.Attrs)
			}
		}
		if !slices.Equal(listNames(l), []string{"INBOX", "INBOX.a", "INBOX.a.b", "INBOX.a.b.c"}) {
			t.Errorf("LIST after CREATE INBOX.a.b.c: %v", listNames(l))
		}
		if _, err := cl.Select(c.Mailbox("a"), nil).Wait(); err != nil {
			t.Errorf("SELECT INBOX.a: %v", err)
		}
		err = cl.Delete(c.Mailbox("a")).Wait()
		var ierr *imap.Error
		if !errors.As(err, &ierr) || ierr.Code != imap.ResponseCodeHasChildren {
			t.Errorf("DELETE INBOX.a with children: %v, want NO [HASCHILDREN]", err)
		}
		// CREATE of an existing mailbox is a NO without [ALREADYEXISTS].
		err = cl.Create(c.Mailbox("a"), nil).Wait()
		if !errors.As(err, &ierr) || ierr.Code != "" || ierr.Text != "Mailbox already exists" {
			t.Errorf("CREATE of an existing mailbox: %#v, want NO Mailbox already exists, no code", err)
		}
	})

	t.Run("names", func(t *testing.T) {
		out := raw(t,
			`a CREATE "INBOX.Gr&APwA3w-e"`, // Grüße, canonical modified UTF-7
			`b CREATE "INBOX.Gr&APw-&AN8-e"`,
			"c CREATE \"INBOX.Gr\xc3\xbc\xc3\x9fe2\"",
			`d CREATE "INBOX.sl/ash"`,
			`e CREATE "INBOX.dotted.name"`,
			`f LIST "" "INBOX.*"`)
		for _, want := range []string{
			"a OK", "b NO Invalid mailbox name", "c NO Invalid mailbox name", "d NO Invalid mailbox name", "e OK",
			`* LIST (\HasNoChildren) "." INBOX.Gr&APwA3w-e`, `* LIST (\HasChildren) "." INBOX.dotted`,
		} {
			if !strings.Contains(out, want) {
				t.Errorf("answer lacks %q:\n%s", want, out)
			}
		}
		// go-imap encodes and decodes modified UTF-7 itself.
		_, cl := newUser(t)
		name := c.Mailbox("Grüße 日本 ✓")
		if err := cl.Create(name, nil).Wait(); err != nil {
			t.Fatal(err)
		}
		if l, err := cl.List("", "*", nil).Collect(); err != nil || !slices.Contains(listNames(l), name) {
			t.Errorf("LIST: %v, %v; want %q", listNames(l), err, name)
		}
	})

	t.Run("status", func(t *testing.T) {
		out := raw(t,
			"a APPEND INBOX "+literal("Subject: s\r\n\r\nx\r\n"),
			"b STATUS INBOX (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN HIGHESTMODSEQ SIZE)",
			"c STATUS INBOX (MAILBOXID)",
			"d STATUS INBOX (DELETED)",
			"e STATUS INBOX (APPENDLIMIT)",
			`f LIST "" "INBOX" RETURN (STATUS (MESSAGES UIDNEXT SIZE))`)
		for _, want := range []string{
			`\* STATUS INBOX \(MESSAGES 1 RECENT 1 UIDNEXT 2 UIDVALIDITY \d+ UNSEEN 1 SIZE 17 HIGHESTMODSEQ \d+\)\nb OK`,
			`\* STATUS INBOX \(MAILBOXID \(\w+\)\)\nc OK`,
			// QUOTA and APPENDLIMIT are advertised, but these STATUS
			// items are not known (go-imap's StatusOptions.NumDeleted and
			// AppendLimit would send them).
			`d BAD Invalid Status attributes deleted`,
			`e BAD Invalid Status attributes appendlimit`,
			`\* STATUS INBOX \(MESSAGES 1 UIDNEXT 2 SIZE 17\)\nf OK`,
		} {
			if !regexp.MustCompile(want).MatchString(out) {
				t.Errorf("answer lacks %s:\n%s", want, out)
			}
		}
	})

	t.Run("uidvalidity", func(t *testing.T) {
		_, cl := newUser(t)
		status := func(name string) *imap.StatusData {
			t.Helper()
			s, err := cl.Status(name, &imap.StatusOptions{UIDValidity: true, UIDNext: true, NumMessages: true}).Wait()
			if err != nil {
				t.Fatalf("STATUS %s: %v", name, err)
			}
			return s
		}
		before := time.Now().Unix()
		name := c.Mailbox("v")
		Seed(t, cl, name, Message{Body: []byte("Subject: 1\r\n\r\nx\r\n")}, Message{Body: []byte("Subject: 2\r\n\r\nx\r\n")})
		first := status(name)
		// UIDVALIDITY is the creation time in Unix seconds plus one, so
		// mailboxes made in the same second share it.
		if v := int64(first.UIDValidity); v < before+1 || v > time.Now().Unix()+1 {
			t.Errorf("UIDVALIDITY %d, want the creation time plus one (%d or a little later)", v, before+1)
		}
		// EXPUNGE keeps UIDVALIDITY and UIDNEXT.
		if _, err := cl.Select(name, nil).Wait(); err != nil {
			t.Fatal(err)
		}
		if err := cl.Store(imap.SeqSetNum(1, 2), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
			t.Fatal(err)
		}
		if err := cl.Expunge().Close(); err != nil {
			t.Fatal(err)
		}
		if err := cl.Unselect().Wait(); err != nil {
			t.Fatal(err)
		}
		if s := status(name); s.UIDValidity != first.UIDValidity || s.UIDNext != first.UIDNext || *s.NumMessages != 0 {
			t.Errorf("after EXPUNGE: %+v, was %+v", s, first)
		}
		// RENAME keeps them too.
		renamed := c.Mailbox("w")
		if err := cl.Rename(name, renamed, nil).Wait(); err != nil {
			t.Fatal(err)
		}
		if s := status(renamed); s.UIDValidity != first.UIDValidity || s.UIDNext != first.UIDNext {
			t.Errorf("after RENAME: %+v, was %+v", s, first)
		}
		// DELETE and CREATE again, at once: a greater UIDVALIDITY (even
		// within the same second), UIDs from 1.
		if err := cl.Delete(renamed).Wait(); err != nil {
			t.Fatal(err)
		}
		if err := cl.Create(renamed, nil).Wait(); err != nil {
			t.Fatal(err)
		}
		if s := status(renamed); s.UIDValidity <= first.UIDValidity || s.UIDNext != 1 {
			t.Errorf("after DELETE and CREATE: %+v, was %+v", s, first)
		}
	})

	t.Run("delayed-delete", func(t *testing.T) {
		// delete_mode: delayed (Cyrus's default) moves a deleted folder to
		// DELETED.user.<name>.<folder>.<hex>, which only the admin sees.
		user, cl := newUser(t)
		if err := cl.Create(c.Mailbox("gone"), nil).Wait(); err != nil {
			t.Fatal(err)
		}
		if err := cl.Delete(c.Mailbox("gone")).Wait(); err != nil {
			t.Fatal(err)
		}
		l, err := c.Client(t, c.AdminUser, c.AdminPassword).List("", "DELETED.user."+user+".*", nil).Collect()
		if err != nil {
			t.Fatal(err)
		}
		want := regexp.MustCompile(`^DELETED\.user\.` + regexp.QuoteMeta(user) + `\.gone\.[0-9A-F]+$`)
		if len(l) != 1 || !want.MatchString(l[0].Mailbox) {
			t.Errorf("admin LIST DELETED.user.%s.*: %v, want %s", user, listNames(l), want)
		}
	})

	t.Run("append-trycreate", func(t *testing.T) {
		_, cl := newUser(t)
		cmd := cl.Append(c.Mailbox("missing"), 3, nil)
		_, _ = cmd.Write([]byte("x\r\n"))
		_ = cmd.Close()
		_, err := cmd.Wait()
		var ierr *imap.Error
		if !errors.As(err, &ierr) || ierr.Code != imap.ResponseCodeTryCreate {
			t.Errorf("APPEND to a missing folder: %v, want NO [TRYCREATE]", err)
		}
	})

	t.Run("auth", func(t *testing.T) {
		user, _ := newUser(t)
		// A failed LOGIN is a NO without a response code: no
		// [AUTHENTICATIONFAILED] to classify it by.
		_, err := DialLogin(c.Addr(), user, "wrong", nil)
		var ierr *imap.Error
		if !errors.As(err, &ierr) || ierr.Type != imap.StatusResponseTypeNo || ierr.Code != "" || ierr.Text != "Login failed: authentication failure" {
			t.Errorf("LOGIN with a wrong password: %#v, want NO without a code", ierr)
		}
		// The admin may log in as a user who does not exist; that user has
		// no INBOX.
		cl := c.AdminClientAs(t, "nosuchuser")
		if l, err := cl.List("", "*", nil).Collect(); err != nil || len(l) != 0 {
			t.Errorf("admin as nosuchuser: LIST %v, %v; want nothing", listNames(l), err)
		}
		if _, err := cl.Select("INBOX", nil).Wait(); err == nil {
			t.Error("admin as nosuchuser: SELECT INBOX succeeded")
		}
	})
}

// expectSyslog says whether Cyrus's syslog should be captured here: as
// root, where a child may have a mount namespace of its own (a container
// without CAP_SYS_ADMIN has none).
func expectSyslog() bool {
	if os.Geteuid() != 0 {
		return false
	}
	cmd := exec.Command("/bin/true")
	cmd.SysProcAttr = &syscall.SysProcAttr{}
	return privateMountNamespace(cmd.SysProcAttr) && cmd.Run() == nil
}

func listNames(l []*imap.ListData) []string {
	names := []string{}
	for _, mb := range l {
		names = append(names, mb.Mailbox)
	}
	slices.Sort(names)
	return names
}
