package testenv

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
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

// courierLoginFailDelay is the sleep(5) compiled into imaplogin before it
// answers a failed LOGIN or AUTHENTICATE.
const courierLoginFailDelay = 5 * time.Second

func TestCourierLogin(t *testing.T) {
	t.Parallel()
	c := StartCourier(t, CourierOptions{Users: map[string]string{"alice": "alice-pw", "bob": "bob-pw"}})
	if _, err := c.Client(t, "alice", "alice-pw").Select("INBOX", nil).Wait(); err != nil {
		t.Fatalf("select INBOX: %v", err)
	}

	auth := func(authzid, authcid, pass string) error {
		cl, err := imapclient.DialInsecure(c.Addr(), &imapclient.Options{Dialer: &net.Dialer{Timeout: dialTimeout}})
		if err != nil {
			return err
		}
		defer closeClient(cl)
		return cl.Authenticate(sasl.NewPlainClient(authzid, authcid, pass))
	}
	// SASL PLAIN works without TLS.
	if err := auth("", "bob", "bob-pw"); err != nil {
		t.Errorf("AUTHENTICATE PLAIN without TLS: %v", err)
	}

	// No proxy or master login: SASL PLAIN's authzid is ignored, and
	// authzid=bob, authcid=alice logs in as alice.
	Seed(t, c.Client(t, "bob", "bob-pw"), "INBOX", Message{Body: []byte("Subject: bob's\r\n\r\nb\r\n")})
	cl, err := imapclient.DialInsecure(c.Addr(), &imapclient.Options{Dialer: &net.Dialer{Timeout: dialTimeout}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeClient(cl) })
	if err := cl.Authenticate(sasl.NewPlainClient("bob", "alice", "alice-pw")); err != nil {
		t.Errorf("PLAIN authzid=bob authcid=alice: %v", err)
	} else if n := len(Snapshot(t, cl)["INBOX"]); n != 0 {
		t.Errorf("PLAIN authzid=bob authcid=alice sees %d messages; want alice's empty INBOX", n)
	}

	// Each failure costs the compiled-in 5 s; run them side by side.
	bad := []struct {
		name string
		try  func() error
	}{
		{"wrong password", func() error { return loginErr(c.Addr(), "alice", "wrong") }},
		{"unknown user", func() error { return loginErr(c.Addr(), "nobody", "alice-pw") }},
		{"another user's password", func() error { return loginErr(c.Addr(), "alice", "bob-pw") }},
		// Login names are case-sensitive, unlike Dovecot's and Cyrus's.
		{"upper-case name", func() error { return loginErr(c.Addr(), "Alice", "alice-pw") }},
		{"PLAIN wrong password", func() error { return auth("", "alice", "wrong") }},
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			err := b.try()
			took := time.Since(start)
			if err == nil {
				t.Fatal("succeeded")
			}
			// NO without a response code: no [AUTHENTICATIONFAILED].
			var ierr *imap.Error
			if !errors.As(err, &ierr) || ierr.Type != imap.StatusResponseTypeNo || ierr.Code != "" {
				t.Errorf("%v: want a NO without response code", err)
			}
			if took < courierLoginFailDelay-100*time.Millisecond {
				t.Errorf("failed after %v; imaplogin sleeps 5 s first", took)
			}
			t.Logf("%v after %v", err, took)
		})
	}
}

func loginErr(addr, user, password string) error {
	c, err := DialLogin(addr, user, password, nil)
	if err == nil {
		closeClient(c)
		return nil
	}
	return err
}

func TestCourierTLS(t *testing.T) {
	t.Parallel()
	ca := NewTestCA(t)
	c := StartCourier(t, CourierOptions{Users: map[string]string{"alice": "alice-pw"}, CA: ca})
	if c.CA != ca {
		t.Fatal("CourierOptions.CA not used")
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
		cl, err := d.dial(trusted)
		if err != nil {
			t.Errorf("%s: %v", d.name, err)
			continue
		}
		caps, err := cl.Capability().Wait()
		if err != nil {
			t.Errorf("%s: capability: %v", d.name, err)
		} else if caps.Has(imap.CapStartTLS) {
			t.Errorf("%s: STARTTLS still offered over TLS", d.name)
		}
		if err := cl.Login("alice", "alice-pw").Wait(); err != nil {
			t.Errorf("%s: login: %v", d.name, err)
		} else if _, err := cl.Select("INBOX", nil).Wait(); err != nil {
			t.Errorf("%s: select: %v", d.name, err)
		}
		closeClient(cl)

		if cl, err := d.dial(untrusted); err == nil {
			// STARTTLS may only fail at the first command.
			err = cl.Noop().Wait()
			cl.Close()
			if err == nil {
				t.Errorf("%s: connected without trusting the CA", d.name)
			}
		}
	}
}

func TestCourierAddUserAfterStart(t *testing.T) {
	t.Parallel()
	c := StartCourier(t, CourierOptions{Users: map[string]string{"alice": "pw"}})
	c.Client(t, "alice", "pw")
	// Several accounts within the same second, each used at once:
	// authdaemond's five workers have userdb.dat open and must each see
	// every rebuild.
	for i := range 8 {
		name := fmt.Sprintf("user%d", i)
		if err := c.AddUser(name, name+"-secret-longer-than-8"); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			c.Client(t, name, name+"-secret-longer-than-8")
		}
	}
	// A replaced password takes effect at once.
	if err := c.AddUser("alice", "new-pw"); err != nil {
		t.Fatal(err)
	}
	c.Client(t, "alice", "new-pw")
	// MD5-crypt, not DES crypt (userdbpw's default), which would accept
	// any password sharing the first eight characters.
	start := time.Now()
	if err := loginErr(c.Addr(), "user0", "user0-seXXXX"); err == nil {
		t.Error("a password sharing the first 8 characters was accepted")
	}
	t.Logf("rejected after %v", time.Since(start))

	for _, bad := range []struct{ name, pass string }{
		{"", "x"}, {"a:b", "x"}, {"a/b", "x"}, {"a b", "x"}, {".hidden", "x"},
		{"a|b", "x"}, {"a=b", "x"}, {"carol", "pa\nss"},
	} {
		if err := c.AddUser(bad.name, bad.pass); err == nil {
			t.Errorf("AddUser(%q, %q) accepted", bad.name, bad.pass)
		}
	}
	src, err := os.ReadFile(filepath.Join(c.Dir, "etc", "userdb"))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^alice\tuid=\d+\|gid=\d+\|home=\S+/mail/alice\|systempw=\$1\$`).Match(src) {
		t.Errorf("etc/userdb is not in makeuserdb's format:\n%s", src)
	}
}

func TestCourierMailDir(t *testing.T) {
	t.Parallel()
	c := StartCourier(t, CourierOptions{Users: map[string]string{"alice": "pw"}})
	cl := c.Client(t, "alice", "pw")
	Seed(t, cl, c.Mailbox("Sent"), Message{Body: []byte("Subject: x\r\n\r\nbody\r\n")})

	// APPEND writes to cur/, with LF line ends; S= is the LF size.
	files, err := filepath.Glob(filepath.Join(c.MailDir("alice"), ".Sent", "cur", "*"))
	if err != nil || len(files) != 1 {
		t.Fatalf("message files: %v, %v", files, err)
	}
	b, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != "Subject: x\n\nbody\n" || !strings.Contains(files[0], ",S=17:2,") {
		t.Errorf("stored as %q in %s", b, filepath.Base(files[0]))
	}
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

// TestCourierSeedSnapshotRoundTrip is servers_test.go's round trip with
// Courier's folder names and its rule for bytes (CourierStored).
func TestCourierSeedSnapshotRoundTrip(t *testing.T) {
	t.Parallel()
	c := StartCourier(t, CourierOptions{Users: map[string]string{"alice": "alice-pw"}})
	cl := c.Client(t, "alice", "alice-pw")
	rng := rand.New(rand.NewPCG(1, 2))
	paris := time.FixedZone("", 3600)
	tokyo := time.FixedZone("", 9*3600)
	q1 := c.Mailbox("Projects", "2024", "Q1")
	seeds := map[string][]Message{
		"INBOX": {
			{Body: GenMessage(rng, 2000), Flags: []imap.Flag{imap.FlagSeen}, InternalDate: time.Date(2019, 3, 4, 5, 6, 7, 0, paris)},
			{Body: GenMessage(rng, 3000), Flags: []imap.Flag{imap.FlagSeen, imap.FlagAnswered, imap.FlagFlagged, "$Forwarded", "Project_X"}, InternalDate: time.Date(2020, 12, 31, 23, 59, 59, 0, tokyo)},
			{Body: GenMessage(rng, 1<<20), InternalDate: time.Date(2021, 6, 1, 12, 0, 0, 0, time.UTC)},
			{Body: GenMessage(rng, 1500, WithoutMessageID()), Flags: []imap.Flag{imap.FlagDraft}, InternalDate: time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC)},
		},
		c.Mailbox("Sent"): {
			{Body: GenMessage(rng, 5000), Flags: []imap.Flag{imap.FlagSeen, "$MDNSent"}, InternalDate: time.Date(2018, 7, 7, 7, 7, 7, 0, time.UTC)},
		},
		q1: {
			{Body: GenMessage(rng, 64<<10), Flags: []imap.Flag{imap.FlagDeleted, imap.FlagSeen}, InternalDate: time.Date(2024, 2, 29, 10, 0, 0, 0, paris)},
		},
		c.Mailbox("Empty"): nil,
	}
	want := map[string][]MessageInfo{}
	for name, msgs := range seeds {
		uids := Seed(t, cl, name, msgs...)
		infos := []MessageInfo{}
		for i, m := range msgs {
			if uids[i] != imap.UID(i+1) {
				t.Errorf("%s[%d]: APPENDUID %d, want %d", name, i, uids[i], i+1)
			}
			stored := CourierStored(m.Body)
			infos = append(infos, MessageInfo{
				UID: uids[i], Flags: normalizeFlags(m.Flags), InternalDate: m.InternalDate.UTC(),
				Size: int64(len(stored)), BodyLen: int64(len(stored)), SHA256: BodySHA256(stored),
			})
		}
		want[name] = infos
	}
	// Parents were created as real folders.
	want[c.Mailbox("Projects")] = []MessageInfo{}
	want[c.Mailbox("Projects", "2024")] = []MessageInfo{}

	got := Snapshot(t, cl)
	if diff := DiffSnapshots(want, got); len(diff) > 0 {
		t.Fatalf("snapshot differs from what was seeded:\n%s", joinLines(diff))
	}
	// GenMessage writes CRLF and ends in CRLF: Courier serves it verbatim.
	for name, msgs := range seeds {
		for i, m := range msgs {
			if got[name][i].SHA256 != BodySHA256(m.Body) {
				t.Errorf("%s[%d]: a CRLF message did not come back verbatim", name, i)
			}
		}
	}
	// Seeding an existing folder again appends to it (Courier answers
	// CREATE of an existing folder with a NO without [ALREADYEXISTS]).
	Seed(t, cl, q1, Message{Body: GenMessage(rng, 0)})
	if n := len(Snapshot(t, cl)[q1]); n != 2 {
		t.Errorf("after a second seed: %d messages, want 2", n)
	}
	// Snapshot ends with CLOSE (Courier has no UNSELECT), which expunged
	// nothing after EXAMINE: Q1's \Deleted message is still counted above.
	// And it changes no flag.
	if again := Snapshot(t, cl); !slices.Equal(again["INBOX"][2].Flags, []imap.Flag{}) {
		t.Errorf("snapshot changed flags: %v", again["INBOX"][2].Flags)
	}
}

func TestCourierMaxPerIP(t *testing.T) {
	t.Parallel()
	t.Run("limit", func(t *testing.T) {
		t.Parallel()
		c := StartCourier(t, CourierOptions{MaxPerIP: 5})
		// Start's probe connection counts until its imaplogin has exited.
		waitNoProcess(t, courierPIDNamespace(t, c), "imaplogin")
		// MaxPerIP connections are accepted, the next is closed before the
		// greeting (couriertcpd logs "ALERT: Maximum connection limit
		// reached"). A closed connection counts until its imaplogin or
		// imapd has exited.
		var conns []net.Conn
		defer func() {
			for _, conn := range conns {
				conn.Close()
			}
		}()
		for i := range 6 {
			conn, err := net.DialTimeout("tcp", c.Addr(), dialTimeout)
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, conn)
			_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
			line, err := bufio.NewReader(conn).ReadString('\n')
			switch {
			case i < 5 && !strings.HasPrefix(line, "* OK"):
				t.Errorf("connection %d: %q, %v; want a greeting", i+1, line, err)
			case i == 5 && err == nil:
				t.Errorf("connection 6 with MaxPerIP 5: greeted %q", line)
			}
		}
	})
	t.Run("default", func(t *testing.T) {
		t.Parallel()
		c := StartCourier(t, CourierOptions{Users: map[string]string{"alice": "pw"}})
		// Courier has no per-user limit; 30 at once for one user.
		const n = 30
		var wg sync.WaitGroup
		errs := make([]error, n)
		took := make([]time.Duration, n)
		for i := range n {
			wg.Go(func() {
				start := time.Now()
				defer func() { took[i] = time.Since(start) }()
				cl, err := DialLogin(c.Addr(), "alice", "pw", nil)
				if err == nil {
					_, err = cl.Select("INBOX", nil).Wait()
					t.Cleanup(func() { closeClient(cl) })
				}
				errs[i] = err
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("connection %d: %v", i+1, err)
			}
		}
		t.Logf("slowest login and SELECT: %v", slices.Max(took))
	})
}

// TestCourierLocks pins what IMAP_USELOCKS does: with it (Debian), a
// folder's scans wait for tmp/courier.lock; without it (the tests' default)
// they ignore it. The lock is held by hand here, in Courier's own format:
// "pid:hostname" of a live process, the namespace's PID 1.
func TestCourierLocks(t *testing.T) {
	t.Parallel()
	for _, useLocks := range []bool{true, false} {
		t.Run(fmt.Sprintf("UseLocks=%v", useLocks), func(t *testing.T) {
			t.Parallel()
			c := StartCourier(t, CourierOptions{Users: map[string]string{"alice": "pw"}, UseLocks: useLocks})
			Seed(t, c.Client(t, "alice", "pw"), "INBOX", Message{Body: []byte("Subject: l\r\n\r\nl\r\n")})
			host, err := os.Hostname()
			if err != nil {
				t.Fatal(err)
			}
			lock := filepath.Join(c.MailDir("alice"), "tmp", "courier.lock")
			if err := os.WriteFile(lock, []byte("1:"+host), 0o644); err != nil {
				t.Fatal(err)
			}
			sel := c.Client(t, "alice", "pw").Select("INBOX", nil)
			app := c.Client(t, "alice", "pw").Append("INBOX", 3, nil)
			app.Write([]byte("x\r\n"))
			app.Close()
			done := make(chan error, 2)
			go func() { _, err := sel.Wait(); done <- err }()
			go func() { _, err := app.Wait(); done <- err }()

			held := time.NewTimer(1500 * time.Millisecond)
			defer held.Stop()
			if !useLocks {
				for range 2 {
					select {
					case err := <-done:
						if err != nil {
							t.Error(err)
						}
					case <-held.C:
						t.Fatal("SELECT or APPEND waited for the lock with IMAP_USELOCKS=0")
					}
				}
				return
			}
			select {
			case err := <-done:
				t.Fatalf("SELECT or APPEND answered (%v) while courier.lock was held", err)
			case <-held.C:
			}
			if err := os.Remove(lock); err != nil {
				t.Fatal(err)
			}
			// Each waiter looks again once a second.
			bound := time.NewTimer(10 * time.Second)
			defer bound.Stop()
			for range 2 {
				select {
				case err := <-done:
					if err != nil {
						t.Error(err)
					}
				case <-bound.C:
					t.Fatal("SELECT or APPEND still waiting 10 s after the lock was removed")
				}
			}
		})
	}
}

// TestTwoCouriers starts a source and a target at once, as engine tests do,
// with StartCourierDir and Stop/Kill as a benchmark would.
func TestTwoCouriers(t *testing.T) {
	RequireCourier(t)
	t.Parallel()
	dirs := []string{courierTempDir(t), courierTempDir(t)}
	cs := make([]*Courier, len(dirs))
	errs := make([]error, len(dirs))
	var wg sync.WaitGroup
	for i, dir := range dirs {
		wg.Go(func() {
			cs[i], errs[i] = StartCourierDir(context.Background(), dir, CourierOptions{Users: map[string]string{"alice": "pw"}})
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
		t.Fatalf("instances share ports: %d/%d and %d/%d", cs[0].Port, cs[0].TLSPort, cs[1].Port, cs[1].TLSPort)
	}
	for i, c := range cs {
		// Typically 20-60 ms.
		t.Logf("instance %d started in %v", i, c.StartDuration)
		if c.StartDuration > 3*time.Second {
			t.Errorf("instance %d took %v to start", i, c.StartDuration)
		}
		Seed(t, c.Client(t, "alice", "pw"), "INBOX", Message{Body: GenMessage(rand.New(rand.NewPCG(uint64(i), 0)), 0)})
	}
	a := Snapshot(t, cs[0].Client(t, "alice", "pw"))["INBOX"]
	b := Snapshot(t, cs[1].Client(t, "alice", "pw"))["INBOX"]
	if len(a) != 1 || len(b) != 1 || a[0].SHA256 == b[0].SHA256 {
		t.Fatalf("instances share a mailbox: %v / %v", a, b)
	}

	// Every process of an instance is in its PID namespace; none is left
	// after Stop or Kill, not even one outside the process group.
	ns := []string{courierPIDNamespace(t, cs[0]), courierPIDNamespace(t, cs[1])}
	if ns[0] == ns[1] {
		t.Fatalf("instances share PID namespace %s", ns[0])
	}
	// An open session keeps an imapd running.
	held := cs[0].Client(t, "alice", "pw")
	if n := len(processesIn(ns[0])); n < 8 {
		t.Errorf("%d processes in the namespace; want bash, authdaemond and its 5 workers, 2 couriertcpd, imapd", n)
	}

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
	if err := held.Noop().Wait(); err == nil {
		t.Error("a session survived Stop")
	}
	if left := processesIn(ns[0]); len(left) > 0 {
		t.Errorf("processes left after Stop: %v", left)
	}
	for _, addr := range []string{cs[0].Addr(), cs[0].TLSAddr()} {
		if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			conn.Close()
			t.Errorf("%s still open after Stop", addr)
		}
	}

	start = time.Now()
	if err := cs[1].Kill(); err != nil {
		t.Errorf("Kill: %v", err)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("Kill took %v", d)
	}
	if left := processesIn(ns[1]); len(left) > 0 {
		t.Errorf("processes left after Kill: %v", left)
	}
}

// waitNoProcess waits, bounded, until no process named comm is left in PID
// namespace ns (a zombie still counts: its parent has not seen it exit).
func waitNoProcess(t *testing.T, ns, comm string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		left := false
		for _, p := range processesIn(ns) {
			pid, _, _ := strings.Cut(p, ":")
			if b, err := os.ReadFile("/proc/" + pid + "/comm"); err == nil && strings.TrimSpace(string(b)) == comm {
				left = true
			}
		}
		if !left {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still running after 10 s", comm)
		}
		time.Sleep(5 * time.Millisecond) // polling /proc: no event to wait on
	}
}

// courierTempDir makes a directory the mail user can traverse.
func courierTempDir(t *testing.T) string {
	dir, err := os.MkdirTemp("", "imapmigrate-courier-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// courierPIDNamespace returns the PID namespace of the instance's processes
// (that of unshare's child, the namespace's PID 1).
func courierPIDNamespace(t *testing.T, c *Courier) string {
	t.Helper()
	if c.nsInit == 0 {
		t.Fatal("PID 1 of the namespace unknown")
	}
	ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", c.nsInit))
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

// processesIn lists the processes in PID namespace ns, zombies included.
func processesIn(ns string) []string {
	entries, _ := os.ReadDir("/proc")
	var pids []string
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		if l, err := os.Readlink("/proc/" + e.Name() + "/ns/pid"); err == nil && l == ns {
			cmd, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
			pids = append(pids, e.Name()+":"+string(bytes.ReplaceAll(cmd, []byte{0}, []byte{' '})))
		}
	}
	return pids
}

func TestCourierStartErrors(t *testing.T) {
	RequireCourier(t)
	t.Parallel()
	// t.TempDir's parents are 0700: the mail user could not reach them.
	_, err := StartCourierDir(context.Background(), t.TempDir(), CourierOptions{})
	if err == nil || !strings.Contains(err.Error(), "not searchable") {
		t.Errorf("start in t.TempDir: %v, want a 'not searchable' error", err)
	}
	// A broken setting fails fast with Courier's own words.
	start := time.Now()
	_, err = StartCourierDir(context.Background(), courierTempDir(t), CourierOptions{ExtraConfig: `TCPDOPTS="-nosuchoption"`})
	if err == nil || !strings.Contains(err.Error(), "nosuchoption") {
		t.Errorf("start with a bad couriertcpd option: %v, want couriertcpd's complaint", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("bad option took %v to report", d)
	}
	t.Logf("bad option: %v", err)
	for _, bad := range []CourierOptions{{MaxPerIP: -3}, {MaxDaemons: -1}, {MailUser: "no-such-user-xyz"}} {
		if _, err := StartCourierDir(context.Background(), courierTempDir(t), bad); err == nil {
			t.Errorf("start with %+v accepted bad options", bad)
		}
	}
	if _, err := StartCourierDir(context.Background(), "/tmp/with space", CourierOptions{}); err == nil {
		t.Error("a directory with a space was accepted")
	}
}

func TestCourierStored(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"a\r\nb\r\n", "a\r\nb\r\n"},
		{"a\r\nb", "a\r\nb\r\n"},
		{"a\nb\n", "a\r\nb\r\n"},
		{"a\nb", "a\r\nb\r\n"},
		{"a\rb\r\n", "ab\r\n"},
		{"a\r\n\r", "a\r\n\r\n"},
		{"a\n\r", "a\r\n\r\n"},
		{"a\r\r\n", "a\r\n"},
	} {
		if got := string(CourierStored([]byte(tt.in))); got != tt.want {
			t.Errorf("CourierStored(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestCourierBehaviours pins down what Courier IMAP 5 does that an engine
// copying mail must expect (see the package documentation). Subtests share
// one instance, each as its own user.
func TestCourierBehaviours(t *testing.T) {
	t.Parallel()
	c := StartCourier(t, CourierOptions{})
	var userN sync.Mutex
	n := 0
	newUser := func(t *testing.T) (*imapclient.Client, string) {
		userN.Lock()
		n++
		name := fmt.Sprintf("user%d", n)
		userN.Unlock()
		if err := c.AddUser(name, "pw"); err != nil {
			t.Fatal(err)
		}
		return c.Client(t, name, "pw"), name
	}
	raw := func(t *testing.T, user string) *courierRaw {
		r := dialCourierRaw(t, c.Addr())
		r.ok(t, "LOGIN "+user+" pw")
		return r
	}

	t.Run("capabilities", func(t *testing.T) {
		t.Parallel()
		_, user := newUser(t)
		r := dialCourierRaw(t, c.Addr())
		const before = "IMAP4rev1 UIDPLUS CHILDREN NAMESPACE THREAD=ORDEREDSUBJECT THREAD=REFERENCES SORT QUOTA IDLE AUTH=PLAIN ACL ACL2=UNION STARTTLS ENABLE UTF8=ACCEPT"
		if want := "* OK [CAPABILITY " + before + "] Courier-IMAP ready."; !strings.HasPrefix(r.greeting, want) {
			t.Errorf("greeting %q, want %q…", r.greeting, want)
		}
		if got := r.ok(t, "CAPABILITY"); got[0] != "* CAPABILITY "+before {
			t.Errorf("before login: %q", got[0])
		}
		// LOGIN's OK carries no CAPABILITY code: ask again.
		if got := r.ok(t, "LOGIN "+user+" pw"); len(got) != 1 || strings.Contains(got[0], "CAPABILITY") {
			t.Errorf("LOGIN answered %q", got)
		}
		after := strings.Replace(before, " STARTTLS", "", 1)
		if got := r.ok(t, "CAPABILITY"); got[0] != "* CAPABILITY "+after {
			t.Errorf("after login: %q, want %q", got[0], after)
		}
		// What Courier lacks, by command.
		for _, cmd := range []string{"UNSELECT", "MOVE 1 INBOX", "ID NIL", `LIST "" "*" RETURN (SPECIAL-USE)`, `LIST "" "*" RETURN (CHILDREN)`, "XLIST \"\" \"*\""} {
			if resp := r.cmd(cmd); !strings.HasSuffix(resp[len(resp)-1], " NO Error in IMAP command received by server.") {
				t.Errorf("%s: %q, want NO Error in IMAP command", cmd, resp)
			}
		}
	})

	t.Run("namespace", func(t *testing.T) {
		t.Parallel()
		_, user := newUser(t)
		r := raw(t, user)
		if got := r.ok(t, "NAMESPACE"); got[0] != `* NAMESPACE (("INBOX." ".")) NIL (("#shared." ".")("shared." "."))` {
			t.Errorf("NAMESPACE: %q", got[0])
		}
		if got := r.ok(t, `LIST "" ""`); got[0] != `* LIST (\Noselect) "." ""` {
			t.Errorf(`LIST "" "": %q`, got[0])
		}
	})

	t.Run("select and status", func(t *testing.T) {
		t.Parallel()
		cl, user := newUser(t)
		uids := Seed(t, cl, "INBOX", Message{Body: []byte("Subject: 1\r\n\r\n1\r\n")}, Message{Body: []byte("Subject: 2\r\n\r\n2\r\n")})
		r := raw(t, user)
		sel := r.ok(t, "SELECT INBOX")
		text := strings.Join(sel, "\n")
		// No UIDNEXT and no HIGHESTMODSEQ (no CONDSTORE); appended
		// messages are not \Recent.
		for _, absent := range []string{"UIDNEXT", "HIGHESTMODSEQ"} {
			if strings.Contains(text, absent) {
				t.Errorf("SELECT answers %s:\n%s", absent, text)
			}
		}
		for _, want := range []string{
			`* FLAGS (\Draft \Answered \Flagged \Deleted \Seen \Recent)`,
			`* OK [PERMANENTFLAGS (\* \Draft \Answered \Flagged \Deleted \Seen)] Limited`,
			"* 2 EXISTS", "* 0 RECENT", r.lastTag() + " OK [READ-WRITE] Ok",
		} {
			if !slices.Contains(sel, want) {
				t.Errorf("SELECT lacks %q:\n%s", want, text)
			}
		}
		uidv := regexp.MustCompile(`\* OK \[UIDVALIDITY (\d+)\] Ok`).FindStringSubmatch(text)
		if uidv == nil {
			t.Fatalf("SELECT without UIDVALIDITY:\n%s", text)
		}
		ex := strings.Join(r.ok(t, "EXAMINE INBOX"), "\n")
		if !strings.Contains(ex, `* OK [PERMANENTFLAGS ()] No permanent flags permitted`) || !strings.Contains(ex, "[READ-ONLY]") {
			t.Errorf("EXAMINE:\n%s", ex)
		}
		// STATUS does answer UIDNEXT.
		st := r.ok(t, "STATUS INBOX (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN)")
		if want := fmt.Sprintf(`* STATUS "INBOX" (MESSAGES 2 RECENT 0 UIDNEXT %d UIDVALIDITY %s UNSEEN 2)`, uids[1]+1, uidv[1]); st[0] != want {
			t.Errorf("STATUS: %q, want %q", st[0], want)
		}
		// go-imap reports the missing UIDNEXT as 0.
		data, err := cl.Select("INBOX", nil).Wait()
		if err != nil {
			t.Fatal(err)
		}
		if data.UIDNext != 0 || data.HighestModSeq != 0 || strconv.Itoa(int(data.UIDValidity)) != uidv[1] {
			t.Errorf("go-imap SELECT: UIDNext %d, HighestModSeq %d, UIDValidity %d", data.UIDNext, data.HighestModSeq, data.UIDValidity)
		}
	})

	t.Run("appenduid and multiappend", func(t *testing.T) {
		t.Parallel()
		_, user := newUser(t)
		r := raw(t, user)
		st := r.ok(t, "STATUS INBOX (UIDVALIDITY)")
		uidv := strings.TrimSuffix(strings.TrimPrefix(st[0], `* STATUS "INBOX" (UIDVALIDITY `), ")")
		for i := 1; i <= 2; i++ {
			resp := r.append(t, "INBOX", `(\Seen)`, "", []byte("Subject: u\r\n\r\nu\r\n"))
			if want := fmt.Sprintf(" OK [APPENDUID %s %d] APPEND Ok.", uidv, i); !strings.HasSuffix(resp[len(resp)-1], want) {
				t.Errorf("APPEND %d: %q, want …%s", i, resp, want)
			}
		}
		// MULTIAPPEND is not announced; a second message in one APPEND is a
		// syntax error, answered when the first literal has been read, and
		// yet the first message is stored: a client that retries after this
		// NO duplicates it.
		resp := r.multiAppend(t, "INBOX", []byte("x\r\n"))
		if !strings.HasSuffix(resp[len(resp)-1], " NO Error in IMAP command received by server.") {
			t.Errorf("MULTIAPPEND: %q", resp)
		}
		if st := r.ok(t, "STATUS INBOX (MESSAGES)"); st[0] != `* STATUS "INBOX" (MESSAGES 3)` {
			t.Errorf("after MULTIAPPEND: %q, want the first message stored", st[0])
		}
	})

	t.Run("bytes", func(t *testing.T) {
		t.Parallel()
		cl, user := newUser(t)
		cases := []struct{ name, msg string }{
			{"CRLF", "Subject: crlf\r\n\r\nbody\r\n"},
			{"no final CRLF", "Subject: nofinal\r\n\r\nbody"},
			{"bare LF", "Subject: lf\nFrom: a@example.com\n\nline 1\nline 2\n"},
			{"bare LF, no final LF", "Subject: lfnofinal\n\nx"},
			{"bare CR", "Subject: cr\r\n\r\nbo\rdy\r\n"},
			{"ends in LF CR", "Subject: lfcr\r\n\r\nbody\n\r"},
		}
		var msgs []Message
		for _, tc := range cases {
			msgs = append(msgs, Message{Body: []byte(tc.msg)})
		}
		Seed(t, cl, "INBOX", msgs...)
		snap := Snapshot(t, cl)["INBOX"]
		r := raw(t, user)
		r.ok(t, "EXAMINE INBOX")
		for i, tc := range cases {
			want := CourierStored([]byte(tc.msg))
			if got := snap[i]; got.Size != int64(len(want)) || got.BodyLen != int64(len(want)) || got.SHA256 != BodySHA256(want) {
				t.Errorf("%s: appended %d bytes %q; RFC822.SIZE %d, BODY[] %d bytes; want %q (%d)", tc.name, len(tc.msg), tc.msg, got.Size, got.BodyLen, want, len(want))
			}
			fetch := r.ok(t, fmt.Sprintf("FETCH %d (BODY.PEEK[])", i+1))
			if lit := fmt.Sprintf("BODY[] {%d}\r\n%s)", len(want), want); !strings.HasSuffix(fetch[0], lit) {
				t.Errorf("%s: FETCH %q, want …%q", tc.name, fetch[0], lit)
			}
		}
		// CRLF messages come back verbatim.
		if snap[0].SHA256 != BodySHA256([]byte(cases[0].msg)) {
			t.Error("a CRLF message was changed")
		}
	})

	t.Run("append", func(t *testing.T) {
		t.Parallel()
		_, user := newUser(t)
		r := raw(t, user)
		// A missing folder is refused before the literal is sent.
		if got := r.cmd("APPEND INBOX.Missing {3}"); got[0] != r.lastTag()+" NO [TRYCREATE] Must create mailbox before append" {
			t.Errorf("APPEND to a missing folder: %q", got)
		}
		// Accepted and kept (apart from CourierStored's line ends): NUL
		// bytes, a first line that is no header field, 8-bit header bytes;
		// the last earn an untagged ALERT unless UTF8=ACCEPT is enabled.
		cases := []struct {
			name, msg string
			alert     bool
		}{
			{"NUL", "Subject: nul\x00x\r\n\r\nbody\x00\r\n", false},
			{"not a header", "not a header\r\n\r\nbody\r\n", false},
			{"8-bit header", "Subject: Gr\xc3\xbc\xc3\x9fe\r\nX: \xff\r\n\r\nb\xc3\xbcdy\r\n", true},
		}
		for i, tc := range cases {
			resp := r.append(t, "INBOX", "", "", []byte(tc.msg))
			if !strings.HasSuffix(resp[len(resp)-1], fmt.Sprintf("[APPENDUID %s %d] APPEND Ok.", strings.Fields(resp[len(resp)-1])[3], i+1)) {
				t.Errorf("%s: %q", tc.name, resp)
			}
			const alert = "* OK [ALERT] Your IMAP client does not appear to correctly implement Unicode messages, see https://tools.ietf.org/html/rfc6855.html"
			if got := slices.Contains(resp, alert); got != tc.alert {
				t.Errorf("%s: ALERT %v, want %v: %q", tc.name, got, tc.alert, resp)
			}
		}
		r.ok(t, "EXAMINE INBOX")
		for i, tc := range cases {
			want := CourierStored([]byte(tc.msg))
			if got := r.ok(t, fmt.Sprintf("FETCH %d (BODY.PEEK[])", i+1)); !strings.HasSuffix(got[0], fmt.Sprintf("{%d}\r\n%s)", len(want), want)) {
				t.Errorf("%s: %q", tc.name, got[0])
			}
		}
	})

	t.Run("status and enable", func(t *testing.T) {
		t.Parallel()
		_, user := newUser(t)
		r := raw(t, user)
		// Items Courier does not know are left out, not refused.
		for _, item := range []string{"SIZE", "HIGHESTMODSEQ", "DELETED", "APPENDLIMIT"} {
			if got := r.ok(t, "STATUS INBOX ("+item+")"); got[0] != `* STATUS "INBOX" ()` {
				t.Errorf("STATUS (%s): %q", item, got)
			}
		}
		if got := r.ok(t, "ENABLE CONDSTORE QRESYNC IMAP4rev2"); got[0] != "* ENABLED" {
			t.Errorf("ENABLE: %q", got)
		}
	})

	t.Run("rename placeholder", func(t *testing.T) {
		t.Parallel()
		_, user := newUser(t)
		r := raw(t, user)
		r.ok(t, "CREATE INBOX.parent.child")
		// RENAME of a \Noselect placeholder ends the session.
		if got := r.cmd("RENAME INBOX.parent INBOX.other"); got[0] != "* BYE [ALERT] Fatal error: Not a directory" {
			t.Errorf("RENAME of a placeholder: %q", got)
		}
		// RENAME of a real folder works, after Courier's 2 s sleep.
		r = raw(t, user)
		r.ok(t, "CREATE INBOX.real")
		start := time.Now()
		r.ok(t, "RENAME INBOX.real INBOX.moved")
		if d := time.Since(start); d < 2*time.Second-100*time.Millisecond {
			t.Errorf("RENAME took %v; Courier sleeps 2 s", d)
		}
		if got := r.ok(t, `LIST "" "INBOX.moved"`); got[0] != `* LIST (\HasNoChildren) "." "INBOX.moved"` {
			t.Errorf("after RENAME: %q", got)
		}
	})

	t.Run("internaldate", func(t *testing.T) {
		t.Parallel()
		cl, user := newUser(t)
		when := time.Date(2020, 12, 31, 23, 59, 7, 0, time.FixedZone("", -(3*3600+1800)))
		Seed(t, cl, "INBOX", Message{Body: []byte("Subject: d\r\n\r\nd\r\n"), InternalDate: when})
		r := raw(t, user)
		r.ok(t, "EXAMINE INBOX")
		// The instant and its seconds are kept, the zone is not: Courier
		// answers in +0000 whatever zone was given (and whatever TZ it runs
		// in), from the file's mtime.
		if got := r.ok(t, "FETCH 1 (INTERNALDATE)"); got[0] != `* 1 FETCH (INTERNALDATE "01-Jan-2021 03:29:07 +0000")` {
			t.Errorf("INTERNALDATE: %q", got[0])
		}
		if got := Snapshot(t, cl)["INBOX"][0].InternalDate; !got.Equal(when) {
			t.Errorf("INTERNALDATE %v, want %v", got, when)
		}
	})

	t.Run("keywords", func(t *testing.T) {
		t.Parallel()
		cl, user := newUser(t)
		var kws []imap.Flag
		for i := range 30 {
			kws = append(kws, imap.Flag(fmt.Sprintf("kw%02d", i)))
		}
		kws = append(kws, "$Forwarded", "Project_X")
		Seed(t, cl, "INBOX", Message{Body: []byte("Subject: k\r\n\r\nk\r\n"), Flags: kws})
		Seed(t, cl, "INBOX", Message{Body: []byte("Subject: k2\r\n\r\nk\r\n"), Flags: []imap.Flag{"project_x", "NewOne"}})
		snap := Snapshot(t, cl)["INBOX"]
		// More than 26 keywords (they live in courierimapkeywords/, not in
		// the file name).
		if n := len(snap[0].Flags); n != 32 {
			t.Errorf("%d keywords stored, %d read back: %v", len(kws), n, snap[0].Flags)
		}
		// A keyword keeps the case it was first created with.
		if !slices.Equal(snap[1].Flags, []imap.Flag{"NewOne", "Project_X"}) {
			t.Errorf("second message's keywords: %v, want [NewOne Project_X]", snap[1].Flags)
		}
		r := raw(t, user)
		sel := strings.Join(r.ok(t, "SELECT INBOX"), "\n")
		// FLAGS and PERMANENTFLAGS list the folder's keywords, and \*.
		if !regexp.MustCompile(`(?m)^\* OK \[PERMANENTFLAGS \((\S+ )*\$Forwarded (\S+ )*\\\* \\Draft \\Answered \\Flagged \\Deleted \\Seen\)\] Limited$`).MatchString(sel) ||
			!strings.Contains(sel, "NewOne") {
			t.Errorf("SELECT:\n%s", sel)
		}
	})

	t.Run("list and lsub", func(t *testing.T) {
		t.Parallel()
		cl, user := newUser(t)
		r := raw(t, user)
		// CREATE a.b.c makes a and a.b \Noselect placeholders.
		r.ok(t, "CREATE INBOX.a.b.c")
		r.ok(t, "CREATE INBOX.plain")
		r.ok(t, "SUBSCRIBE INBOX.a.b.c")
		list := r.ok(t, `LIST "" "*"`)
		wantList := []string{
			`* LIST (\Unmarked \HasChildren) "." "INBOX"`,
			`* LIST (\HasNoChildren) "." "INBOX.a.b.c"`,
			`* LIST (\Noselect \HasChildren) "." "INBOX.a.b"`,
			`* LIST (\Noselect \HasChildren) "." "INBOX.a"`,
			`* LIST (\HasNoChildren) "." "INBOX.plain"`,
		}
		if !sameLines(list, wantList) {
			t.Errorf("LIST: %q, want (in any order) %q", list, wantList)
		}
		// LIST (SUBSCRIBED) is answered as a plain LIST: the selection
		// option is ignored and no \Subscribed attribute appears.
		if got := r.ok(t, `LIST (SUBSCRIBED) "" "*"`); !sameLines(got, wantList) {
			t.Errorf("LIST (SUBSCRIBED): %q, want the plain LIST %q", got, wantList)
		}
		// LSUB lists the unsubscribed parents of a subscribed folder, INBOX
		// too, as \Noselect.
		wantLsub := []string{
			`* LSUB (\HasNoChildren) "." "INBOX.a.b.c"`,
			`* LSUB (\Noselect \HasChildren) "." "INBOX.a.b"`,
			`* LSUB (\Noselect \HasChildren) "." "INBOX.a"`,
			`* LSUB (\Noselect \HasChildren) "." "INBOX"`,
		}
		if got := r.ok(t, `LSUB "" "*"`); !sameLines(got, wantLsub) {
			t.Errorf("LSUB: %q, want (in any order) %q", got, wantLsub)
		}
		// Folders live under INBOX. only; '/' is not allowed; the INBOX
		// prefix is case-insensitive.
		for _, bad := range []string{"CREATE Top", "CREATE INBOX.sl/ash"} {
			if got := r.cmd(bad); !strings.HasSuffix(got[len(got)-1], " NO Invalid mailbox name.") {
				t.Errorf("%s: %q", bad, got)
			}
		}
		r.ok(t, "CREATE inbox.lower")
		if got := r.ok(t, `LIST "" "INBOX.lower"`); got[0] != `* LIST (\HasNoChildren) "." "INBOX.lower"` {
			t.Errorf("CREATE inbox.lower made %q", got)
		}
		// CREATE of an existing folder: NO without [ALREADYEXISTS].
		if got := r.cmd("CREATE INBOX.plain"); got[len(got)-1] != r.lastTag()+" NO Cannot create this folder." {
			t.Errorf("CREATE existing: %q", got)
		}
		// Deleting a folder with children leaves a \Noselect placeholder.
		r.ok(t, "CREATE INBOX.p.q")
		r.ok(t, "CREATE INBOX.p")
		r.ok(t, "DELETE INBOX.p")
		if got := r.ok(t, `LIST "" "INBOX.p"`); got[0] != `* LIST (\Noselect \HasChildren) "." "INBOX.p"` {
			t.Errorf("after DELETE INBOX.p: %q", got)
		}
		// The magic Trash folder (IMAP_TRASHFOLDERNAME) cannot be deleted.
		r.ok(t, "CREATE INBOX.Trash")
		if got := r.cmd("DELETE INBOX.Trash"); !strings.HasSuffix(got[len(got)-1], " NO Cannot delete this folder.") {
			t.Errorf("DELETE INBOX.Trash: %q", got)
		}
		// No SPECIAL-USE attributes, even on the names clients use.
		r.ok(t, "CREATE INBOX.Sent")
		l, err := cl.List("", "*", nil).Collect()
		if err != nil {
			t.Fatal(err)
		}
		for _, mb := range l {
			for _, a := range mb.Attrs {
				if a != imap.MailboxAttrNoSelect && a != imap.MailboxAttrHasChildren && a != imap.MailboxAttrHasNoChildren && a != imap.MailboxAttrUnmarked && a != imap.MailboxAttrMarked {
					t.Errorf("%s has attribute %s", mb.Mailbox, a)
				}
			}
		}
	})

	t.Run("non-ascii names", func(t *testing.T) {
		t.Parallel()
		cl, user := newUser(t)
		// go-imap encodes names in modified UTF-7 (RFC 3501).
		name := c.Mailbox("Grüße", "日本")
		Seed(t, cl, name, Message{Body: []byte("Subject: u\r\n\r\nu\r\n")})
		if got := Snapshot(t, cl)[name]; len(got) != 1 {
			t.Errorf("%q: %d messages", name, len(got))
		}
		r := raw(t, user)
		if got := r.ok(t, `LIST "" "INBOX.Gr*"`); !sameLines(got, []string{
			`* LIST (\HasChildren) "." "INBOX.Gr&APwA3w-e"`,
			`* LIST (\HasNoChildren) "." "INBOX.Gr&APwA3w-e.&ZeVnLA-"`,
		}) {
			t.Errorf("LIST: %q", got)
		}
		// A non-canonical encoding is accepted and stored canonically.
		if got := r.ok(t, `CREATE "INBOX.F&APw-&AN8-e"`); got[0] != r.lastTag()+` OK "INBOX.F&APwA3w-e" created.` {
			t.Errorf("CREATE non-canonical: %q", got)
		}
		// Raw UTF-8 (without ENABLE UTF8=ACCEPT) is accepted and mangled:
		// each byte above 0x7f becomes U+FFxx.
		if got := r.ok(t, "CREATE \"INBOX.Grüße8\""); got[0] != r.lastTag()+` OK "INBOX.Gr&,8P,vP,D,58-e8" created.` {
			t.Errorf("CREATE with raw UTF-8: %q", got)
		}
		// After ENABLE UTF8=ACCEPT names are UTF-8 on the wire.
		r.ok(t, "ENABLE UTF8=ACCEPT")
		if got := r.ok(t, `LIST "" "INBOX.F*"`); got[0] != `* LIST (\HasNoChildren) "." "INBOX.Füße"` {
			t.Errorf("LIST after ENABLE UTF8=ACCEPT: %q", got)
		}
	})

	t.Run("uidvalidity", func(t *testing.T) {
		t.Parallel()
		_, user := newUser(t)
		r := raw(t, user)
		dir := filepath.Join(c.MailDir(user), ".uv")
		uidvOf := func(lines []string) int64 {
			m := regexp.MustCompile(`UIDVALIDITY (\d+)`).FindStringSubmatch(strings.Join(lines, "\n"))
			if m == nil {
				t.Fatalf("no UIDVALIDITY in %q", lines)
			}
			v, _ := strconv.ParseInt(m[1], 10, 64)
			return v
		}
		// UIDVALIDITY is a clock reading: CREATE writes courierimapuiddb,
		// and UIDVALIDITY is its mtime in seconds since 2001-09-09 (Unix
		// 1000000000).
		before := time.Now().Unix()
		r.ok(t, "CREATE INBOX.uv")
		after := time.Now().Unix()
		sel := uidvOf(r.ok(t, "EXAMINE INBOX.uv"))
		if sel < before-1e9 || sel > after-1e9 {
			t.Errorf("UIDVALIDITY %d, want the clock at CREATE (%d..%d)", sel, before-1e9, after-1e9)
		}
		fi, err := os.Stat(filepath.Join(dir, "courierimapuiddb"))
		if err != nil {
			t.Fatal(err)
		}
		if sel != fi.ModTime().Unix()-1e9 {
			t.Errorf("UIDVALIDITY %d, courierimapuiddb mtime %d", sel, fi.ModTime().Unix())
		}
		if again := uidvOf(r.ok(t, "SELECT INBOX.uv")); again != sel {
			t.Errorf("SELECT after EXAMINE: %d, want %d", again, sel)
		}
		// DELETE sleeps 2 s so that a folder created again cannot get the
		// same UIDVALIDITY (RENAME too; IMAP_BROKENUIDV=1 turns it off).
		r.ok(t, "CLOSE")
		start := time.Now()
		r.ok(t, "DELETE INBOX.uv")
		if d := time.Since(start); d < 2*time.Second-100*time.Millisecond {
			t.Errorf("DELETE took %v; Courier sleeps 2 s", d)
		}
		r.ok(t, "CREATE INBOX.uv")
		if re := uidvOf(r.ok(t, "SELECT INBOX.uv")); re <= sel {
			t.Errorf("UIDVALIDITY after delete and create: %d, was %d", re, sel)
		}
	})
}

// sameLines says whether got holds exactly the lines of want after the
// tagged status line, in any order.
func sameLines(got, want []string) bool {
	if len(got) == 0 {
		return false
	}
	untagged := slices.Clone(got[:len(got)-1])
	slices.Sort(untagged)
	w := slices.Clone(want)
	slices.Sort(w)
	return slices.Equal(untagged, w)
}

// courierRaw is one IMAP connection spoken by hand, with synchronizing
// literals (Courier has no LITERAL+).
type courierRaw struct {
	conn     net.Conn
	r        *bufio.Reader
	n        int
	greeting string
}

func dialCourierRaw(t *testing.T, addr string) *courierRaw {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, dialTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	r := &courierRaw{conn: conn, r: bufio.NewReader(conn)}
	line, err := r.r.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	r.greeting = strings.TrimRight(line, "\r\n")
	return r
}

func (r *courierRaw) lastTag() string { return fmt.Sprintf("t%d", r.n) }

// cmd sends one command and returns every response line up to and
// including the tagged one; a literal in a response is kept in its line.
func (r *courierRaw) cmd(command string) []string {
	r.n++
	if _, err := fmt.Fprintf(r.conn, "%s %s\r\n", r.lastTag(), command); err != nil {
		return []string{err.Error()}
	}
	return r.responses()
}

// ok is cmd that fails the test unless the command succeeds.
func (r *courierRaw) ok(t *testing.T, command string) []string {
	t.Helper()
	resp := r.cmd(command)
	if !strings.HasPrefix(resp[len(resp)-1], r.lastTag()+" OK") {
		t.Fatalf("%s: %q", command, resp)
	}
	return resp
}

var literalAtEnd = regexp.MustCompile(`\{(\d+)\}\r\n$`)

func (r *courierRaw) responses() []string {
	var out []string
	for {
		line, err := r.readLine()
		if err != nil {
			return append(out, err.Error())
		}
		out = append(out, line)
		if strings.HasPrefix(line, r.lastTag()+" ") {
			return out
		}
	}
}

// readLine reads one response line, literals included, without the final
// CRLF.
func (r *courierRaw) readLine() (string, error) {
	var b strings.Builder
	for {
		part, err := r.r.ReadString('\n')
		if err != nil {
			return b.String(), err
		}
		b.WriteString(part)
		m := literalAtEnd.FindStringSubmatch(part)
		if m == nil {
			return strings.TrimSuffix(b.String(), "\r\n"), nil
		}
		n, _ := strconv.Atoi(m[1])
		lit := make([]byte, n)
		if _, err := io.ReadFull(r.r, lit); err != nil {
			return b.String(), err
		}
		b.Write(lit)
	}
}

// append sends APPEND with a synchronizing literal.
func (r *courierRaw) append(t *testing.T, mailbox, flags, date string, msg []byte) []string {
	t.Helper()
	r.n++
	head := r.lastTag() + " APPEND " + mailbox
	if flags != "" {
		head += " " + flags
	}
	if date != "" {
		head += ` "` + date + `"`
	}
	fmt.Fprintf(r.conn, "%s {%d}\r\n", head, len(msg))
	line, err := r.readLine()
	if err != nil || !strings.HasPrefix(line, "+") {
		t.Fatalf("APPEND: %q, %v; want a continuation", line, err)
	}
	r.conn.Write(append(slices.Clone(msg), '\r', '\n'))
	return r.responses()
}

// multiAppend sends an APPEND of two messages (RFC 3502) and returns the
// answer, which comes before the second literal is asked for.
func (r *courierRaw) multiAppend(t *testing.T, mailbox string, msg []byte) []string {
	t.Helper()
	r.n++
	fmt.Fprintf(r.conn, "%s APPEND %s {%d}\r\n", r.lastTag(), mailbox, len(msg))
	line, err := r.readLine()
	if err != nil || !strings.HasPrefix(line, "+") {
		t.Fatalf("APPEND: %q, %v; want a continuation", line, err)
	}
	fmt.Fprintf(r.conn, "%s (\\Seen) {%d}\r\n", msg, len(msg))
	return r.responses()
}
