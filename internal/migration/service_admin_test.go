package migration_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/imapmigrate/imapmigrate/internal/csvfile"
	"github.com/imapmigrate/imapmigrate/internal/migration"
	"github.com/imapmigrate/imapmigrate/internal/store/sqldb"
	"github.com/imapmigrate/imapmigrate/internal/syncer"
)

// fail leases the user's next pass and records it as failed.
func (e *sealEnv) fail(t *testing.T, batch string) *migration.Claim {
	t.Helper()
	ctx := context.Background()
	c, err := e.st.Claim(ctx, "w1", batch, time.Now(), time.Minute)
	if err != nil || c == nil {
		t.Fatalf("claim: %v %v", c, err)
	}
	o := migration.EndPass(migration.PassEnd{Kind: c.Kind, Err: errors.New("login refused")}, migration.Outcome{At: time.Now()})
	if err := e.st.Finish(ctx, c.User.ID, "w1", o); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSetUserReSealsAndRetries(t *testing.T) {
	e := newSealEnv(t)
	ctx := context.Background()
	if err := e.svc.StartBatch(ctx, "b1"); err != nil {
		t.Fatal(err)
	}
	c := e.fail(t, "b1")
	email := c.User.EmailAddress
	if u, _ := e.svc.User(ctx, email); u.Status != migration.UserFailed || !u.NextSync.IsZero() {
		t.Fatalf("after the failed pass: %s, next %v", u.Status, u.NextSync)
	}
	u, err := e.svc.SetUser(ctx, email, migration.UserSecrets{Password: "New-Pw-1"})
	if err != nil {
		t.Fatal(err)
	}
	if u.Status != migration.UserQueued || u.Error != "" || u.NextSync.IsZero() || u.NextSync.After(time.Now()) {
		t.Errorf("after set: %s %q, next %v: want Queued and due now", u.Status, u.Error, u.NextSync)
	}
	if cfg, err := e.source(t, "b1", email); err != nil || cfg.Password.Reveal() != "New-Pw-1" {
		t.Errorf("source password after set: %v", err)
	}
	if again, err := e.st.Claim(ctx, "w2", "b1", time.Now(), time.Minute); err != nil || again == nil {
		t.Errorf("the retried user is not claimed: %v", err)
	}

	// What cannot be taken.
	var ve *migration.ValidationError
	if _, err := e.svc.SetUser(ctx, email, migration.UserSecrets{}); !errors.As(err, &ve) || ve.Field != "Password" {
		t.Errorf("no password: %v", err)
	}
	if _, err := e.svc.SetUser(ctx, email, migration.UserSecrets{TargetPassword: "x"}); !errors.As(err, &ve) || ve.Field != "TargetPassword" {
		t.Errorf("a target password for a master target: %v", err)
	}
	if _, err := e.svc.SetUser(ctx, "nosuch@x.example", migration.UserSecrets{Password: "x"}); !errors.As(err, &ve) || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("no such user: %v", err)
	}
	// A per-user target takes one; a batch not started does not start.
	u, err = e.svc.SetUser(ctx, "a@y.example", migration.UserSecrets{TargetPassword: "New-Tpw-2"})
	if err != nil || u.Status != migration.UserQueued || !u.NextSync.IsZero() {
		t.Fatalf("per-user set: %+v %v", u, err)
	}
	if cfg, err := e.target(t, "b2", "a@y.example"); err != nil || cfg.Password.Reveal() != "New-Tpw-2" {
		t.Errorf("target password after set: %v", err)
	}
}

func TestRemoveUser(t *testing.T) {
	e := newSealEnv(t)
	ctx := context.Background()
	if err := e.svc.StartBatch(ctx, "b1"); err != nil {
		t.Fatal(err)
	}
	// The highest id of all, with a pass under way and sync state.
	if _, _, err := e.svc.AddUsers(ctx, "b1", strings.NewReader("EmailAddress,UserName,Password\nz@x.example,z,Pw-Z\n"), csvfile.Options{}); err != nil {
		t.Fatal(err)
	}
	last, err := e.svc.User(ctx, "z@x.example")
	if err != nil {
		t.Fatal(err)
	}
	var c *migration.Claim
	for c == nil || c.User.ID != last.ID {
		if c, err = e.st.Claim(ctx, "w1", "b1", time.Now(), time.Minute); err != nil || c == nil {
			t.Fatalf("claim: %v", err)
		}
	}
	state, err := e.st.UserState(ctx, last.ID)
	if err != nil {
		t.Fatal(err)
	}
	f := &syncer.FolderState{Source: "INBOX", Target: "INBOX", SourceUIDValidity: 1, TargetUIDValidity: 1}
	if err := state.Commit(ctx, f, syncer.Commit{Copied: []syncer.Message{{SourceUID: 1, TargetUID: 1, Size: 10}}}); err != nil {
		t.Fatal(err)
	}

	u, err := e.svc.RemoveUser(ctx, last.EmailAddress)
	if err != nil || u.EmailAddress != last.EmailAddress {
		t.Fatalf("remove: %v", err)
	}
	if _, err := e.svc.User(ctx, last.EmailAddress); err == nil {
		t.Error("the user is still there")
	}
	// The pass under way stops at its next heartbeat, and cannot make the
	// state again.
	if _, err := e.st.Heartbeat(ctx, last.ID, "w1", time.Now().Add(time.Minute), migration.Progress{}); !errors.Is(err, migration.ErrNotFound) {
		t.Errorf("heartbeat of a removed user: %v", err)
	}
	if _, err := e.st.UserState(ctx, last.ID); !errors.Is(err, migration.ErrNotFound) {
		t.Errorf("state of a removed user: %v", err)
	}
	var n int
	if err := e.raw.QueryRow(`SELECT COUNT(*) FROM mailbox WHERE key = ?`, sqldb.UserStateKey(last.ID)).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d state rows left (%v)", n, err)
	}
	if _, err := e.svc.RemoveUser(ctx, last.EmailAddress); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("second remove: %v", err)
	}

	// State left under the id (an older version, a pass that raced the
	// removal) is no new user's: SQLite gives the next user the same id.
	orphan, err := e.st.State(ctx, sqldb.UserStateKey(last.ID))
	if err != nil {
		t.Fatal(err)
	}
	if err := orphan.Commit(ctx, f, syncer.Commit{Copied: []syncer.Message{{SourceUID: 1, TargetUID: 1, Size: 10}}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.AddUsers(ctx, "b1", strings.NewReader("EmailAddress,UserName,Password\nnew@x.example,new,Pw-N\n"), csvfile.Options{}); err != nil {
		t.Fatal(err)
	}
	nu, err := e.svc.User(ctx, "new@x.example")
	if err != nil {
		t.Fatal(err)
	}
	if nu.ID != last.ID {
		t.Logf("SQLite gave the new user id %d, not %d", nu.ID, last.ID)
	}
	if st, err := e.svc.UserStatistics(ctx, nu.EmailAddress, true, true); err != nil || len(st.Folders) != 0 {
		t.Errorf("new user %d (removed %d) starts with state %+v, %v", nu.ID, last.ID, st.Folders, err)
	}
}

func TestAddUsers(t *testing.T) {
	e := newSealEnv(t)
	ctx := context.Background()
	add := func(batch, csv string) (*migration.Batch, error) {
		b, _, err := e.svc.AddUsers(ctx, batch, strings.NewReader("EmailAddress,UserName,Password\n"+csv), csvfile.Options{})
		return b, err
	}
	count := func(batch string) int {
		b, err := e.svc.Batch(ctx, batch)
		if err != nil {
			t.Fatal(err)
		}
		return b.Users
	}
	// Created batch: Queued, not due.
	b, err := add("b1", "c@x.example,c,Pw-C\n")
	if err != nil || b.Users != 3 {
		t.Fatalf("add to a created batch: %v %v", b, err)
	}
	if u, _ := e.svc.User(ctx, "c@x.example"); u.Status != migration.UserQueued || !u.NextSync.IsZero() {
		t.Errorf("added to a created batch: %s next %v", u.Status, u.NextSync)
	}
	// Running batch: due at once.
	if err := e.svc.StartBatch(ctx, "b1"); err != nil {
		t.Fatal(err)
	}
	if _, err := add("b1", "d@x.example,d,Pw-D\n"); err != nil {
		t.Fatal(err)
	}
	if u, _ := e.svc.User(ctx, "d@x.example"); u.Status != migration.UserQueued || u.NextSync.IsZero() || u.NextSync.After(time.Now()) {
		t.Errorf("added to a running batch: %s next %v", u.Status, u.NextSync)
	}

	// Every problem at once, and nothing added: a bad row, an address in
	// another batch, one in this batch.
	_, err = add("b1", "bad@,x,y\ne@x.example,e,Pw-E\nA@y.example,a,Pw\na@x.example,a,Pw\n")
	var pe *csvfile.ProblemsError
	if !errors.As(err, &pe) || len(pe.Problems) != 1 || pe.Problems[0].Row != 2 {
		t.Fatalf("bad row: %v", err)
	}
	_, err = add("b1", "e@x.example,e,Pw-E\nA@y.example,a,Pw\na@x.example,a,Pw\n")
	if !errors.As(err, &pe) || len(pe.Problems) != 2 || pe.Problems[0].Row != 3 || !strings.Contains(pe.Problems[0].Message, "already in batch b2") ||
		pe.Problems[1].Row != 4 || !strings.Contains(pe.Problems[1].Message, "already in batch b1") {
		t.Fatalf("conflicts: %v", err)
	}
	if n := count("b1"); n != 4 {
		t.Errorf("b1 has %d users after refused additions, want 4", n)
	}
	// A per-user target needs the target columns.
	if _, err := add("b2", "f@y.example,f,Pw-F\n"); !errors.As(err, &pe) || pe.Problems[0].Column != "TargetUserName" {
		t.Errorf("per-user without target columns: %v", err)
	}
	var ve *migration.ValidationError
	if _, _, err := e.svc.AddUsers(ctx, "b1", strings.NewReader(""), csvfile.Options{Encoding: "nope"}); !errors.As(err, &ve) || ve.Field != "CSVOptions" {
		t.Errorf("bad encoding: %v", err)
	}
	if _, err := add("nosuch", "g@x.example,g,Pw\n"); !errors.As(err, &ve) || !strings.Contains(err.Error(), "batch nosuch does not exist") {
		t.Errorf("no such batch: %v", err)
	}
	// A completing batch takes no one.
	if err := e.svc.CompleteBatch(ctx, "b1"); err != nil {
		t.Fatal(err)
	}
	if _, err := add("b1", "h@x.example,h,Pw\n"); !errors.As(err, &ve) || !strings.Contains(err.Error(), "add the users to a new batch") {
		t.Errorf("completing batch: %v", err)
	}
}

func TestUserStatisticsAndWorkers(t *testing.T) {
	e := newSealEnv(t)
	ctx := context.Background()
	u, _ := e.svc.User(ctx, "a@x.example")
	state, err := e.st.UserState(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	date := time.Date(2019, 3, 4, 5, 6, 7, 0, time.UTC)
	f := &syncer.FolderState{Source: "Archiv/2019", Target: "Archiv/2019", SourceUIDValidity: 1, TargetUIDValidity: 1}
	if err := state.Commit(ctx, f, syncer.Commit{Skipped: []syncer.Skip{
		{SourceUID: imap.UID(7), Reason: syncer.SkipTooLarge, Size: 50 << 20, Detail: "too big", Subject: "Fotos vom Urlaub", Date: date},
	}}); err != nil {
		t.Fatal(err)
	}
	st, err := e.svc.UserStatistics(ctx, u.EmailAddress, true, true)
	if err != nil {
		t.Fatal(err)
	}
	want := migration.SkippedItem{Folder: "Archiv/2019", UID: 7, Date: date, Subject: "Fotos vom Urlaub", Size: 50 << 20, Reason: "too_large", Detail: "too big"}
	if len(st.SkippedItems) != 1 || st.SkippedItems[0] != want || len(st.Folders) != 1 || st.Folders[0].Skipped != 1 {
		t.Errorf("stats: %+v %+v", st.SkippedItems, st.Folders)
	}
	if st, _ := e.svc.UserStatistics(ctx, u.EmailAddress, false, false); st.SkippedItems != nil || st.Folders != nil {
		t.Error("details not asked for")
	}

	if !e.svc.NoWorker(ctx) {
		t.Error("NoWorker with none")
	}
	now := time.Now()
	if err := e.st.PutWorker(ctx, migration.Worker{Name: "w1", Host: "h", PID: 1, Slots: 1, Started: now, Seen: now}); err != nil {
		t.Fatal(err)
	}
	if e.svc.NoWorker(ctx) {
		t.Error("NoWorker with a live worker")
	}
}
