package demoserver

import (
	"math/rand/v2"
	"testing"

	"github.com/emersion/go-imap/v2"
)

func TestSeedSample(t *testing.T) {
	s := startMemServer(t, MemServerOptions{Users: map[string]string{"alice": "pw"}})
	c := s.Client(t, "alice", "pw")
	folders := map[string]int{"INBOX": 9, "Archive/2024": 3, "Projekt/Entwürfe": 2, "已发送": 1, "Empty": 0}
	n, err := SeedSample(c, rand.New(rand.NewPCG(1, 2)), folders)
	if err != nil {
		t.Fatal(err)
	}
	if n != 15 {
		t.Errorf("SeedSample appended %d messages, want 15", n)
	}
	for name, want := range folders {
		if want == 0 {
			continue // nothing appended, so never created
		}
		st, err := c.Status(name, &imap.StatusOptions{NumMessages: true}).Wait()
		if err != nil {
			t.Errorf("status %q: %v", name, err)
			continue
		}
		if got := *st.NumMessages; got != uint32(want) {
			t.Errorf("%q holds %d messages, want %d", name, got, want)
		}
	}
	// The parents of nested folders were created one level at a time.
	for _, parent := range []string{"Archive", "Projekt"} {
		if ok, err := MailboxExists(c, parent); err != nil || !ok {
			t.Errorf("parent %q: exists %v, %v", parent, ok, err)
		}
	}
	// Flags: half \Seen, the ninth \Flagged with a keyword.
	if _, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		t.Fatal(err)
	}
	seen, err := c.UIDSearch(&imap.SearchCriteria{Flag: []imap.Flag{imap.FlagSeen}}, nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if got := len(seen.AllUIDs()); got != 5 {
		t.Errorf("%d \\Seen messages in INBOX, want 5", got)
	}
}

func TestSeedSampleDeterministic(t *testing.T) {
	s := startMemServer(t, MemServerOptions{Users: map[string]string{"a": "pw", "b": "pw"}})
	folders := map[string]int{"INBOX": 4, "Sent": 3}
	sizes := func(user string) []int64 {
		c := s.Client(t, user, "pw")
		if _, err := SeedSample(c, rand.New(rand.NewPCG(7, 7)), folders); err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, name := range []string{"INBOX", "Sent"} {
			st, err := c.Status(name, &imap.StatusOptions{Size: true}).Wait()
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, *st.Size)
		}
		return out
	}
	a, b := sizes("a"), sizes("b")
	if a[0] != b[0] || a[1] != b[1] {
		t.Errorf("same seed, different mailboxes: %v vs %v", a, b)
	}
}
