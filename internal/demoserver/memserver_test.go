package demoserver

import (
	"math/rand/v2"
	"net"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
)

func TestMemServerWithoutMaster(t *testing.T) {
	s := startMemServer(t, MemServerOptions{Users: map[string]string{"alice": "pw", "admin": "admin-pw"}})
	// With no MasterUser the separator is an ordinary character.
	if c, err := DialLogin(s.Addr(), "alice*admin", "admin-pw", nil); err == nil {
		c.Close()
		t.Error("master-style login accepted without a master user")
	}
	c, err := imapclient.DialInsecure(s.Addr(), &imapclient.Options{Dialer: &net.Dialer{Timeout: DialTimeout}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.Authenticate(sasl.NewPlainClient("alice", "admin", "admin-pw"))
	if !isCode(err, imap.ResponseCodeAuthorizationFailed) {
		t.Errorf("PLAIN authzid without a master user: %v, want [AUTHORIZATIONFAILED]", err)
	}
}

func TestMemServerMasterLogin(t *testing.T) {
	s := startMemServer(t, MemServerOptions{Users: map[string]string{"alice": "pw"}, MasterUser: "MailAdmin", MasterPassword: "m"})
	for _, login := range []struct{ name, user, pass string }{
		{"LOGIN user*master", s.MasterLogin("alice"), "m"},
		{"LOGIN upper-case master", "ALICE*MAILADMIN", "m"},
	} {
		c, err := DialLogin(s.Addr(), login.user, login.pass, nil)
		if err != nil {
			t.Errorf("%s: %v", login.name, err)
			continue
		}
		CloseClient(c)
	}
	if c, err := DialLogin(s.Addr(), s.MasterLogin("alice"), "wrong", nil); err == nil {
		c.Close()
		t.Error("master login with a wrong password accepted")
	}
	if c, err := DialLogin(s.Addr(), s.MasterLogin("nobody"), "m", nil); err == nil {
		c.Close()
		t.Error("master login as a missing user accepted")
	}
	c, err := imapclient.DialInsecure(s.Addr(), &imapclient.Options{Dialer: &net.Dialer{Timeout: DialTimeout}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Authenticate(sasl.NewPlainClient("alice", "mailadmin", "m")); err != nil {
		t.Errorf("PLAIN authzid=alice authcid=mailadmin: %v", err)
	}
}

func TestMemServerUsers(t *testing.T) {
	s := startMemServer(t, MemServerOptions{MasterUser: "MailAdmin", MasterPassword: "m"})
	if err := s.AddUser("Carol", "pw"); err != nil {
		t.Fatal(err)
	}
	c := s.Client(t, "carol", "pw")
	if _, err := Append(c, "INBOX", Message{Body: GenMessage(rand.New(rand.NewPCG(1, 1)), 0)}); err != nil {
		t.Fatal(err)
	}
	if s.User("CAROL") == nil || s.User("dave") != nil {
		t.Error("User lookup")
	}
	// A new password replaces the old one.
	if err := s.AddUser("carol", "new"); err != nil {
		t.Fatal(err)
	}
	if c, err := DialLogin(s.Addr(), "carol", "pw", nil); err == nil {
		c.Close()
		t.Error("old password still accepted")
	}
	m := s.Client(t, s.MasterLogin("carol"), "m")
	sel, err := m.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if sel.NumMessages != 1 {
		t.Errorf("master login sees %d messages, want 1", sel.NumMessages)
	}
	for _, bad := range []string{"", "a:b", "a/b", "a b", ".hidden"} {
		if err := s.AddUser(bad, "x"); err == nil {
			t.Errorf("AddUser accepted the name %q", bad)
		}
	}
	if err := s.AddUser("erin", "a:b"); err == nil {
		t.Error("AddUser accepted a password with ':'")
	}
}

func TestMemServerCapabilities(t *testing.T) {
	s := startMemServer(t, MemServerOptions{Users: map[string]string{"alice": "pw"}})
	caps, err := s.Client(t, "alice", "pw").Capability().Wait()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []imap.Cap{imap.CapUIDPlus, imap.CapLiteralPlus, imap.CapMove, imap.CapNamespace} {
		if !caps.Has(want) {
			t.Errorf("capability %s missing: %s", want, capList(caps))
		}
	}
}

// TestMemServerTLS: both listeners present the CA's certificate.
func TestMemServerTLS(t *testing.T) {
	s := startMemServer(t, MemServerOptions{Users: map[string]string{"alice": "pw"}})
	opts := &imapclient.Options{TLSConfig: s.CA.ClientTLSConfig(""), Dialer: &net.Dialer{Timeout: DialTimeout}}
	for name, dial := range map[string]func() (*imapclient.Client, error){
		"starttls": func() (*imapclient.Client, error) { return imapclient.DialStartTLS(s.Addr(), opts) },
		"implicit": func() (*imapclient.Client, error) { return imapclient.DialTLS(s.TLSAddr(), opts) },
	} {
		c, err := dial()
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if err := c.Login("alice", "pw").Wait(); err != nil {
			t.Errorf("%s: login: %v", name, err)
		}
		CloseClient(c)
	}
}
