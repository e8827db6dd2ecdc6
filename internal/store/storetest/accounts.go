package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/auth"
	"github.com/imapmigrate/imapmigrate/internal/migration"
)

func init() {
	more = append(more, []struct {
		name string
		fn   func(t *testing.T, dsn string)
	}{
		{"AccountsAdmins", testAccountsAdmins},
		{"AccountsTokens", testAccountsTokens},
		{"AccountsSessions", testAccountsSessions},
		{"AccountsAudit", testAccountsAudit},
		{"AccountsService", testAccountsService},
	}...)
}

// Admins: created once per name, read back with their PHC string, listed
// by name, counted, their last login recorded; removing one removes its
// tokens and sessions.
func testAccountsAdmins(t *testing.T, dsn string) {
	ctx := context.Background()
	s := openStore(t, dsn)
	now := baseTime()
	if n, err := s.CountAdmins(ctx); err != nil || n != 0 {
		t.Fatalf("CountAdmins of a new store: %d %v", n, err)
	}
	if _, _, err := s.AdminPassword(ctx, "nobody"); !errors.Is(err, migration.ErrNotFound) {
		t.Fatalf("AdminPassword of nobody: %v, want ErrNotFound", err)
	}
	for _, name := range []string{"bob", "alice"} {
		if err := s.CreateAdmin(ctx, &auth.Admin{Name: name, CreatedAt: now}, "$argon2id$"+name); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateAdmin(ctx, &auth.Admin{Name: "bob", CreatedAt: now}, "other"); !errors.Is(err, migration.ErrExists) {
		t.Fatalf("second bob: %v, want ErrExists", err)
	}
	a, hash, err := s.AdminPassword(ctx, "bob")
	if err != nil || a.Name != "bob" || hash != "$argon2id$bob" || !a.CreatedAt.Equal(now) || !a.LastLogin.IsZero() {
		t.Fatalf("AdminPassword bob: %+v %q %v", a, hash, err)
	}
	if err := s.SetLastLogin(ctx, "bob", now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.SetLastLogin(ctx, "nobody", now); !errors.Is(err, migration.ErrNotFound) {
		t.Fatalf("SetLastLogin nobody: %v", err)
	}
	list, err := s.ListAdmins(ctx)
	if err != nil || len(list) != 2 || list[0].Name != "alice" || list[1].Name != "bob" ||
		!list[1].LastLogin.Equal(now.Add(time.Minute)) || !list[0].LastLogin.IsZero() {
		t.Fatalf("ListAdmins: %+v %v", list, err)
	}
	if n, err := s.CountAdmins(ctx); err != nil || n != 2 {
		t.Fatalf("CountAdmins: %d %v", n, err)
	}
	// bob's token and session go with bob; alice's stay.
	for _, who := range []string{"bob", "alice"} {
		if err := s.CreateToken(ctx, &auth.Token{Name: "t-" + who, Admin: who, CreatedAt: now}, "hash-t-"+who); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateSession(ctx, &auth.SessionRecord{Hash: "hash-s-" + who, Admin: who, Created: now, Seen: now}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteAdmin(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteAdmin(ctx, "bob"); !errors.Is(err, migration.ErrNotFound) {
		t.Fatalf("DeleteAdmin twice: %v", err)
	}
	if _, err := s.TokenByHash(ctx, "hash-t-bob"); !errors.Is(err, migration.ErrNotFound) {
		t.Errorf("bob's token after bob's removal: %v", err)
	}
	if _, err := s.SessionByHash(ctx, "hash-s-bob"); !errors.Is(err, migration.ErrNotFound) {
		t.Errorf("bob's session after bob's removal: %v", err)
	}
	if _, err := s.TokenByHash(ctx, "hash-t-alice"); err != nil {
		t.Errorf("alice's token: %v", err)
	}
	if _, err := s.SessionByHash(ctx, "hash-s-alice"); err != nil {
		t.Errorf("alice's session: %v", err)
	}
	// A name freed can be taken again.
	if err := s.CreateAdmin(ctx, &auth.Admin{Name: "bob", CreatedAt: now}, "new"); err != nil {
		t.Fatal(err)
	}
}

// Tokens: unique names across accounts, for an existing account only,
// found by hash, touched, listed by name, deleted once.
func testAccountsTokens(t *testing.T, dsn string) {
	ctx := context.Background()
	s := openStore(t, dsn)
	now := baseTime()
	if err := s.CreateToken(ctx, &auth.Token{Name: "ci", Admin: "nobody", CreatedAt: now}, "h0"); !errors.Is(err, migration.ErrNotFound) {
		t.Fatalf("token of a missing account: %v, want ErrNotFound", err)
	}
	for _, name := range []string{"alice", "bob"} {
		if err := s.CreateAdmin(ctx, &auth.Admin{Name: name, CreatedAt: now}, "x"); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateToken(ctx, &auth.Token{Name: "ci", Admin: "alice", CreatedAt: now}, "h1"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateToken(ctx, &auth.Token{Name: "backup", Admin: "bob", CreatedAt: now.Add(time.Second)}, "h2"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateToken(ctx, &auth.Token{Name: "ci", Admin: "bob", CreatedAt: now}, "h3"); !errors.Is(err, migration.ErrExists) {
		t.Fatalf("second ci (another account): %v, want ErrExists", err)
	}
	tok, err := s.TokenByHash(ctx, "h1")
	if err != nil || tok.Name != "ci" || tok.Admin != "alice" || !tok.CreatedAt.Equal(now) || !tok.LastUsed.IsZero() {
		t.Fatalf("TokenByHash h1: %+v %v", tok, err)
	}
	if _, err := s.TokenByHash(ctx, "h3"); !errors.Is(err, migration.ErrNotFound) {
		t.Fatalf("TokenByHash of a refused token: %v", err)
	}
	if err := s.TouchToken(ctx, "ci", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListTokens(ctx)
	if err != nil || len(list) != 2 || list[0].Name != "backup" || list[0].Admin != "bob" || list[1].Name != "ci" ||
		!list[1].LastUsed.Equal(now.Add(time.Hour)) || !list[0].LastUsed.IsZero() || !list[0].CreatedAt.Equal(now.Add(time.Second)) {
		t.Fatalf("ListTokens: %+v %v", list, err)
	}
	if err := s.DeleteToken(ctx, "ci"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteToken(ctx, "ci"); !errors.Is(err, migration.ErrNotFound) {
		t.Fatalf("DeleteToken twice: %v", err)
	}
	if _, err := s.TokenByHash(ctx, "h1"); !errors.Is(err, migration.ErrNotFound) {
		t.Fatalf("revoked token found: %v", err)
	}
	if err := s.TouchToken(ctx, "ci", now); err != nil {
		t.Fatalf("TouchToken of a revoked token: %v", err)
	}
}

// Sessions: stored for an existing account, found by hash, touched,
// removed one by one or when expired (by last request or by age).
func testAccountsSessions(t *testing.T, dsn string) {
	ctx := context.Background()
	s := openStore(t, dsn)
	now := baseTime()
	if err := s.CreateSession(ctx, &auth.SessionRecord{Hash: "x", Admin: "nobody", Created: now, Seen: now}); !errors.Is(err, migration.ErrNotFound) {
		t.Fatalf("session of a missing account: %v", err)
	}
	if err := s.CreateAdmin(ctx, &auth.Admin{Name: "alice", CreatedAt: now}, "x"); err != nil {
		t.Fatal(err)
	}
	recs := []auth.SessionRecord{
		{Hash: "fresh", Admin: "alice", Created: now.Add(-time.Hour), Seen: now},
		{Hash: "idle", Admin: "alice", Created: now.Add(-2 * time.Hour), Seen: now.Add(-90 * time.Minute)},
		{Hash: "old", Admin: "alice", Created: now.Add(-10 * time.Hour), Seen: now},
	}
	for i := range recs {
		if err := s.CreateSession(ctx, &recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.SessionByHash(ctx, "fresh")
	if err != nil || got.Hash != "fresh" || got.Admin != "alice" || !got.Created.Equal(recs[0].Created) || !got.Seen.Equal(now) {
		t.Fatalf("SessionByHash fresh: %+v %v", got, err)
	}
	if err := s.TouchSession(ctx, "idle", now.Add(-80*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got, err := s.SessionByHash(ctx, "idle"); err != nil || !got.Seen.Equal(now.Add(-80*time.Minute)) {
		t.Fatalf("touched session: %+v %v", got, err)
	}
	// Idle for over an hour, or created over 5 hours ago.
	if err := s.DeleteSessionsBefore(ctx, now.Add(-time.Hour), now.Add(-5*time.Hour)); err != nil {
		t.Fatal(err)
	}
	for hash, want := range map[string]bool{"fresh": true, "idle": false, "old": false} {
		_, err := s.SessionByHash(ctx, hash)
		if want && err != nil || !want && !errors.Is(err, migration.ErrNotFound) {
			t.Errorf("session %s after expiry: %v (kept: %v)", hash, err, want)
		}
	}
	if err := s.DeleteSession(ctx, "fresh"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSession(ctx, "fresh"); err != nil {
		t.Fatalf("DeleteSession of none: %v", err)
	}
	if _, err := s.SessionByHash(ctx, "fresh"); !errors.Is(err, migration.ErrNotFound) {
		t.Fatalf("logged-out session found: %v", err)
	}
}

// Audit: increasing IDs, newest first, paged by ID, concurrent appends
// all kept with distinct IDs.
func testAccountsAudit(t *testing.T, dsn string) {
	ctx := context.Background()
	s := openStore(t, dsn)
	now := baseTime()
	if l, err := s.ListAudit(ctx, 10, 0); err != nil || len(l) != 0 {
		t.Fatalf("ListAudit of a new store: %v %v", l, err)
	}
	var ids []int64
	for i := range 5 {
		e := &auth.AuditEntry{Time: now.Add(time.Duration(i) * time.Second), Actor: "alice (token ci)", Action: "batch start",
			Object: fmt.Sprintf("b%d", i), Detail: "POST /api/v1/batches/b/start", Remote: "192.0.2.1"}
		if err := s.AppendAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
		if len(ids) > 0 && e.ID <= ids[len(ids)-1] {
			t.Fatalf("audit IDs not increasing: %d after %v", e.ID, ids)
		}
		ids = append(ids, e.ID)
	}
	page, err := s.ListAudit(ctx, 2, 0)
	if err != nil || len(page) != 2 || page[0].ID != ids[4] || page[1].ID != ids[3] {
		t.Fatalf("first page: %+v %v", page, err)
	}
	e := page[0]
	if e.Object != "b4" || e.Actor != "alice (token ci)" || e.Action != "batch start" || e.Detail != "POST /api/v1/batches/b/start" ||
		e.Remote != "192.0.2.1" || !e.Time.Equal(now.Add(4*time.Second)) {
		t.Fatalf("entry read back: %+v", e)
	}
	page, err = s.ListAudit(ctx, 10, page[1].ID)
	if err != nil || len(page) != 3 || page[0].ID != ids[2] || page[2].ID != ids[0] {
		t.Fatalf("second page: %+v %v", page, err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Go(func() {
			errs <- s.AppendAudit(ctx, &auth.AuditEntry{Time: now, Actor: "bob", Action: "endpoint create", Object: fmt.Sprint(i)})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.ListAudit(ctx, 100, 0)
	if err != nil || len(all) != 25 {
		t.Fatalf("after concurrent appends: %d entries, %v", len(all), err)
	}
	seen := map[int64]bool{}
	for _, e := range all {
		if seen[e.ID] {
			t.Fatalf("audit ID %d twice", e.ID)
		}
		seen[e.ID] = true
	}
}

// The auth.Service on the engine: an account logs in, its session is
// found, a token authenticates until revoked, removing the account ends
// both; nothing stored holds a secret.
func testAccountsService(t *testing.T, dsn string) {
	ctx := context.Background()
	s := openStore(t, dsn)
	now := baseTime()
	svc := &auth.Service{Store: s, Now: func() time.Time { return now }, KDF: auth.KDF{Time: 1, MemoryKiB: 64, Threads: 1}}
	const password = "correct horse battery"
	if _, err := svc.AddAdmin(ctx, "Alice", password); err != nil {
		t.Fatal(err)
	}
	if ok, err := svc.HasAdmins(ctx); err != nil || !ok {
		t.Fatalf("HasAdmins: %v %v", ok, err)
	}
	sid, err := svc.Login(ctx, "alice", password, "192.0.2.7")
	if err != nil {
		t.Fatal(err)
	}
	p, csrf, err := svc.Session(ctx, sid)
	if err != nil || p.Name != "alice" || p.Via != "session" || csrf == "" {
		t.Fatalf("Session: %+v %q %v", p, csrf, err)
	}
	secret, tok, err := svc.NewToken(ctx, "alice", "ci")
	if err != nil || tok.Name != "ci" {
		t.Fatalf("NewToken: %+v %v", tok, err)
	}
	if p, err := svc.Authenticate(ctx, secret); err != nil || p.String() != "alice (token ci)" {
		t.Fatalf("Authenticate: %+v %v", p, err)
	}
	// No secret in any stored row.
	_, hash, err := s.AdminPassword(ctx, "alice")
	if err != nil || !strings.HasPrefix(hash, "$argon2id$v=19$m=64,t=1,p=1$") || strings.Contains(hash, password) {
		t.Fatalf("stored password: %q %v", hash, err)
	}
	if _, err := s.SessionByHash(ctx, sid); !errors.Is(err, migration.ErrNotFound) {
		t.Fatalf("a session found by its id in clear: %v", err)
	}
	if entries, err := svc.AuditLog(ctx, 0, 0); err != nil || len(entries) != 1 || entries[0].Action != "login" ||
		entries[0].Actor != "alice" || entries[0].Remote != "192.0.2.7" {
		t.Fatalf("audit of the login: %+v %v", entries, err)
	}
	if err := svc.RemoveAdmin(ctx, "ALICE"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Session(ctx, sid); !errors.Is(err, auth.ErrNoSession) {
		t.Errorf("session of a removed account: %v", err)
	}
	if _, err := svc.Authenticate(ctx, secret); !errors.Is(err, auth.ErrNoToken) {
		t.Errorf("token of a removed account: %v", err)
	}
}
