package migration_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imapmigrate/imapmigrate/internal/imapconn"
	"github.com/imapmigrate/imapmigrate/internal/migration"
	"github.com/imapmigrate/imapmigrate/internal/secret"
	"github.com/imapmigrate/imapmigrate/internal/store"
)

const (
	adminSecret = "Admin-Secret-1"
	pwA, pwB    = "Pw-A-Secret", "Pw-B-Secret"
	tpwA        = "TargetPw-A-Secret"
)

// sealEnv is a real store with two endpoints (the target's admin password
// sealed) and two batches of sealed user passwords, and a second handle on
// the database file for tampering with it.
type sealEnv struct {
	svc *migration.Service
	st  store.Store
	raw *sql.DB
}

func newSealEnv(t *testing.T) *sealEnv {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "imapmigrate.db")
	st, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	key := make([]byte, secret.KeySize)
	key[0] = 7
	box, err := secret.New(key)
	if err != nil {
		t.Fatal(err)
	}
	e := &sealEnv{svc: &migration.Service{Store: st, Box: box}, st: st}
	for _, p := range []migration.EndpointParams{
		{Endpoint: migration.Endpoint{Name: "old", Server: "imap.old.example"}},
		{Endpoint: migration.Endpoint{Name: "new", Server: "imap.new.example", MailboxAccess: migration.AccessMaster, AdminUser: "mailadmin"},
			AdminPassword: adminSecret},
		{Endpoint: migration.Endpoint{Name: "peruser", Server: "imap.new.example", MailboxAccess: migration.AccessPerUser}},
	} {
		p.SkipVerify = true
		if _, err := e.svc.NewEndpoint(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	for _, b := range []struct{ name, target, csv string }{
		{"b1", "new", "EmailAddress,UserName,Password\r\na@x.example,a,Pw-A-Secret\r\nb@x.example,b,Pw-B-Secret\r\n"},
		{"b2", "peruser", "EmailAddress,UserName,Password,TargetUserName,TargetPassword\r\nA@y.example,a,Pw-A-Secret,a,TargetPw-A-Secret\r\n"},
	} {
		if _, _, err := e.svc.NewBatch(ctx, migration.BatchParams{Name: b.name, Source: "old", Target: b.target, CSV: strings.NewReader(b.csv)}); err != nil {
			t.Fatal(err)
		}
	}
	e.raw, err = sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.raw.Close() })
	return e
}

func (e *sealEnv) exec(t *testing.T, q string, args ...any) {
	t.Helper()
	res, err := e.raw.Exec(q, args...)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("%s: %d rows", q, n)
	}
}

// claim is what a worker gets for a user: the rows as stored.
func (e *sealEnv) claim(t *testing.T, batch, email string) *migration.Claim {
	t.Helper()
	ctx := context.Background()
	b, _, err := e.st.Batch(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	users, err := e.st.Users(ctx, batch, "")
	if err != nil {
		t.Fatal(err)
	}
	c := &migration.Claim{Batch: *b, Kind: "initial"}
	for _, u := range users {
		if strings.EqualFold(u.EmailAddress, email) {
			c.User = u
		}
	}
	src, err := e.st.Endpoint(ctx, b.SourceEndpoint)
	if err != nil {
		t.Fatal(err)
	}
	tgt, err := e.st.Endpoint(ctx, b.TargetEndpoint)
	if err != nil {
		t.Fatal(err)
	}
	c.Source, c.Target = *src, *tgt
	return c
}

func (e *sealEnv) source(t *testing.T, batch, email string) (*imapconn.Config, error) {
	return e.claim(t, batch, email).SourceConfig(e.svc.Box)
}

func (e *sealEnv) target(t *testing.T, batch, email string) (*imapconn.Config, error) {
	return e.claim(t, batch, email).TargetConfig(context.Background(), e.svc.Box)
}

func wantMisplaced(t *testing.T, err error, place string) {
	t.Helper()
	if !errors.Is(err, secret.ErrMisplaced) {
		t.Fatalf("err = %v, want a sealed secret that does not belong there", err)
	}
	if want := "sealed secret does not belong to " + place + ": the database was altered"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q lacks %q", err, want)
	}
	for _, s := range []string{adminSecret, pwA, pwB, tpwA} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error shows a password: %v", err)
		}
	}
}

// A sealed password opens where it was stored, and nowhere else: moved to
// another user's row, another column or another batch, or with its
// endpoint pointed at another server in the database, it does not open.
func TestSealedSecretsAreBoundToTheirPlace(t *testing.T) {
	t.Run("in place", func(t *testing.T) {
		e := newSealEnv(t)
		for _, tt := range []struct{ batch, email, want string }{{"b1", "a@x.example", pwA}, {"b1", "b@x.example", pwB}, {"b2", "a@y.example", pwA}} {
			cfg, err := e.source(t, tt.batch, tt.email)
			if err != nil || cfg.Password.Reveal() != tt.want {
				t.Errorf("%s %s: source password %v", tt.batch, tt.email, err)
			}
		}
		if cfg, err := e.target(t, "b1", "a@x.example"); err != nil || cfg.Password.Reveal() != adminSecret || cfg.User != "a@x.example*mailadmin" {
			t.Errorf("target config %+v, %v", cfg, err)
		}
		if cfg, err := e.target(t, "b2", "a@y.example"); err != nil || cfg.Password.Reveal() != tpwA {
			t.Errorf("per-user target password: %v", err)
		}
	})
	t.Run("the target admin's password in a user row", func(t *testing.T) {
		e := newSealEnv(t)
		e.exec(t, `UPDATE migration_user SET password = (SELECT admin_password FROM endpoint WHERE name = 'new') WHERE email_key = 'a@x.example'`)
		_, err := e.source(t, "b1", "a@x.example")
		wantMisplaced(t, err, "migration_user.password of batch=b1 email=a@x.example")
	})
	t.Run("another user's password", func(t *testing.T) {
		e := newSealEnv(t)
		e.exec(t, `UPDATE migration_user SET password = (SELECT password FROM migration_user WHERE email_key = 'a@x.example') WHERE email_key = 'b@x.example'`)
		_, err := e.source(t, "b1", "b@x.example")
		wantMisplaced(t, err, "migration_user.password of batch=b1 email=b@x.example")
	})
	t.Run("the same address in another batch", func(t *testing.T) {
		e := newSealEnv(t)
		e.exec(t, `UPDATE migration_user SET password = (SELECT password FROM migration_user WHERE batch = 'b1' AND email_key = 'a@x.example') WHERE batch = 'b2'`)
		_, err := e.source(t, "b2", "a@y.example")
		wantMisplaced(t, err, "migration_user.password of batch=b2 email=a@y.example")
	})
	t.Run("another column of the row", func(t *testing.T) {
		e := newSealEnv(t)
		e.exec(t, `UPDATE migration_user SET password = target_password, target_password = password WHERE batch = 'b2'`)
		_, err := e.source(t, "b2", "a@y.example")
		wantMisplaced(t, err, "migration_user.password of batch=b2 email=a@y.example")
		_, err = e.target(t, "b2", "a@y.example")
		wantMisplaced(t, err, "migration_user.target_password of batch=b2 email=a@y.example")
	})
	t.Run("a user's password as the admin's", func(t *testing.T) {
		e := newSealEnv(t)
		e.exec(t, `UPDATE endpoint SET admin_password = (SELECT password FROM migration_user WHERE email_key = 'a@x.example') WHERE name = 'new'`)
		_, err := e.target(t, "b1", "a@x.example")
		wantMisplaced(t, err, "endpoint.admin_password of name=new (server imap.new.example:993)")
	})
	t.Run("the endpoint pointed at another server", func(t *testing.T) {
		e := newSealEnv(t)
		e.exec(t, `UPDATE endpoint SET server = 'evil.example' WHERE name = 'new'`)
		_, err := e.target(t, "b1", "a@x.example")
		wantMisplaced(t, err, "endpoint.admin_password of name=new (server evil.example:993)")
		e.exec(t, `UPDATE endpoint SET server = 'imap.new.example', port = 143 WHERE name = 'new'`)
		_, err = e.target(t, "b1", "a@x.example")
		wantMisplaced(t, err, "endpoint.admin_password of name=new (server imap.new.example:143)")
	})
	t.Run("endpoint set moves the password with the server", func(t *testing.T) {
		e := newSealEnv(t)
		ctx := context.Background()
		old, err := e.st.Endpoint(ctx, "new")
		if err != nil {
			t.Fatal(err)
		}
		p := migration.EndpointParams{Endpoint: *old}
		p.Server, p.Port = "imap2.new.example", 1993
		if _, err := e.svc.SetEndpoint(ctx, p); err != nil {
			t.Fatal(err)
		}
		cfg, err := e.target(t, "b1", "a@x.example")
		if err != nil || cfg.Password.Reveal() != adminSecret || cfg.Address() != "imap2.new.example:1993" {
			t.Fatalf("after endpoint set: %v", err)
		}
	})
}
