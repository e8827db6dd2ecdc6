package testenv

import (
	"math/rand/v2"
	"net"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
)

func TestMemServerWithoutMaster(t *testing.T) {
	s := StartMemServer(t, MemServerOptions{Users: map[string]string{"alice": "pw", "admin": "admin-pw"}})
	// With no MasterUser the separator is an ordinary character.
	if c, err := DialLogin(s.Addr(), "alice*admin", "admin-pw", nil); err == nil {
		c.Close()
		t.Error("master-style login accepted without a master user")
	}
	c, err := imapclient.DialInsecure(s.Addr(), &imapclient.Options{Dialer: &net.Dialer{Timeout: dialTimeout}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.Authenticate(sasl.NewPlainClient("alice", "admin", "admin-pw"))
	if !isCode(err, imap.ResponseCodeAuthorizationFailed) {
		t.Errorf("PLAIN authzid without a master user: %v, want [AUTHORIZATIONFAILED]", err)
	}
}

func TestMemServerUsers(t *testing.T) {
	s := StartMemServer(t, MemServerOptions{MasterUser: "MailAdmin", MasterPassword: "m"})
	if err := s.AddUser("Carol", "pw"); err != nil {
		t.Fatal(err)
	}
	c := s.Client(t, "carol", "pw")
	Seed(t, c, "INBOX", Message{Body: GenMessage(rand.New(rand.NewPCG(1, 1)), 0)})
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
	if n := len(Snapshot(t, m)["INBOX"]); n != 1 {
		t.Errorf("master login sees %d messages, want 1", n)
	}
	if err := s.AddUser("a:b", "x"); err == nil {
		t.Error("AddUser accepted a name with ':'")
	}
}

func TestMemServerCapabilities(t *testing.T) {
	s := StartMemServer(t, MemServerOptions{Users: map[string]string{"alice": "pw"}})
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
