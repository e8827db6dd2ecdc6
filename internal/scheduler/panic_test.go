package scheduler_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/imapconn"
	"github.com/imapmigrate/imapmigrate/internal/migration"
	"github.com/imapmigrate/imapmigrate/internal/scheduler"
	"github.com/imapmigrate/imapmigrate/internal/store"
)

// A pass that panics fails its user with the panic, and the scheduler
// goes on serving the others.
func TestPanicFailsOneUser(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "imapmigrate.db"), store.Options{})
	ok(t, err)
	defer st.Close()
	clk := &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	svc := &migration.Service{Store: st, Box: plainBox{}, Now: clk.Now}
	for _, name := range []string{"old", "new"} {
		_, err := svc.NewEndpoint(ctx, migration.EndpointParams{Endpoint: migration.Endpoint{Name: name, Server: "imap.example", Port: 993,
			Security: imapconn.SecuritySSL, MailboxAccess: migration.AccessMaster, AdminUser: "admin"}, AdminPassword: "pw", SkipVerify: true})
		ok(t, err)
	}
	csv := "EmailAddress,UserName,Password\na@new.example,a,pw\nbad@new.example,bad,pw\nc@new.example,c,pw\n"
	_, _, err = svc.NewBatch(ctx, migration.BatchParams{Name: "B", Source: "old", Target: "new", CSV: strings.NewReader(csv), AutoStart: true})
	ok(t, err)
	run := func(ctx context.Context, c *migration.Claim, m *scheduler.Meter) migration.Outcome {
		if c.User.EmailAddress == "bad@new.example" {
			var m map[string]int
			m["boom"]++ // a nil map: a bug in a pass
		}
		return migration.Outcome{Status: migration.UserSynced, Copied: 1, At: clk.Now(), FirstSync: true, NextDue: clk.Now().Add(time.Hour)}
	}
	s := &scheduler.Scheduler{Store: st, Run: run, Owner: "test", Workers: 1, Poll: 10 * time.Millisecond, Batch: "B", Now: clk.Now}
	err = s.Drain(ctx, func() bool {
		users, _ := svc.Users(ctx, "B", "")
		for _, u := range users {
			if u.Status == migration.UserSyncing || (!u.NextSync.IsZero() && !u.NextSync.After(clk.Now())) {
				return false
			}
		}
		return true
	})
	ok(t, err)
	for _, email := range []string{"a@new.example", "c@new.example"} {
		if u, _ := svc.User(ctx, email); u.Status != migration.UserSynced {
			t.Errorf("%s: %s, want Synced: the panic of another user's pass stopped it", email, u.Status)
		}
	}
	u, err := svc.User(ctx, "bad@new.example")
	ok(t, err)
	if u.Status != migration.UserFailed || !strings.Contains(u.Error, "internal error: panic") {
		t.Errorf("the panicking user: %s %q, want Failed with the panic", u.Status, u.Error)
	}
}
