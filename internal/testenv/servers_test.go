package testenv

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
)

// The tests in this file run against both servers: what the engine's tests
// rely on must hold for the in-process server and for Dovecot alike.

// testServer is what the shared tests need from a server.
type testServer struct {
	addr, tlsAddr  string
	ca             *CA
	masterLogin    func(user string) string
	masterUser     string
	masterPassword string
}

// eachServer runs f against a MemServer and a Dovecot, each with the users
// alice/alice-pw and bob/bob-pw and master user mailadmin.
func eachServer(t *testing.T, f func(t *testing.T, s testServer)) {
	users := map[string]string{"alice": "alice-pw", "bob": "bob-pw"}
	t.Run("mem", func(t *testing.T) {
		t.Parallel()
		m := StartMemServer(t, MemServerOptions{Users: users, MasterUser: "mailadmin", MasterPassword: "master-pw"})
		f(t, testServer{m.Addr(), m.TLSAddr(), m.CA, m.MasterLogin, m.MasterUser, m.MasterPassword})
	})
	t.Run("dovecot", func(t *testing.T) {
		t.Parallel()
		d := StartDovecot(t, DovecotOptions{Users: users})
		f(t, testServer{d.Addr(), d.TLSAddr(), d.CA, d.MasterLogin, d.MasterUser, d.MasterPassword})
	})
}

func isCode(err error, code imap.ResponseCode) bool {
	var ierr *imap.Error
	return errors.As(err, &ierr) && ierr.Code == code
}

func TestLogin(t *testing.T) {
	eachServer(t, func(t *testing.T, s testServer) {
		c := Login(t, s.addr, "alice", "alice-pw")
		if _, err := c.Select("INBOX", nil).Wait(); err != nil {
			t.Fatalf("select INBOX: %v", err)
		}
		// Login names are case-insensitive on both (Dovecot lower-cases them).
		Login(t, s.addr, "Alice", "alice-pw")

		for _, bad := range []struct{ user, pass string }{
			{"alice", "wrong"},
			{"nobody", "alice-pw"},
			{"alice", "bob-pw"},
		} {
			start := time.Now()
			c, err := DialLogin(s.addr, bad.user, bad.pass, nil)
			if err == nil {
				c.Close()
				t.Errorf("login %s/%s succeeded", bad.user, bad.pass)
				continue
			}
			if !isCode(err, imap.ResponseCodeAuthenticationFailed) {
				t.Errorf("login %s/%s: %v, want [AUTHENTICATIONFAILED]", bad.user, bad.pass, err)
			}
			// Dovecot's auth penalty would make this 4 s or more.
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("failed login took %v; the auth delay and penalty should be off", d)
			}
		}
	})
}

func TestMasterLogin(t *testing.T) {
	eachServer(t, func(t *testing.T, s testServer) {
		body := GenMessage(rand.New(rand.NewPCG(7, 7)), 0)
		Seed(t, Login(t, s.addr, "alice", "alice-pw"), "INBOX", Message{Body: body})

		c := Login(t, s.addr, s.masterLogin("alice"), s.masterPassword)
		snap := Snapshot(t, c)
		if got := snap["INBOX"]; len(got) != 1 || got[0].SHA256 != BodySHA256(body) {
			t.Fatalf("master login as alice sees INBOX %+v, want alice's one message", got)
		}
		// bob's mailbox is another one.
		if got := Snapshot(t, Login(t, s.addr, s.masterLogin("bob"), s.masterPassword))["INBOX"]; len(got) != 0 {
			t.Errorf("master login as bob sees %d messages, want 0", len(got))
		}

		for _, bad := range []struct{ user, pass string }{
			{s.masterLogin("alice"), "wrong"},
			{s.masterLogin("alice"), "alice-pw"},
			{s.masterLogin("nobody"), s.masterPassword},
			{"alice*bob", "bob-pw"}, // an ordinary user is no master
		} {
			if c, err := DialLogin(s.addr, bad.user, bad.pass, nil); err == nil {
				c.Close()
				t.Errorf("login %s/%s succeeded", bad.user, bad.pass)
			}
		}
	})
}

func TestSASLPlainAuthzid(t *testing.T) {
	eachServer(t, func(t *testing.T, s testServer) {
		body := GenMessage(rand.New(rand.NewPCG(8, 8)), 0)
		Seed(t, Login(t, s.addr, "bob", "bob-pw"), "INBOX", Message{Body: body})

		auth := func(identity, user, pass string) (*imapclient.Client, error) {
			c, err := imapclient.DialInsecure(s.addr, &imapclient.Options{Dialer: &net.Dialer{Timeout: dialTimeout}})
			if err != nil {
				return nil, err
			}
			if err := c.Authenticate(sasl.NewPlainClient(identity, user, pass)); err != nil {
				c.Close()
				return nil, err
			}
			t.Cleanup(func() { closeClient(c) })
			return c, nil
		}

		// authzid = user, authcid = master: logged in as bob.
		c, err := auth("bob", s.masterUser, s.masterPassword)
		if err != nil {
			t.Fatalf("PLAIN authzid=bob authcid=%s: %v", s.masterUser, err)
		}
		if got := Snapshot(t, c)["INBOX"]; len(got) != 1 || got[0].SHA256 != BodySHA256(body) {
			t.Fatalf("PLAIN authzid=bob sees INBOX %+v, want bob's one message", got)
		}
		// No authzid: an ordinary login.
		if _, err := auth("", "bob", "bob-pw"); err != nil {
			t.Errorf("PLAIN without authzid: %v", err)
		}
		if _, err := auth("bob", s.masterUser, "wrong"); err == nil {
			t.Error("PLAIN authzid with a wrong master password succeeded")
		}
		if _, err := auth("bob", "alice", "alice-pw"); err == nil {
			t.Error("PLAIN authzid=bob by alice (no master) succeeded")
		}
	})
}

func TestTLS(t *testing.T) {
	eachServer(t, func(t *testing.T, s testServer) {
		// Trust exactly what --ca-file would: the PEM file.
		caPEM, err := os.ReadFile(s.ca.CAFile)
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
			{"starttls", func(o *imapclient.Options) (*imapclient.Client, error) { return imapclient.DialStartTLS(s.addr, o) }},
			{"implicit", func(o *imapclient.Options) (*imapclient.Client, error) { return imapclient.DialTLS(s.tlsAddr, o) }},
		}
		for _, d := range dials {
			c, err := d.dial(trusted)
			if err != nil {
				t.Errorf("%s: %v", d.name, err)
				continue
			}
			if err := c.Login("alice", "alice-pw").Wait(); err != nil {
				t.Errorf("%s: login: %v", d.name, err)
			}
			closeClient(c)

			if c, err := d.dial(untrusted); err == nil {
				// STARTTLS may only fail at the first command.
				err = c.Noop().Wait()
				c.Close()
				if err == nil {
					t.Errorf("%s: connected without trusting the CA", d.name)
				}
			}
		}
	})
}

func TestSeedSnapshotRoundTrip(t *testing.T) {
	eachServer(t, func(t *testing.T, s testServer) {
		rng := rand.New(rand.NewPCG(1, 2))
		c := Login(t, s.addr, "alice", "alice-pw")
		delim, err := Delimiter(c)
		if err != nil {
			t.Fatal(err)
		}
		sub := func(names ...string) string {
			out := names[0]
			for _, n := range names[1:] {
				out += string(delim) + n
			}
			return out
		}
		paris := time.FixedZone("", 3600)
		tokyo := time.FixedZone("", 9*3600)
		seeds := map[string][]Message{
			"INBOX": {
				{Body: GenMessage(rng, 2000), Flags: []imap.Flag{imap.FlagSeen}, InternalDate: time.Date(2019, 3, 4, 5, 6, 7, 0, paris)},
				{Body: GenMessage(rng, 3000), Flags: []imap.Flag{imap.FlagSeen, imap.FlagAnswered, imap.FlagFlagged, "$Forwarded", "Project_X"}, InternalDate: time.Date(2020, 12, 31, 23, 59, 59, 0, tokyo)},
				{Body: GenMessage(rng, 1<<20), InternalDate: time.Date(2021, 6, 1, 12, 0, 0, 0, time.UTC)},
				{Body: GenMessage(rng, 1500, WithoutMessageID()), Flags: []imap.Flag{imap.FlagDraft}, InternalDate: time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC)},
			},
			"Sent": {
				{Body: GenMessage(rng, 5000), Flags: []imap.Flag{imap.FlagSeen, "$MDNSent"}, InternalDate: time.Date(2018, 7, 7, 7, 7, 7, 0, time.UTC)},
			},
			sub("Projects", "2024", "Q1"): {
				{Body: GenMessage(rng, 64<<10), Flags: []imap.Flag{imap.FlagDeleted, imap.FlagSeen}, InternalDate: time.Date(2024, 2, 29, 10, 0, 0, 0, paris)},
			},
			"Empty": nil,
		}
		want := map[string][]MessageInfo{}
		for _, name := range []string{"INBOX", "Sent", sub("Projects", "2024", "Q1"), "Empty"} {
			msgs := seeds[name]
			uids := Seed(t, c, name, msgs...)
			infos := []MessageInfo{}
			for i, m := range msgs {
				if uids[i] == 0 {
					t.Fatalf("%s: no APPENDUID for message %d", name, i)
				}
				infos = append(infos, MessageInfo{
					UID:          uids[i],
					Flags:        normalizeFlags(m.Flags),
					InternalDate: m.InternalDate.UTC(),
					Size:         int64(len(m.Body)),
					BodyLen:      int64(len(m.Body)),
					SHA256:       BodySHA256(m.Body),
				})
			}
			want[name] = infos
		}
		// Parents were created as real mailboxes.
		want["Projects"] = []MessageInfo{}
		want[sub("Projects", "2024")] = []MessageInfo{}

		got := Snapshot(t, c)
		if diff := DiffSnapshots(want, got); len(diff) > 0 {
			t.Fatalf("snapshot differs from what was seeded:\n%s", joinLines(diff))
		}
		// UIDs are those APPENDUID returned, in order.
		for name, w := range want {
			for i := range w {
				if got[name][i].UID != w[i].UID {
					t.Errorf("%s[%d]: UID %d, want %d", name, i, got[name][i].UID, w[i].UID)
				}
			}
		}
		// Seeding again appends to the existing mailbox.
		Seed(t, c, sub("Projects", "2024", "Q1"), Message{Body: GenMessage(rng, 0)})
		if n := len(Snapshot(t, c)[sub("Projects", "2024", "Q1")]); n != 2 {
			t.Errorf("after a second seed: %d messages, want 2", n)
		}
		// Snapshot only reads: \Seen is untouched by BODY.PEEK[].
		again := Snapshot(t, c)
		if !slices.Equal(again["INBOX"][2].Flags, []imap.Flag{}) {
			t.Errorf("snapshot changed flags: %v", again["INBOX"][2].Flags)
		}
	})
}

func joinLines(lines []string) string {
	out := ""
	for _, l := range lines {
		out += "  " + l + "\n"
	}
	return out
}
