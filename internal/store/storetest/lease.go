package storetest

import (
	"context"
	"fmt"
	"github.com/imapmigrate/imapmigrate/internal/store"
	"testing"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/imapconn"
	"github.com/imapmigrate/imapmigrate/internal/migration"
)

func newBatchStore(t *testing.T, dsn string, users int, maxMigrations, maxIncremental int) store.Store {
	t.Helper()
	ctx := context.Background()
	s, err := store.Open(ctx, dsn, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	for _, name := range []string{"src", "tgt"} {
		e := &migration.Endpoint{Name: name, Server: "imap.example", Port: 993, Security: imapconn.SecuritySSL, Auth: imapconn.AuthLogin,
			MasterSeparator: "*", MaxConcurrentMigrations: maxMigrations, MaxConcurrentIncrementalSyncs: maxIncremental, CreatedAt: time.Now()}
		if err := s.PutEndpoint(ctx, e, true); err != nil {
			t.Fatal(err)
		}
	}
	var us []migration.User
	for i := 0; i < users; i++ {
		us = append(us, migration.User{EmailAddress: fmt.Sprintf("u%d@example.com", i), UserName: "u", Password: "sealed"})
	}
	b := &migration.Batch{Name: "B", SourceEndpoint: "src", TargetEndpoint: "tgt", Intent: migration.IntentCreated, IncrementalInterval: migration.TimeSpan(time.Hour), CreatedAt: time.Now()}
	if err := s.CreateBatch(ctx, b, us); err != nil {
		t.Fatal(err)
	}
	return s
}

// Claims honour MaxConcurrentMigrations across owners; an expired lease
// can be claimed again; Finish releases.
func testClaimLimitsAndLeases(t *testing.T, dsn string) {
	ctx := context.Background()
	s := newBatchStore(t, dsn, 5, 2, 1)
	now := time.Now()
	if c, err := s.Claim(ctx, "w1", "", now, time.Minute); err != nil || c != nil {
		t.Fatalf("a Created batch has no due work: %v %v", c, err)
	}
	if err := s.SetIntent(ctx, "B", migration.Transition{Intent: migration.IntentRunning, Now: now}); err != nil {
		t.Fatal(err)
	}
	c1, _ := s.Claim(ctx, "w1", "", now, time.Minute)
	c2, _ := s.Claim(ctx, "w2", "", now, time.Minute)
	c3, _ := s.Claim(ctx, "w3", "", now, time.Minute)
	if c1 == nil || c2 == nil || c3 != nil {
		t.Fatalf("limit 2: claims %v %v %v", c1 != nil, c2 != nil, c3 != nil)
	}
	if c1.Kind != "initial" || c1.User.Status != migration.UserSyncing {
		t.Errorf("claim kind %s status %s", c1.Kind, c1.User.Status)
	}
	// w2 dies: after its lease expires, its user can be claimed again.
	later := now.Add(2 * time.Minute)
	if _, err := s.Heartbeat(ctx, c1.User.ID, "w1", later.Add(time.Minute), migration.Progress{}); err != nil {
		t.Fatal(err)
	}
	c4, _ := s.Claim(ctx, "w3", "", later, time.Minute)
	if c4 == nil || c4.User.ID != c2.User.ID {
		t.Fatalf("the expired lease was not reclaimed: %+v", c4)
	}
	if c1.TakenOver != "" || c4.TakenOver != "w2" {
		t.Errorf("TakenOver: claim of a free user %q, of w2's expired lease %q", c1.TakenOver, c4.TakenOver)
	}
	if _, err := s.Heartbeat(ctx, c2.User.ID, "w2", later, migration.Progress{}); err == nil {
		t.Error("the dead worker still holds its lease")
	}
	// Finish releases the slot; the user is due again after the interval.
	if err := s.Finish(ctx, c1.User.ID, "w1", migration.Outcome{Status: migration.UserSynced, Copied: 10, At: later, NextDue: later.Add(time.Hour), FirstSync: true}); err != nil {
		t.Fatal(err)
	}
	c5, _ := s.Claim(ctx, "w1", "", later, time.Minute)
	if c5 == nil || c5.User.ID == c1.User.ID {
		t.Fatalf("after Finish: %+v", c5)
	}
	// The synced user comes back as an incremental sync (limit 1) when due,
	// while the initial-sync slots are full.
	s.Heartbeat(ctx, c4.User.ID, "w3", later.Add(3*time.Hour), migration.Progress{})
	s.Heartbeat(ctx, c5.User.ID, "w1", later.Add(3*time.Hour), migration.Progress{})
	c6, _ := s.Claim(ctx, "w4", "", later.Add(2*time.Hour), time.Minute)
	if c6 == nil || c6.User.ID != c1.User.ID || c6.Kind != "incremental" {
		t.Fatalf("incremental claim: %+v", c6)
	}
	// Stop: leased users are Stopping, the others Stopped; a pass that ends
	// normally afterwards leaves its user Stopped.
	if err := s.SetIntent(ctx, "B", migration.Transition{Intent: migration.IntentStopped, Now: later.Add(2 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := s.Finish(ctx, c6.User.ID, "w4", migration.Outcome{Status: migration.UserSynced, At: later, NextDue: later.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	users, _ := s.Users(ctx, "B", "")
	for _, u := range users {
		switch u.ID {
		case c4.User.ID, c5.User.ID:
			if u.Status != migration.UserStopping {
				t.Errorf("%s: leased user %s, want Stopping", u.EmailAddress, u.Status)
			}
		default:
			if u.Status != migration.UserStopped {
				t.Errorf("%s: %s, want Stopped", u.EmailAddress, u.Status)
			}
		}
	}
	// Graceful shutdown releases every lease of an owner.
	if err := s.ReleaseAll(ctx, "w3"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteBatch(ctx, "B"); err == nil {
		t.Error("a batch with a leased user (w1) was deleted")
	}
	s.ReleaseAll(ctx, "w1")
	if err := s.DeleteBatch(ctx, "B"); err != nil {
		t.Errorf("delete: %v", err)
	}
	if err := s.DeleteEndpoint(ctx, "src"); err != nil {
		t.Errorf("delete endpoint no longer used: %v", err)
	}
}
