package storetest

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/imapconn"
	"github.com/imapmigrate/imapmigrate/internal/migration"
	"github.com/imapmigrate/imapmigrate/internal/sensitive"
	"github.com/imapmigrate/imapmigrate/internal/store"
	"github.com/imapmigrate/imapmigrate/internal/store/sqldb"
)

// openStore opens dsn for the test and closes it when the test ends.
func openStore(t *testing.T, dsn string) store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), dsn, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// baseTime is the tests' clock: now (to the microsecond, the precision of
// PostgreSQL's timestamptz), so that the operations that judge leases by
// the wall clock (DeleteBatch, FinishRemovals) agree with injected times.
func baseTime() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

func endpoint(name string, maxInitial, maxIncremental int) *migration.Endpoint {
	return &migration.Endpoint{Name: name, Server: "imap." + name + ".example", Port: 993, Security: imapconn.SecuritySSL,
		Auth: imapconn.AuthLogin, MasterSeparator: "*", MaxConcurrentMigrations: maxInitial,
		MaxConcurrentIncrementalSyncs: maxIncremental, CreatedAt: baseTime()}
}

func mustPutEndpoint(t *testing.T, s store.Store, name string, maxInitial, maxIncremental int) {
	t.Helper()
	if err := s.PutEndpoint(context.Background(), endpoint(name, maxInitial, maxIncremental), true); err != nil {
		t.Fatal(err)
	}
}

func users(emails ...string) []migration.User {
	var us []migration.User
	for _, e := range emails {
		us = append(us, migration.User{EmailAddress: e, UserName: strings.Split(e, "@")[0], Password: sensitive.String("sealed:" + e)})
	}
	return us
}

// emails returns n addresses n0@domain… .
func emails(prefix, domain string, n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("%s%d@%s", prefix, i, domain))
	}
	return out
}

func newBatch(name, src, tgt string) *migration.Batch {
	return &migration.Batch{Name: name, SourceEndpoint: src, TargetEndpoint: tgt, Intent: migration.IntentCreated,
		IncrementalInterval: migration.TimeSpan(time.Hour), CreatedAt: baseTime()}
}

func mustCreateBatch(t *testing.T, s store.Store, name, src, tgt string, addrs ...string) {
	t.Helper()
	if err := s.CreateBatch(context.Background(), newBatch(name, src, tgt), users(addrs...)); err != nil {
		t.Fatal(err)
	}
}

func mustSetIntent(t *testing.T, s store.Store, batch string, intent migration.Intent, now time.Time) {
	t.Helper()
	if err := s.SetIntent(context.Background(), batch, migration.Transition{Intent: intent, Now: now}); err != nil {
		t.Fatal(err)
	}
}

func mustUser(t *testing.T, s store.Store, email string) *migration.User {
	t.Helper()
	u, err := s.UserByEmail(context.Background(), email)
	if err != nil {
		t.Fatalf("user %s: %v", email, err)
	}
	return u
}

func mustClaim(t *testing.T, s store.Store, owner, batch string, now time.Time, ttl time.Duration) *migration.Claim {
	t.Helper()
	c, err := s.Claim(context.Background(), owner, batch, now, ttl)
	if err != nil {
		t.Fatal(err)
	}
	if c == nil {
		t.Fatalf("%s: nothing to claim in %q at %v", owner, batch, now)
	}
	return c
}

func usersByEmail(t *testing.T, s store.Store, batch string) map[string]migration.User {
	t.Helper()
	us, err := s.Users(context.Background(), batch, "")
	if err != nil {
		t.Fatal(err)
	}
	m := make(map[string]migration.User)
	for _, u := range us {
		m[u.EmailAddress] = u
	}
	return m
}

// standing is what the rules read of a user, as the store shows it at now.
func standing(u migration.User, now time.Time) migration.Standing {
	return migration.Standing{Status: u.Status, NextDue: u.NextSync, Attempts: u.Attempts, Error: u.Error,
		Synced: !u.FirstSync.IsZero(), Leased: u.Pass != nil && !u.Pass.LeaseExpiry.Before(now)}
}

func sameStanding(a, b migration.Standing) bool {
	return a.Status == b.Status && a.NextDue.Equal(b.NextDue) && a.Attempts == b.Attempts && a.Error == b.Error &&
		a.Synced == b.Synced && a.Leased == b.Leased
}

func fmtStanding(s migration.Standing) string {
	due := "-"
	if !s.NextDue.IsZero() {
		due = s.NextDue.UTC().Format(time.RFC3339Nano)
	}
	return fmt.Sprintf("{%s due=%s attempts=%d error=%q synced=%v leased=%v}", s.Status, due, s.Attempts, s.Error, s.Synced, s.Leased)
}

// raw runs statements on the store's database directly, to put users in
// standings the API reaches only through long sequences. Queries are
// written with '?'; a time.Time argument is passed as the dialect stores
// it (the zero time as NULL).
type raw struct {
	t  *testing.T
	db *sqldb.DB
}

func rawDB(t *testing.T, s store.Store) raw {
	db, ok := s.(*sqldb.DB)
	if !ok {
		t.Fatalf("the store is a %T, not a *sqldb.DB", s)
	}
	return raw{t: t, db: db}
}

func (r raw) query(q string) string {
	if !r.db.Dialect().Numbered {
		return q
	}
	var b strings.Builder
	n := 0
	for _, c := range q {
		if c == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

func (r raw) args(args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		if tm, ok := a.(time.Time); ok {
			if tm.IsZero() {
				a = nil
			} else {
				a = r.db.Dialect().Time(tm.UTC())
			}
		}
		out[i] = a
	}
	return out
}

// batch runs fn's statements in one transaction.
func (r raw) batch(fn func(exec func(q string, args ...any))) {
	r.t.Helper()
	ctx := context.Background()
	tx, err := r.db.SQL().BeginTx(ctx, nil)
	if err != nil {
		r.t.Fatal(err)
	}
	var failed error
	fn(func(q string, args ...any) {
		if failed != nil {
			return
		}
		if _, err := tx.ExecContext(ctx, r.query(q), r.args(args)...); err != nil {
			failed = fmt.Errorf("%s: %w", q, err)
		}
	})
	if failed != nil {
		tx.Rollback()
		r.t.Fatal(failed)
	}
	if err := tx.Commit(); err != nil {
		r.t.Fatal(err)
	}
}

// lease is how a raw standing is held.
type lease int

const (
	noLease lease = iota
	liveLease
	expiredLease
)

func (l lease) String() string { return [...]string{"unleased", "leased", "lease-expired"}[l] }

// setStanding is the raw update that puts user id in st (Leased is taken
// from l: a live lease expires after now, an expired one before it).
func setStanding(exec func(string, ...any), id int64, st migration.Standing, l lease, now time.Time) {
	var first time.Time
	if st.Synced {
		first = now.Add(-24 * time.Hour)
	}
	owner, expiry, started, kind := "", time.Time{}, time.Time{}, migration.PassKind("")
	switch l {
	case liveLease:
		owner, expiry, started, kind = "holder", now.Add(time.Hour), now.Add(-time.Minute), migration.PassInitial
	case expiredLease:
		owner, expiry, started, kind = "dead", now.Add(-time.Hour), now.Add(-2*time.Hour), migration.PassInitial
	}
	if st.Synced && kind != "" {
		kind = migration.PassIncremental
	}
	exec(`UPDATE migration_user SET status = ?, next_due = ?, attempts = ?, error = ?, first_sync = ?, last_sync = ?,
		lease_owner = ?, lease_expiry = ?, kind = ?, pass_started = ? WHERE id = ?`,
		string(st.Status), st.NextDue, st.Attempts, st.Error, first, first, owner, expiry, string(kind), started, id)
}
