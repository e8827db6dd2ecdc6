package syncer_test

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/imapmigrate/imapmigrate/internal/store"
	"github.com/imapmigrate/imapmigrate/internal/syncer"
	"github.com/imapmigrate/imapmigrate/internal/testenv"
)

// A skipped message is named in the state with its subject (decoded) and
// INTERNALDATE, whatever the reason it was skipped for: here one too large
// and one before --received-after; the copied one is not listed.
func TestSkippedItemsNamed(t *testing.T) {
	p := newMemPair(t, nil)
	rng := rand.New(rand.NewPCG(4, 4))
	bigDate := time.Date(2024, 2, 3, 4, 5, 6, 0, time.UTC)
	oldDate := time.Date(2019, 7, 8, 9, 10, 11, 0, time.UTC)
	c := testenv.Login(t, p.src.Addr(), "terry", "pw")
	testenv.Seed(t, c, "Archiv",
		testenv.Message{Body: testenv.GenMessage(rng, 2000, testenv.WithSubject("Copied")), InternalDate: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)},
		testenv.Message{Body: testenv.GenMessage(rng, 90_000, testenv.WithSubject("Urlaubsfotos – größer als erlaubt 📎"), testenv.WithAttachment()), InternalDate: bigDate},
		testenv.Message{Body: testenv.GenMessage(rng, 1500, testenv.WithSubject("Alte Nachricht")), InternalDate: oldDate, Flags: []imap.Flag{imap.FlagSeen}},
	)
	c.Close()
	res := p.syncWith(t, syncer.Options{MaxMessageSize: 50_000, ReceivedAfter: time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)})
	if res.Copied != 1 || res.Skipped[syncer.SkipTooLarge] != 1 || res.Skipped[syncer.SkipFiltered] != 1 {
		t.Fatalf("copied %d, skipped %v", res.Copied, res.Skipped)
	}

	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, p.state)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	mbox, err := st.State(ctx, "mem")
	if err != nil {
		t.Fatal(err)
	}
	skipped, err := mbox.Skipped(ctx, "Archiv")
	if err != nil {
		t.Fatal(err)
	}
	want := map[syncer.SkipReason]struct {
		subject string
		date    time.Time
	}{
		syncer.SkipTooLarge: {"Urlaubsfotos – größer als erlaubt 📎", bigDate},
		syncer.SkipFiltered: {"Alte Nachricht", oldDate},
	}
	if len(skipped) != 2 {
		t.Fatalf("skipped %+v", skipped)
	}
	for _, s := range skipped {
		w, ok := want[s.Reason]
		if !ok || s.Subject != w.subject || !s.Date.Equal(w.date) || s.Size == 0 || s.Detail == "" {
			t.Errorf("%s: uid %d subject %q date %v size %d detail %q; want %q %v", s.Reason, s.SourceUID, s.Subject, s.Date, s.Size, s.Detail, w.subject, w.date)
		}
	}
	// Reading the subjects left the messages unread, as they were.
	c = testenv.Login(t, p.src.Addr(), "terry", "pw")
	for _, m := range testenv.Snapshot(t, c)["Archiv"] {
		seen := false
		for _, f := range m.Flags {
			seen = seen || f == imap.FlagSeen
		}
		if seen != m.InternalDate.Equal(oldDate) {
			t.Errorf("message of %v: flags %v", m.InternalDate, m.Flags)
		}
	}
}
