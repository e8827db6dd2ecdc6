package testenv

import (
	"math/rand/v2"
	"testing"
)

// The in-process server's own tests are in demoserver; this checks the
// test forms reach it: StartMemServer, Client, Seed, Snapshot.
func TestMemServerUsers(t *testing.T) {
	s := StartMemServer(t, MemServerOptions{MasterUser: "MailAdmin", MasterPassword: "m"})
	if err := s.AddUser("Carol", "pw"); err != nil {
		t.Fatal(err)
	}
	c := s.Client(t, "carol", "pw")
	Seed(t, c, "Archive/2024", Message{Body: GenMessage(rand.New(rand.NewPCG(1, 1)), 0)})
	if s.User("CAROL") == nil || s.User("dave") != nil {
		t.Error("User lookup")
	}
	m := s.Client(t, s.MasterLogin("carol"), "m")
	if n := len(Snapshot(t, m)["Archive/2024"]); n != 1 {
		t.Errorf("master login sees %d messages, want 1", n)
	}
	if err := s.AddUser("a:b", "x"); err == nil {
		t.Error("AddUser accepted a name with ':'")
	}
}
