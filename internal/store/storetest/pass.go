package storetest

import (
	"context"
	"errors"
	"maps"
	"testing"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/migration"
	"github.com/imapmigrate/imapmigrate/internal/store"
)

// passStore has endpoints src and tgt (limits 10/10) and batch B of the
// given addresses, running since now.
func passStore(t *testing.T, dsn string, now time.Time, addrs ...string) store.Store {
	t.Helper()
	s := openStore(t, dsn)
	mustPutEndpoint(t, s, "src", 10, 10)
	mustPutEndpoint(t, s, "tgt", 10, 10)
	mustCreateBatch(t, s, "B", "src", "tgt", addrs...)
	mustSetIntent(t, s, "B", migration.IntentRunning, now)
	return s
}

// Heartbeat extends the lease, records the pass's progress for every
// reader (User.Pass), returns the batch's intent, and fails with
// ErrNotFound once the lease is lost; Finish clears the progress.
func testHeartbeat(t *testing.T, dsn string) {
	ctx := context.Background()
	now := baseTime()
	s := passStore(t, dsn, now, "a@x.example", "b@x.example")
	ttl := time.Minute
	c := mustClaim(t, s, "w1", "B", now, ttl)
	if c.User.Pass == nil || c.User.Pass.Items != 0 {
		t.Fatalf("claimed pass: %+v", c.User.Pass)
	}
	at := now.Add(30 * time.Second)
	expiry := at.Add(ttl)
	p := migration.Progress{Items: 12, Bytes: 3456, ItemsTotal: 40, Folder: "Archive/2023", At: at}
	intent, err := s.Heartbeat(ctx, c.User.ID, "w1", expiry, p)
	if err != nil || intent != migration.IntentRunning {
		t.Fatalf("heartbeat: %q, %v", intent, err)
	}
	want := migration.PassProgress{Kind: migration.PassInitial, Worker: "w1", Started: now, Items: 12, Bytes: 3456, ItemsTotal: 40,
		Folder: "Archive/2023", At: at, LeaseExpiry: expiry}
	check := func(u *migration.User, where string) {
		t.Helper()
		if u.Pass == nil {
			t.Fatalf("%s: no pass", where)
		}
		got := *u.Pass
		if got.Kind != want.Kind || got.Worker != want.Worker || !got.Started.Equal(want.Started) || got.Items != want.Items ||
			got.Bytes != want.Bytes || got.ItemsTotal != want.ItemsTotal || got.Folder != want.Folder || !got.At.Equal(want.At) ||
			!got.LeaseExpiry.Equal(want.LeaseExpiry) {
			t.Errorf("%s: pass %+v, want %+v", where, got, want)
		}
	}
	check(mustUser(t, s, c.User.EmailAddress), "UserByEmail")
	us, _ := s.Users(ctx, "B", migration.UserSyncing)
	if len(us) != 1 {
		t.Fatalf("Users(Syncing) = %d users", len(us))
	}
	check(&us[0], "Users")
	if other := mustUser(t, s, "b@x.example"); other.Pass != nil {
		t.Errorf("an unclaimed user shows a pass: %+v", other.Pass)
	}

	// The extended lease outlives the first one: nobody else gets the user.
	if c2, _ := s.Claim(ctx, "w2", "B", now.Add(ttl+time.Second), ttl); c2 == nil || c2.User.ID == c.User.ID {
		t.Fatalf("claim after the first expiry: %+v", c2)
	}
	// The worker learns of stop at its next heartbeat.
	mustSetIntent(t, s, "B", migration.IntentStopped, at)
	if intent, err := s.Heartbeat(ctx, c.User.ID, "w1", expiry, p); err != nil || intent != migration.IntentStopped {
		t.Errorf("heartbeat after stop: %q, %v", intent, err)
	}
	if err := s.Finish(ctx, c.User.ID, "w1", migration.Outcome{Status: migration.UserQueued, At: at, NextDue: at}); err != nil {
		t.Fatal(err)
	}
	if u := mustUser(t, s, c.User.EmailAddress); u.Pass != nil {
		t.Errorf("after Finish: pass %+v", u.Pass)
	}
	if _, err := s.Heartbeat(ctx, c.User.ID, "w1", expiry, p); !errors.Is(err, migration.ErrNotFound) {
		t.Errorf("heartbeat after Finish: %v, want ErrNotFound", err)
	}

	// The lease lost to another worker after it expired.
	mustSetIntent(t, s, "B", migration.IntentRunning, at)
	c3 := mustClaim(t, s, "w3", "B", at, ttl)
	c4 := mustClaim(t, s, "w4", "B", at.Add(ttl+time.Second), ttl) // w2 still holds b
	if c4.User.ID != c3.User.ID {
		t.Fatalf("w3's expired lease was not reclaimed: %s", c4.User.EmailAddress)
	}
	if _, err := s.Heartbeat(ctx, c3.User.ID, "w3", at.Add(2*ttl), p); !errors.Is(err, migration.ErrNotFound) {
		t.Errorf("heartbeat of a lost lease: %v, want ErrNotFound", err)
	}
	// A removed user: ErrNotFound.
	if err := s.RemoveUser(ctx, c4.User.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Heartbeat(ctx, c4.User.ID, "w4", at.Add(2*ttl), p); !errors.Is(err, migration.ErrNotFound) {
		t.Errorf("heartbeat of a removed user: %v, want ErrNotFound", err)
	}
}

// Finish records what migration.Settle decides given the batch's intent
// now, with the pass's counters, and releases the lease; a worker that
// lost its lease writes nothing.
func testFinishSettles(t *testing.T, dsn string) {
	ctx := context.Background()
	now := baseTime()
	s := passStore(t, dsn, now, emails("u", "x.example", 6)...)
	ttl := time.Hour
	at := now.Add(10 * time.Minute)
	skipped := map[string]int{"too_large": 2, "rejected": 1}
	synced := migration.Outcome{Status: migration.UserSynced, Copied: 17, Skipped: skipped, Bytes: 9000, Folders: 4, At: at,
		NextDue: at.Add(time.Hour), FirstSync: true}

	// Normal end: recorded as given.
	c := mustClaim(t, s, "w", "B", now, ttl)
	if err := s.Finish(ctx, c.User.ID, "w", synced); err != nil {
		t.Fatal(err)
	}
	u := mustUser(t, s, c.User.EmailAddress)
	if u.Status != migration.UserSynced || !u.NextSync.Equal(at.Add(time.Hour)) || u.ItemsSynced != 17 || u.ItemsSkipped != 3 ||
		!maps.Equal(u.SkippedBy, skipped) || u.BytesSynced != 9000 || u.Folders != 4 || !u.FirstSync.Equal(at) || !u.LastSync.Equal(at) ||
		u.Pass != nil || u.Error != "" || u.Attempts != 0 {
		t.Errorf("after a normal pass: %+v", u)
	}
	// A later pass keeps the first sync time and moves the last one.
	c = mustClaim(t, s, "w", "B", at.Add(2*time.Hour), ttl)
	if c.User.ID != u.ID {
		// Others were due first; finish them as failures and go on.
		for c.User.ID != u.ID {
			if err := s.Finish(ctx, c.User.ID, "w", migration.Outcome{Status: migration.UserFailed, Error: "boom", At: at, Attempts: 3}); err != nil {
				t.Fatal(err)
			}
			c = mustClaim(t, s, "w", "B", at.Add(2*time.Hour), ttl)
		}
	}
	if c.Kind != migration.PassIncremental {
		t.Fatalf("second pass of a synced user: %s", c.Kind)
	}
	later := at.Add(3 * time.Hour)
	if err := s.Finish(ctx, c.User.ID, "w", migration.Outcome{Status: migration.UserSynced, Copied: 1, At: later, NextDue: later.Add(time.Hour), FirstSync: true}); err != nil {
		t.Fatal(err)
	}
	u = mustUser(t, s, c.User.EmailAddress)
	if !u.FirstSync.Equal(at) || !u.LastSync.Equal(later) || u.ItemsSynced != 1 || u.ItemsSkipped != 0 || len(u.SkippedBy) != 0 {
		t.Errorf("after a second pass: first %v last %v items %d skipped %d %v", u.FirstSync, u.LastSync, u.ItemsSynced, u.ItemsSkipped, u.SkippedBy)
	}
	// The failures were recorded as given.
	for _, f := range usersByEmail(t, s, "B") {
		if f.Status == migration.UserFailed && (f.Error != "boom" || f.Attempts != 3 || !f.NextSync.IsZero() || !f.FirstSync.IsZero() || !f.LastSync.IsZero()) {
			t.Errorf("failed user: %+v", f)
		}
	}

	fresh := func(owner string) *migration.Claim {
		t.Helper()
		mustSetIntent(t, s, "B", migration.IntentRunning, at)
		return mustClaim(t, s, owner, "B", at, ttl)
	}
	// A lost lease: Finish fails and writes nothing.
	c = fresh("old")
	stolen := mustClaim(t, s, "new", "B", at.Add(ttl+time.Second), ttl)
	for stolen.User.ID != c.User.ID {
		stolen = mustClaim(t, s, "new", "B", at.Add(ttl+time.Second), ttl)
	}
	before := mustUser(t, s, c.User.EmailAddress)
	if err := s.Finish(ctx, c.User.ID, "old", synced); err == nil {
		t.Error("Finish by a worker that lost its lease succeeded")
	}
	after := mustUser(t, s, c.User.EmailAddress)
	if after.Status != before.Status || after.ItemsSynced != before.ItemsSynced || !after.NextSync.Equal(before.NextSync) ||
		after.Pass == nil || after.Pass.Worker != "new" || !after.LastSync.Equal(before.LastSync) {
		t.Errorf("a lost lease's Finish wrote: before %+v, after %+v", before, after)
	}
	// Each intent that can come during a pass, against a normal end
	// (removing last: it moves every user).
	for _, tc := range []struct {
		intent migration.Intent
		o      migration.Outcome
	}{
		{migration.IntentStopped, synced},
		{migration.IntentCompleting, synced},
		{migration.IntentCompleting, migration.Outcome{Status: migration.UserFailed, Error: "x", At: at, Attempts: 1}},
		{migration.IntentRemoving, synced},
	} {
		c := fresh("s-" + string(tc.intent))
		mustSetIntent(t, s, "B", tc.intent, at)
		if err := s.Finish(ctx, c.User.ID, c.User.Pass.Worker, tc.o); err != nil {
			t.Fatal(err)
		}
		want := migration.Settle(tc.intent, c.Kind, tc.o)
		u := mustUser(t, s, c.User.EmailAddress)
		if u.Status != want.Status || !u.NextSync.Equal(want.NextDue) || u.Error != want.Error || u.Attempts != want.Attempts || u.Pass != nil {
			t.Errorf("%s during a %s pass ending %s: %s due %v error %q attempts %d, want %s due %v error %q attempts %d",
				tc.intent, c.Kind, tc.o.Status, u.Status, u.NextSync, u.Error, u.Attempts, want.Status, want.NextDue, want.Error, want.Attempts)
		}
		switch tc.intent {
		case migration.IntentStopped:
			if u.Status != migration.UserStopped || !u.NextSync.IsZero() {
				t.Errorf("a pass that ended after stop: %s due %v, want Stopped", u.Status, u.NextSync)
			}
		case migration.IntentCompleting:
			if !u.NextSync.Equal(at) {
				t.Errorf("a non-final pass that ended after complete: due %v, want at once (%v)", u.NextSync, at)
			}
			// …and its next pass is the final one.
			if c2, _ := s.Claim(ctx, "f", "B", at, ttl); c2 == nil || c2.Kind != migration.PassFinal {
				t.Errorf("after complete: claim %+v, want a final pass", c2)
			} else {
				s.Finish(ctx, c2.User.ID, "f", migration.Outcome{Status: migration.UserCompleted, At: at, FirstSync: true})
			}
		}
	}

	if err := s.Finish(ctx, 1<<40, "new", synced); err == nil {
		t.Error("Finish of an unknown user succeeded")
	}
}

// ReleaseAll gives up every lease of one owner and no other: the users
// are due again at once, showing the status they had before the pass, or
// Stopped when the batch was stopped meanwhile.
func testReleaseAll(t *testing.T, dsn string) {
	ctx := context.Background()
	now := baseTime()
	s := passStore(t, dsn, now, emails("u", "x.example", 4)...)
	ttl := time.Hour
	a := mustClaim(t, s, "w1", "B", now, ttl)
	// b is synced: its next pass is incremental.
	b := mustClaim(t, s, "w1", "B", now, ttl)
	if err := s.Finish(ctx, b.User.ID, "w1", migration.Outcome{Status: migration.UserSynced, At: now, NextDue: now, FirstSync: true}); err != nil {
		t.Fatal(err)
	}
	b = mustClaim(t, s, "w1", "B", now, ttl)
	if b.Kind != migration.PassIncremental {
		t.Fatalf("second claim: %s (%s), want b's incremental pass", b.User.EmailAddress, b.Kind)
	}
	other := mustClaim(t, s, "w2", "B", now, ttl)
	at := now.Add(time.Minute)
	if err := s.ReleaseAll(ctx, "w1"); err != nil {
		t.Fatal(err)
	}
	ua, ub, uo := mustUser(t, s, a.User.EmailAddress), mustUser(t, s, b.User.EmailAddress), mustUser(t, s, other.User.EmailAddress)
	if ua.Status != migration.UserQueued || ua.Pass != nil || ua.NextSync.After(at) {
		t.Errorf("released initial pass: %s pass %+v due %v, want Queued, due at once", ua.Status, ua.Pass, ua.NextSync)
	}
	if ub.Status != migration.UserSynced || ub.Pass != nil || ub.NextSync.After(at) {
		t.Errorf("released incremental pass: %s pass %+v due %v, want Synced, due at once", ub.Status, ub.Pass, ub.NextSync)
	}
	if uo.Status != migration.UserSyncing || uo.Pass == nil || uo.Pass.Worker != "w2" {
		t.Errorf("another owner's lease: %s %+v", uo.Status, uo.Pass)
	}
	if _, err := s.Heartbeat(ctx, a.User.ID, "w1", at.Add(ttl), migration.Progress{}); !errors.Is(err, migration.ErrNotFound) {
		t.Errorf("heartbeat after ReleaseAll: %v, want ErrNotFound", err)
	}
	// Released users are claimed again at once.
	again := map[int64]bool{}
	for range 2 {
		c := mustClaim(t, s, "w3", "B", at, ttl)
		again[c.User.ID] = true
	}
	if !again[a.User.ID] || !again[b.User.ID] {
		t.Errorf("after ReleaseAll, claimed %v, want %d and %d", again, a.User.ID, b.User.ID)
	}
	// A pass released after a stop leaves its user Stopped, not Stopping.
	mustSetIntent(t, s, "B", migration.IntentStopped, at)
	if err := s.ReleaseAll(ctx, "w3"); err != nil {
		t.Fatal(err)
	}
	for _, id := range []int64{a.User.ID, b.User.ID} {
		for _, u := range usersByEmail(t, s, "B") {
			if u.ID == id && (u.Status != migration.UserStopped || !u.NextSync.IsZero() || u.Pass != nil) {
				t.Errorf("%s released after stop: %s due %v pass %+v, want Stopped, nothing due", u.EmailAddress, u.Status, u.NextSync, u.Pass)
			}
		}
	}
	if u := mustUser(t, s, other.User.EmailAddress); u.Status != migration.UserStopping || u.Pass == nil {
		t.Errorf("w2's user after stop: %s %+v, want Stopping, still leased", u.Status, u.Pass)
	}
	if err := s.ReleaseAll(ctx, "nobody"); err != nil {
		t.Errorf("ReleaseAll of an owner without leases: %v", err)
	}
}
