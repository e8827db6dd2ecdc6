package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/imapconn"
	"github.com/imapmigrate/imapmigrate/internal/migration"
	"github.com/imapmigrate/imapmigrate/internal/sensitive"
	"github.com/imapmigrate/imapmigrate/internal/store"
	"github.com/imapmigrate/imapmigrate/internal/store/sqldb"
	"github.com/imapmigrate/imapmigrate/internal/syncer"
)

// Endpoints: every field round-trips; create refuses a second of a name
// (ErrExists), update and delete an unknown one (ErrNotFound), delete one
// a batch uses as source or target (ErrInUse).
func testEndpointCRUD(t *testing.T, dsn string) {
	ctx := context.Background()
	s := openStore(t, dsn)
	e := &migration.Endpoint{Name: "tgt", Server: "mail.example", Port: 143, Security: imapconn.SecurityStartTLS, Auth: imapconn.AuthPlain,
		MasterSeparator: "%", CAFile: "/etc/ca.pem", InsecureSkipVerify: true, MaxConcurrentMigrations: 7, MaxConcurrentIncrementalSyncs: 3,
		MailboxAccess: migration.AccessXOAUTH2, AdminUser: "admin", AdminPassword: "sealed-admin", TokenCommand: "get-token --json",
		CreatedAt: baseTime()}
	if err := s.PutEndpoint(ctx, e, true); err != nil {
		t.Fatal(err)
	}
	got, err := s.Endpoint(ctx, "tgt")
	if err != nil {
		t.Fatal(err)
	}
	if !sameEndpoint(*got, *e) {
		t.Errorf("endpoint = %+v, want %+v", *got, *e)
	}
	if err := s.PutEndpoint(ctx, endpoint("tgt", 1, 1), true); !errors.Is(err, migration.ErrExists) {
		t.Errorf("second create: %v, want ErrExists", err)
	}
	if got, _ := s.Endpoint(ctx, "tgt"); got == nil || got.Server != "mail.example" {
		t.Errorf("a refused create changed the endpoint: %+v", got)
	}
	// Update changes everything but the name and creation time.
	upd := endpoint("tgt", 11, 12)
	upd.CreatedAt = baseTime().Add(time.Hour)
	upd.AdminPassword = ""
	if err := s.PutEndpoint(ctx, upd, false); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Endpoint(ctx, "tgt")
	want := *upd
	want.CreatedAt = e.CreatedAt
	if !sameEndpoint(*got, want) {
		t.Errorf("updated endpoint = %+v, want %+v", *got, want)
	}
	if err := s.PutEndpoint(ctx, endpoint("nope", 1, 1), false); !errors.Is(err, migration.ErrNotFound) {
		t.Errorf("update of an unknown endpoint: %v, want ErrNotFound", err)
	}
	if _, err := s.Endpoint(ctx, "nope"); !errors.Is(err, migration.ErrNotFound) {
		t.Errorf("unknown endpoint: %v, want ErrNotFound", err)
	}
	if err := s.DeleteEndpoint(ctx, "nope"); !errors.Is(err, migration.ErrNotFound) {
		t.Errorf("delete of an unknown endpoint: %v, want ErrNotFound", err)
	}
	mustPutEndpoint(t, s, "src", 1, 1)
	mustPutEndpoint(t, s, "alpha", 1, 1)
	list, err := s.Endpoints(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range list {
		names = append(names, e.Name)
	}
	if !slices.Equal(names, []string{"alpha", "src", "tgt"}) {
		t.Errorf("endpoints %v, want by name", names)
	}
	mustCreateBatch(t, s, "B", "src", "tgt", "a@x.example")
	for _, name := range []string{"src", "tgt"} {
		if err := s.DeleteEndpoint(ctx, name); !errors.Is(err, migration.ErrInUse) {
			t.Errorf("delete of %s, used by a batch: %v, want ErrInUse", name, err)
		}
	}
	if err := s.DeleteEndpoint(ctx, "alpha"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Endpoint(ctx, "alpha"); !errors.Is(err, migration.ErrNotFound) {
		t.Errorf("deleted endpoint: %v", err)
	}
	if err := s.DeleteBatch(ctx, "B"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteEndpoint(ctx, "src"); err != nil {
		t.Errorf("delete of an endpoint no batch uses any more: %v", err)
	}
}

func sameEndpoint(a, b migration.Endpoint) bool {
	ta, tb := a.CreatedAt, b.CreatedAt
	a.CreatedAt, b.CreatedAt = time.Time{}, time.Time{}
	return a == b && ta.Equal(tb)
}

// CreateBatch: every setting round-trips; an address already in another
// batch that is not completed is a *ConflictError naming that batch
// (case-insensitive), and nothing is created; once that batch's user is
// Completed the address may be used again; a name is used once
// (ErrExists).
func testCreateBatch(t *testing.T, dsn string) {
	ctx := context.Background()
	s := openStore(t, dsn)
	mustPutEndpoint(t, s, "src", 10, 10)
	mustPutEndpoint(t, s, "tgt", 10, 10)
	now := baseTime()
	b := &migration.Batch{Name: "A", SourceEndpoint: "src", TargetEndpoint: "tgt", Intent: migration.IntentCreated,
		ExcludeFolders: []string{"Junk", "Trash/Old"}, IncrementalInterval: migration.TimeSpan(6 * time.Hour), MaxMessageSize: 35 << 20,
		ReceivedAfter: now.Add(-30 * 24 * time.Hour), CreatedAt: now}
	us := users("one@x.example", "Two@X.example")
	us[0].UserRoot, us[0].TargetUserName, us[0].TargetPassword = "root", "one-target", "sealed-target"
	if err := s.CreateBatch(ctx, b, us); err != nil {
		t.Fatal(err)
	}
	got, statuses, err := s.Batch(ctx, "A")
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "A" || got.SourceEndpoint != "src" || got.TargetEndpoint != "tgt" || got.Intent != migration.IntentCreated ||
		!slices.Equal(got.ExcludeFolders, b.ExcludeFolders) || got.IncrementalInterval != b.IncrementalInterval ||
		got.MaxMessageSize != b.MaxMessageSize || !got.ReceivedAfter.Equal(b.ReceivedAfter) || !got.CreatedAt.Equal(now) ||
		!got.StartedAt.IsZero() || !got.CompletedAt.IsZero() || got.Error != "" {
		t.Errorf("batch = %+v", got)
	}
	if !slices.Equal(statuses, []migration.UserStatus{migration.UserQueued, migration.UserQueued}) {
		t.Errorf("statuses %v, want two Queued", statuses)
	}
	u := mustUser(t, s, "ONE@x.example")
	if u.Batch != "A" || u.EmailAddress != "one@x.example" || u.UserName != "one" || u.Password != "sealed:one@x.example" ||
		u.UserRoot != "root" || u.TargetUserName != "one-target" || u.TargetPassword != "sealed-target" ||
		u.Status != migration.UserQueued || !u.NextSync.IsZero() || u.Pass != nil || u.Attempts != 0 {
		t.Errorf("user = %+v", u)
	}
	if _, _, err := s.Batch(ctx, "nope"); !errors.Is(err, migration.ErrNotFound) {
		t.Errorf("unknown batch: %v, want ErrNotFound", err)
	}

	// Conflicts name the other batch; nothing of the new batch is kept.
	err = s.CreateBatch(ctx, newBatch("B", "src", "tgt"), users("new@x.example", "two@x.EXAMPLE"))
	var ce *migration.ConflictError
	if !errors.As(err, &ce) || !slices.Equal(ce.Emails, []string{"Two@X.example"}) || !slices.Equal(ce.Batches, []string{"A"}) {
		t.Fatalf("conflict: %v %+v", err, ce)
	}
	if _, _, err := s.Batch(ctx, "B"); !errors.Is(err, migration.ErrNotFound) {
		t.Errorf("a refused batch exists: %v", err)
	}
	if _, err := s.UserByEmail(ctx, "new@x.example"); !errors.Is(err, migration.ErrNotFound) {
		t.Errorf("a refused batch's user exists: %v", err)
	}
	// The same address twice in one batch is a conflict too.
	err = s.CreateBatch(ctx, newBatch("B", "src", "tgt"), users("dup@x.example", "DUP@x.example"))
	if !errors.As(err, &ce) {
		t.Errorf("an address twice in one batch: %v, want a *ConflictError", err)
	}
	if _, _, err := s.Batch(ctx, "B"); !errors.Is(err, migration.ErrNotFound) {
		t.Errorf("a refused batch exists: %v", err)
	}
	// A name is used once.
	if err := s.CreateBatch(ctx, newBatch("A", "src", "tgt"), users("other@x.example")); !errors.Is(err, migration.ErrExists) {
		t.Errorf("second batch A: %v, want ErrExists", err)
	}
	if _, err := s.UserByEmail(ctx, "other@x.example"); !errors.Is(err, migration.ErrNotFound) {
		t.Errorf("a refused batch's user exists: %v", err)
	}
	// An unknown endpoint is refused.
	if err := s.CreateBatch(ctx, newBatch("C", "src", "nope"), users("c@x.example")); err == nil {
		t.Error("a batch to an unknown endpoint was created")
	}

	// Once two@ is Completed in A, it may migrate again in B.
	two := mustUser(t, s, "two@x.example")
	rawDB(t, s).batch(func(exec func(string, ...any)) {
		setStanding(exec, two.ID, migration.Standing{Status: migration.UserCompleted, Synced: true}, noLease, now)
	})
	if err := s.CreateBatch(ctx, newBatch("B", "src", "tgt"), users("two@x.example")); err != nil {
		t.Fatalf("an address completed in another batch: %v", err)
	}
	if u := mustUser(t, s, "two@x.example"); u.Batch != "B" {
		t.Errorf("UserByEmail of an address in two batches: %s's, want the newest (B)", u.Batch)
	}
	if err := s.CreateBatch(ctx, newBatch("C", "src", "tgt"), users("TWO@x.example")); !errors.As(err, &ce) || !slices.Equal(ce.Batches, []string{"B"}) {
		t.Errorf("conflict with B: %v %+v", err, ce)
	}
	// Batches are listed by creation time, then name.
	list, err := s.Batches(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, b := range list {
		names = append(names, b.Name)
	}
	if !slices.Equal(names, []string{"A", "B"}) {
		t.Errorf("batches %v", names)
	}

	// Settings change.
	upd := *b
	upd.ExcludeFolders, upd.IncrementalInterval, upd.MaxMessageSize, upd.ReceivedAfter, upd.Error = nil, migration.TimeSpan(30*time.Minute), 0, time.Time{}, "broken"
	if err := s.UpdateBatchSettings(ctx, &upd); err != nil {
		t.Fatal(err)
	}
	got, _, _ = s.Batch(ctx, "A")
	if len(got.ExcludeFolders) != 0 || got.IncrementalInterval != migration.TimeSpan(30*time.Minute) || got.MaxMessageSize != 0 || !got.ReceivedAfter.IsZero() ||
		got.Error != "broken" || got.Intent != migration.IntentCreated || !got.CreatedAt.Equal(now) {
		t.Errorf("updated batch = %+v", got)
	}
}

// AddUsers: the new users start as migration.Command decides for a new
// user of the batch (due at once when it runs; Queued with nothing due
// when it was never started); conflicts as CreateBatch; ErrNotFound.
func testAddUsers(t *testing.T, dsn string) {
	ctx := context.Background()
	s := openStore(t, dsn)
	mustPutEndpoint(t, s, "src", 10, 10)
	mustPutEndpoint(t, s, "tgt", 10, 10)
	now := baseTime()
	if err := s.AddUsers(ctx, "nope", users("a@x.example"), now); !errors.Is(err, migration.ErrNotFound) {
		t.Errorf("AddUsers to an unknown batch: %v, want ErrNotFound", err)
	}
	for _, intent := range intents {
		name := "B-" + string(intent)
		domain := string(intent) + ".example"
		mustCreateBatch(t, s, name, "src", "tgt", "first@"+domain)
		if intent != migration.IntentCreated {
			mustSetIntent(t, s, name, intent, now)
		}
		at := now.Add(time.Minute)
		if err := s.AddUsers(ctx, name, users("new@"+domain, "new2@"+domain), at); err != nil {
			t.Fatalf("%s: %v", intent, err)
		}
		want := migration.Command(intent, migration.Standing{Status: migration.UserQueued}, at)
		if intent == migration.IntentCreated {
			want = migration.Standing{Status: migration.UserQueued}
		}
		for _, e := range []string{"new@" + domain, "new2@" + domain} {
			u := mustUser(t, s, e)
			if got := standing(*u, at); u.Batch != name || !sameStanding(got, want) {
				t.Errorf("%s: added user %s, want %s", intent, fmtStanding(got), fmtStanding(want))
			}
		}
	}
	if got := mustUser(t, s, "new@running.example"); got.NextSync.IsZero() {
		t.Error("a user added to a running batch is not due")
	}
	// Conflicts: with another batch, and within the batch; nothing is added.
	var ce *migration.ConflictError
	err := s.AddUsers(ctx, "B-created", users("fresh@x.example", "NEW@running.example"), now)
	if !errors.As(err, &ce) || !slices.Equal(ce.Emails, []string{"new@running.example"}) || !slices.Equal(ce.Batches, []string{"B-running"}) {
		t.Errorf("conflict: %v %+v", err, ce)
	}
	if _, err := s.UserByEmail(ctx, "fresh@x.example"); !errors.Is(err, migration.ErrNotFound) {
		t.Errorf("a refused AddUsers added a user: %v", err)
	}
	if err := s.AddUsers(ctx, "B-created", users("first@created.example"), now); !errors.As(err, &ce) {
		t.Errorf("an address already in the batch: %v, want a *ConflictError", err)
	}
	if err := s.AddUsers(ctx, "B-created", users("x@x.example", "X@x.example"), now); !errors.As(err, &ce) {
		t.Errorf("an address twice: %v, want a *ConflictError", err)
	}
	// A batch being removed does not hold its addresses.
	if err := s.AddUsers(ctx, "B-created", users("new@removing.example"), now); err != nil {
		t.Errorf("an address of a batch being removed: %v", err)
	}
}

// DeleteBatch: ErrInUse while a user is leased; it removes the batch, its
// users, their sync state and sealed passwords; ErrNotFound after.
func testDeleteBatch(t *testing.T, dsn string) {
	ctx := context.Background()
	s := openStore(t, dsn)
	mustPutEndpoint(t, s, "src", 10, 10)
	mustPutEndpoint(t, s, "tgt", 10, 10)
	now := baseTime()
	mustCreateBatch(t, s, "A", "src", "tgt", emails("a", "x.example", 3)...)
	mustCreateBatch(t, s, "K", "src", "tgt", "keep@x.example")
	keep := mustUser(t, s, "keep@x.example")
	writeState(t, s, keep.ID)
	ids := map[int64]bool{}
	for _, u := range usersByEmail(t, s, "A") {
		ids[u.ID] = true
		writeState(t, s, u.ID)
	}
	mustSetIntent(t, s, "A", migration.IntentRunning, now)
	c := mustClaim(t, s, "w", "A", now, time.Hour)
	if err := s.DeleteBatch(ctx, "A"); !errors.Is(err, migration.ErrInUse) {
		t.Fatalf("delete with a leased user: %v, want ErrInUse", err)
	}
	if len(usersByEmail(t, s, "A")) != 3 {
		t.Fatal("a refused delete removed users")
	}
	if err := s.Finish(ctx, c.User.ID, "w", migration.Outcome{Status: migration.UserSynced, At: now, FirstSync: true}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteBatch(ctx, "A"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Batch(ctx, "A"); !errors.Is(err, migration.ErrNotFound) {
		t.Errorf("deleted batch: %v", err)
	}
	if us, _ := s.Users(ctx, "A", ""); len(us) != 0 {
		t.Errorf("deleted batch's users: %d", len(us))
	}
	for id := range ids {
		if n := stateRows(t, s, id); n != 0 {
			t.Errorf("user %d's sync state survived (%d folders)", id, n)
		}
		m, err := s.State(ctx, sqldb.UserStateKey(id)) // "user:<id>"
		if err != nil {
			t.Fatal(err)
		}
		if f, err := m.Folder(ctx, "INBOX"); err != nil || f != nil {
			t.Errorf("state %s survived: %+v %v", sqldb.UserStateKey(id), f, err)
		}
	}
	if n := stateRows(t, s, keep.ID); n != 1 {
		t.Errorf("another batch's user's sync state: %d folders, want 1", n)
	}
	if err := s.DeleteBatch(ctx, "A"); !errors.Is(err, migration.ErrNotFound) {
		t.Errorf("second delete: %v, want ErrNotFound", err)
	}
	// With K deleted too, no sealed password is left.
	if err := s.DeleteBatch(ctx, "K"); err != nil {
		t.Fatal(err)
	}
	if _, sealed, err := s.SecretKeyID(ctx); err != nil || sealed {
		t.Errorf("sealed passwords after every batch was deleted: %v %v", sealed, err)
	}
	// An expired lease does not hold a batch.
	mustCreateBatch(t, s, "E", "src", "tgt", "e@x.example")
	mustSetIntent(t, s, "E", migration.IntentRunning, now.Add(-3*time.Hour))
	mustClaim(t, s, "w", "E", now.Add(-2*time.Hour), time.Hour)
	if err := s.DeleteBatch(ctx, "E"); err != nil {
		t.Errorf("delete with an expired lease: %v", err)
	}
}

// writeState gives a migration user a folder in its sync state.
func writeState(t *testing.T, s store.Store, userID int64) {
	t.Helper()
	ctx := context.Background()
	m, err := s.UserState(ctx, userID)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.SaveFolder(ctx, &syncer.FolderState{Source: "INBOX", Target: "INBOX", SourceUIDValidity: 1, LastUID: 9}); err != nil {
		t.Fatal(err)
	}
}

// stateRows counts the folders of a user's sync state.
func stateRows(t *testing.T, s store.Store, userID int64) int {
	t.Helper()
	stats, err := s.FolderStats(context.Background(), userID)
	if err != nil {
		t.Fatal(err)
	}
	return len(stats)
}

// RemoveUser deletes one user with its sync state and passwords, leased
// or not (the worker loses its lease); ErrNotFound for an unknown id.
func testRemoveUser(t *testing.T, dsn string) {
	ctx := context.Background()
	s := openStore(t, dsn)
	mustPutEndpoint(t, s, "src", 10, 10)
	mustPutEndpoint(t, s, "tgt", 10, 10)
	now := baseTime()
	mustCreateBatch(t, s, "A", "src", "tgt", "a@x.example", "b@x.example")
	a, b := mustUser(t, s, "a@x.example"), mustUser(t, s, "b@x.example")
	writeState(t, s, a.ID)
	writeState(t, s, b.ID)
	mustSetIntent(t, s, "A", migration.IntentRunning, now)
	c := mustClaim(t, s, "w", "A", now, time.Hour)
	if err := s.RemoveUser(ctx, c.User.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UserByEmail(ctx, c.User.EmailAddress); !errors.Is(err, migration.ErrNotFound) {
		t.Errorf("removed user: %v", err)
	}
	if n := stateRows(t, s, c.User.ID); n != 0 {
		t.Errorf("removed user's state: %d folders", n)
	}
	if _, err := s.Heartbeat(ctx, c.User.ID, "w", now.Add(time.Hour), migration.Progress{}); !errors.Is(err, migration.ErrNotFound) {
		t.Errorf("heartbeat of a removed user: %v, want ErrNotFound", err)
	}
	if err := s.Finish(ctx, c.User.ID, "w", migration.Outcome{Status: migration.UserSynced, At: now}); err == nil {
		t.Error("Finish of a removed user succeeded")
	}
	other := b
	if c.User.ID == b.ID {
		other = a
	}
	if n := stateRows(t, s, other.ID); n != 1 {
		t.Errorf("the other user's state: %d folders", n)
	}
	if _, statuses, _ := s.Batch(ctx, "A"); len(statuses) != 1 {
		t.Errorf("batch after RemoveUser: %v", statuses)
	}
	if err := s.RemoveUser(ctx, c.User.ID); !errors.Is(err, migration.ErrNotFound) {
		t.Errorf("second RemoveUser: %v, want ErrNotFound", err)
	}
	if err := s.RemoveUser(ctx, other.ID); err != nil {
		t.Fatal(err)
	}
	if _, sealed, _ := s.SecretKeyID(ctx); sealed {
		t.Error("sealed passwords left after every user was removed")
	}
}

// UpdateUser replaces the passwords given (nil: kept); Retry applies the
// batch's command again: a Failed user of a running batch is due at once.
func testUpdateUser(t *testing.T, dsn string) {
	ctx := context.Background()
	s := openStore(t, dsn)
	mustPutEndpoint(t, s, "src", 10, 10)
	mustPutEndpoint(t, s, "tgt", 10, 10)
	now := baseTime()
	mustCreateBatch(t, s, "A", "src", "tgt", "a@x.example", "b@x.example", "c@x.example")
	mustCreateBatch(t, s, "S", "src", "tgt", "s@x.example")
	a := mustUser(t, s, "a@x.example")
	pw, tpw := sensitive.String("new-sealed"), sensitive.String("new-target")
	if err := s.UpdateUser(ctx, a.ID, migration.UserUpdate{Password: &pw, Now: now}); err != nil {
		t.Fatal(err)
	}
	if u := mustUser(t, s, "a@x.example"); u.Password != pw || u.TargetPassword != "" || u.Status != migration.UserQueued {
		t.Errorf("after a new password: %q %q %s", u.Password, u.TargetPassword, u.Status)
	}
	if err := s.UpdateUser(ctx, a.ID, migration.UserUpdate{TargetPassword: &tpw, Now: now}); err != nil {
		t.Fatal(err)
	}
	if u := mustUser(t, s, "a@x.example"); u.Password != pw || u.TargetPassword != tpw {
		t.Errorf("after a new target password: %q %q", u.Password, u.TargetPassword)
	}
	if err := s.UpdateUser(ctx, 1<<40, migration.UserUpdate{Password: &pw, Now: now}); !errors.Is(err, migration.ErrNotFound) {
		t.Errorf("unknown user: %v, want ErrNotFound", err)
	}

	// Retry in a running batch: failed users are due again.
	mustSetIntent(t, s, "A", migration.IntentRunning, now)
	b, c := mustUser(t, s, "b@x.example"), mustUser(t, s, "c@x.example")
	leased := mustClaim(t, s, "w", "A", now, time.Hour) // a
	rawDB(t, s).batch(func(exec func(string, ...any)) {
		setStanding(exec, b.ID, migration.Standing{Status: migration.UserFailed, Attempts: 3, Error: "auth failed"}, noLease, now)
		setStanding(exec, c.ID, migration.Standing{Status: migration.UserIncrementalFailed, Attempts: 2, Error: "timeout", Synced: true}, noLease, now)
	})
	at := now.Add(time.Minute)
	for _, u := range []*migration.User{b, c, &leased.User} {
		old := standing(*mustUser(t, s, u.EmailAddress), at)
		if err := s.UpdateUser(ctx, u.ID, migration.UserUpdate{Retry: true, Now: at}); err != nil {
			t.Fatal(err)
		}
		got, want := standing(*mustUser(t, s, u.EmailAddress), at), migration.Command(migration.IntentRunning, old, at)
		if !sameStanding(got, want) {
			t.Errorf("retry %s: %s → %s, want %s", u.EmailAddress, fmtStanding(old), fmtStanding(got), fmtStanding(want))
		}
	}
	if u := mustUser(t, s, "b@x.example"); u.Status != migration.UserQueued || !u.NextSync.Equal(at) || u.Attempts != 0 || u.Error != "" {
		t.Errorf("a retried Failed user: %s", fmtStanding(standing(*u, at)))
	}
	if c2, _ := s.Claim(ctx, "w2", "A", at, time.Hour); c2 == nil || c2.User.ID != b.ID && c2.User.ID != c.ID {
		t.Errorf("a retried user is not claimed: %+v", c2)
	}
	// Retry in a stopped batch changes nothing.
	sUser := mustUser(t, s, "s@x.example")
	mustSetIntent(t, s, "S", migration.IntentStopped, now)
	rawDB(t, s).batch(func(exec func(string, ...any)) {
		setStanding(exec, sUser.ID, migration.Standing{Status: migration.UserFailed, Attempts: 3, Error: "x"}, noLease, now)
	})
	if err := s.UpdateUser(ctx, sUser.ID, migration.UserUpdate{Retry: true, Now: at}); err != nil {
		t.Fatal(err)
	}
	if u := mustUser(t, s, "s@x.example"); u.Status != migration.UserFailed || !u.NextSync.IsZero() || u.Attempts != 3 {
		t.Errorf("retry in a stopped batch: %s", fmtStanding(standing(*u, at)))
	}
}

// FinishRemovals deletes the batches being removed that no live lease
// holds, and nothing else.
func testFinishRemovals(t *testing.T, dsn string) {
	ctx := context.Background()
	s := openStore(t, dsn)
	mustPutEndpoint(t, s, "src", 10, 10)
	mustPutEndpoint(t, s, "tgt", 10, 10)
	now := baseTime()
	mustCreateBatch(t, s, "Gone", "src", "tgt", "g@x.example")
	mustCreateBatch(t, s, "Held", "src", "tgt", "h@x.example")
	mustCreateBatch(t, s, "Live", "src", "tgt", "l@x.example")
	mustSetIntent(t, s, "Held", migration.IntentRunning, now)
	c := mustClaim(t, s, "w", "Held", now, time.Hour)
	mustSetIntent(t, s, "Gone", migration.IntentRemoving, now)
	mustSetIntent(t, s, "Held", migration.IntentRemoving, now)
	if err := s.FinishRemovals(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Batch(ctx, "Gone"); !errors.Is(err, migration.ErrNotFound) {
		t.Errorf("a removing batch without leases survived: %v", err)
	}
	if _, _, err := s.Batch(ctx, "Held"); err != nil {
		t.Errorf("a removing batch with a leased user: %v", err)
	}
	if _, _, err := s.Batch(ctx, "Live"); err != nil {
		t.Errorf("a batch not being removed: %v", err)
	}
	// The pass ends (Removing); the next round removes the batch.
	if err := s.Finish(ctx, c.User.ID, "w", migration.Outcome{Status: migration.UserSynced, At: now}); err != nil {
		t.Fatal(err)
	}
	if u := mustUser(t, s, "h@x.example"); u.Status != migration.UserRemoving {
		t.Errorf("a pass that ended after remove: %s", u.Status)
	}
	if err := s.FinishRemovals(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Batch(ctx, "Held"); !errors.Is(err, migration.ErrNotFound) {
		t.Errorf("after its pass ended: %v", err)
	}
	if bs, _ := s.Batches(ctx); len(bs) != 1 || bs[0].Name != "Live" {
		t.Errorf("batches left: %+v", bs)
	}
}

// Batches created at once from separate connections cannot both take an
// address: exactly one wins, the others get a *ConflictError naming it.
func testCreateBatchConcurrently(t *testing.T, dsn string) {
	const n = 6
	ctx := context.Background()
	s := openStore(t, dsn)
	mustPutEndpoint(t, s, "src", 10, 10)
	mustPutEndpoint(t, s, "tgt", 10, 10)
	stores := make([]store.Store, n)
	for i := range stores {
		stores[i] = openStore(t, dsn)
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, ws := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("B%d", i)
			if i%2 == 0 {
				errs[i] = ws.CreateBatch(ctx, newBatch(name, "src", "tgt"), users(fmt.Sprintf("own%d@x.example", i), "shared@x.example"))
				return
			}
			// The odd ones create a batch, then add the address to it.
			if errs[i] = ws.CreateBatch(ctx, newBatch(name, "src", "tgt"), users(fmt.Sprintf("own%d@x.example", i))); errs[i] == nil {
				errs[i] = ws.AddUsers(ctx, name, users("SHARED@x.example"), baseTime())
			}
		}()
	}
	wg.Wait()
	owner := mustUser(t, s, "shared@x.example").Batch
	wins := 0
	for i, err := range errs {
		var ce *migration.ConflictError
		switch {
		case err == nil:
			wins++
			if owner != fmt.Sprintf("B%d", i) {
				t.Errorf("B%d succeeded, but the address is in %s", i, owner)
			}
		case errors.As(err, &ce):
			if !slices.Equal(ce.Batches, []string{owner}) {
				t.Errorf("B%d: conflict names %v, want %s", i, ce.Batches, owner)
			}
		default:
			t.Errorf("B%d: %v", i, err)
		}
	}
	if wins != 1 {
		t.Errorf("%d batches took the address", wins)
	}
	// A refused CreateBatch keeps nothing; a refused AddUsers leaves its
	// batch as it was: the odd batches' own users, and the winner's.
	want := n / 2
	if owner := mustUser(t, s, "shared@x.example").Batch; owner[1]%2 == 0 {
		want += 2
	} else {
		want++
	}
	if us, _ := s.Users(ctx, "", ""); len(us) != want {
		t.Errorf("%d users, want %d", len(us), want)
	}
}

// Remove asked again while another process deletes the batch (the
// scheduler's FinishRemovals): both succeed or find the batch gone; they
// never deadlock.
func testRemoveWhileDeleting(t *testing.T, dsn string) {
	const rounds, perBatch = 12, 80
	ctx := context.Background()
	s, other := openStore(t, dsn), openStore(t, dsn)
	mustPutEndpoint(t, s, "src", 10, 10)
	mustPutEndpoint(t, s, "tgt", 10, 10)
	now := baseTime()
	for i := range rounds {
		name := fmt.Sprintf("B%d", i)
		mustCreateBatch(t, s, name, "src", "tgt", emails("u", name+".example", perBatch)...)
		mustSetIntent(t, s, name, migration.IntentRemoving, now)
	}
	for i := range rounds {
		name := fmt.Sprintf("B%d", i)
		var wg sync.WaitGroup
		var setErr, delErr error
		wg.Add(2)
		go func() {
			defer wg.Done()
			setErr = s.SetIntent(ctx, name, migration.Transition{Intent: migration.IntentRemoving, Now: now})
		}()
		go func() {
			defer wg.Done()
			delErr = other.DeleteBatch(ctx, name)
		}()
		wg.Wait()
		if setErr != nil && !errors.Is(setErr, migration.ErrNotFound) {
			t.Errorf("%s: remove while deleting: %v", name, setErr)
		}
		if delErr != nil {
			t.Errorf("%s: delete while removing: %v", name, delErr)
		}
	}
	if bs, _ := s.Batches(ctx); len(bs) != 0 {
		t.Errorf("%d batches left", len(bs))
	}
}
