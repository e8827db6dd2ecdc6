package auth_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/auth"
	"github.com/imapmigrate/imapmigrate/internal/migration"
	"github.com/imapmigrate/imapmigrate/internal/store/sqlite"
)

// clock is the tests' time, moved by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// cheapKDF keeps the tests fast; the cost is a parameter of the hash.
var cheapKDF = auth.KDF{Time: 1, MemoryKiB: 64, Threads: 1}

const alicePassword = "correct horse battery staple"

// newService is a Service on a new SQLite store, with the account alice.
func newService(t *testing.T) (*auth.Service, *clock, auth.Store) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c := &clock{t: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	s := &auth.Service{Store: st, Now: c.Now, KDF: cheapKDF}
	if _, err := s.AddAdmin(context.Background(), "alice", alicePassword); err != nil {
		t.Fatal(err)
	}
	return s, c, st
}

func fields(err error) []string {
	var out []string
	var ve *migration.ValidationError
	var ves migration.ValidationErrors
	switch {
	case errors.As(err, &ves):
		for _, e := range ves {
			out = append(out, e.Field)
		}
	case errors.As(err, &ve):
		out = append(out, ve.Field)
	}
	return out
}

func TestAddAdminValidates(t *testing.T) {
	s, _, _ := newService(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name, password string
		fields         string
	}{
		{"", alicePassword, "Name"},
		{"bob smith", alicePassword, "Name"},
		{"bob/x", alicePassword, "Name"},
		{strings.Repeat("b", 65), alicePassword, "Name"},
		{"bob", "short", "Password"},
		{"bob", "", "Password"},
		{"bob", alicePassword + "\n", "Password"},
		{"bob!", "short", "Name,Password"},
		{"alice", alicePassword, "Name"}, // exists
		{"ALICE", alicePassword, "Name"}, // names are case-insensitive
	} {
		_, err := s.AddAdmin(ctx, tc.name, tc.password)
		if got := strings.Join(fields(err), ","); got != tc.fields {
			t.Errorf("AddAdmin(%q, %q): fields %q (%v), want %q", tc.name, tc.password, got, err, tc.fields)
		}
		if err != nil && tc.password != "" && strings.Contains(err.Error(), tc.password) {
			t.Errorf("AddAdmin(%q): the error shows the password: %v", tc.name, err)
		}
	}
	var ve *migration.ValidationError
	_, err := s.AddAdmin(ctx, "alice", alicePassword)
	if !errors.As(err, &ve) || !errors.Is(err, migration.ErrExists) {
		t.Errorf("existing account: %v, want a ValidationError of ErrExists", err)
	}
	a, err := s.AddAdmin(ctx, "Bob.Smith@example.org", "twelve chars")
	if err != nil || a.Name != "bob.smith@example.org" {
		t.Fatalf("AddAdmin of a mixed-case name: %+v %v", a, err)
	}
	admins, err := s.Admins(ctx)
	if err != nil || len(admins) != 2 || admins[0].Name != "alice" || admins[1].Name != "bob.smith@example.org" {
		t.Fatalf("Admins: %+v %v", admins, err)
	}
	if err := s.RemoveAdmin(ctx, "nobody"); !errors.Is(err, migration.ErrNotFound) || fields(err)[0] != "Name" {
		t.Errorf("RemoveAdmin nobody: %v", err)
	}
}

func TestLogin(t *testing.T) {
	s, c, _ := newService(t)
	ctx := context.Background()
	if _, err := s.Login(ctx, "alice", "wrong password!", "192.0.2.1"); !errors.Is(err, auth.ErrBadLogin) {
		t.Fatalf("wrong password: %v", err)
	}
	_, errUnknown := s.Login(ctx, "nobody", alicePassword, "192.0.2.1")
	if !errors.Is(errUnknown, auth.ErrBadLogin) || errUnknown.Error() != auth.ErrBadLogin.Error() {
		t.Fatalf("unknown account: %v, want the same error as a wrong password", errUnknown)
	}
	id, err := s.Login(ctx, "Alice", alicePassword, "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	if len(id) != 43 {
		t.Errorf("session id %d characters, want 43 (32 random bytes)", len(id))
	}
	p, csrf, err := s.Session(ctx, id)
	if err != nil || p != (auth.Principal{Name: "alice", Via: "session"}) || len(csrf) != 43 {
		t.Fatalf("Session: %+v %q %v", p, csrf, err)
	}
	id2, err := s.Login(ctx, "alice", alicePassword, "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	_, csrf2, err := s.Session(ctx, id2)
	if err != nil || csrf2 == csrf || id2 == id {
		t.Fatalf("a second session shares the first's id or CSRF token: %v", err)
	}
	admins, _ := s.Admins(ctx)
	if !admins[0].LastLogin.Equal(c.Now()) {
		t.Errorf("LastLogin %v, want %v", admins[0].LastLogin, c.Now())
	}
	if err := s.Logout(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Session(ctx, id); !errors.Is(err, auth.ErrNoSession) {
		t.Errorf("session after logout: %v", err)
	}
	if _, _, err := s.Session(ctx, id2); err != nil {
		t.Errorf("the other session after a logout: %v", err)
	}
}

func TestSessionExpiry(t *testing.T) {
	s, c, _ := newService(t)
	ctx := context.Background()
	id, err := s.Login(ctx, "alice", alicePassword, "")
	if err != nil {
		t.Fatal(err)
	}
	// Requests every 11 hours keep it alive, up to 7 days after login.
	for range 15 {
		c.Advance(11 * time.Hour)
		if _, _, err := s.Session(ctx, id); err != nil {
			t.Fatalf("session at %v: %v", c.Now(), err)
		}
	}
	c.Advance(3 * time.Hour) // 7 days and 2 hours
	if _, _, err := s.Session(ctx, id); !errors.Is(err, auth.ErrNoSession) {
		t.Fatalf("session older than SessionMax: %v", err)
	}
	id, err = s.Login(ctx, "alice", alicePassword, "")
	if err != nil {
		t.Fatal(err)
	}
	c.Advance(auth.DefaultSessionIdle)
	if _, _, err := s.Session(ctx, id); !errors.Is(err, auth.ErrNoSession) {
		t.Fatalf("session idle for SessionIdle: %v", err)
	}
	if _, _, err := s.Session(ctx, "not a session"); !errors.Is(err, auth.ErrNoSession) {
		t.Fatalf("unknown session: %v", err)
	}
}

func TestLoginRateLimit(t *testing.T) {
	s, c, _ := newService(t)
	ctx := context.Background()
	for i := range 5 {
		if _, err := s.Login(ctx, "alice", "wrong password!", "192.0.2.1"); !errors.Is(err, auth.ErrBadLogin) {
			t.Fatalf("failure %d: %v", i+1, err)
		}
		c.Advance(time.Minute)
	}
	// The sixth attempt is refused, even with the right password and from
	// another address: the account is limited.
	_, err := s.Login(ctx, "alice", alicePassword, "198.51.100.9")
	var rl *auth.RateLimitError
	if !errors.Is(err, auth.ErrRateLimited) || !errors.As(err, &rl) {
		t.Fatalf("after 5 failures: %v, want ErrRateLimited", err)
	}
	// The first failure was 5 minutes ago: 10 minutes to wait.
	if rl.RetryAfter != 10*time.Minute || !rl.Until.Equal(c.Now().Add(10*time.Minute)) {
		t.Errorf("retry after %v (until %v), want 10m", rl.RetryAfter, rl.Until)
	}
	if !strings.Contains(err.Error(), "10m0s") {
		t.Errorf("message %q does not say how long to wait", err)
	}
	// Another account from the same address is not limited by alice's.
	if _, err := s.Login(ctx, "bob", "wrong password!", "192.0.2.1"); !errors.Is(err, auth.ErrBadLogin) {
		t.Fatalf("another account: %v", err)
	}
	c.Advance(10 * time.Minute)
	if _, err := s.Login(ctx, "alice", alicePassword, "192.0.2.1"); err != nil {
		t.Fatalf("after the window: %v", err)
	}
	// A success clears the account's count.
	for range 4 {
		s.Login(ctx, "alice", "wrong password!", "192.0.2.1")
	}
	if _, err := s.Login(ctx, "alice", alicePassword, "192.0.2.1"); err != nil {
		t.Fatalf("4 failures after a success: %v", err)
	}
}

func TestLoginRateLimitPerAddress(t *testing.T) {
	s, _, _ := newService(t)
	ctx := context.Background()
	for i := range auth.DefaultAddressLimit.Failures {
		if _, err := s.Login(ctx, "user"+string(rune('a'+i)), "wrong password!", "203.0.113.5"); !errors.Is(err, auth.ErrBadLogin) {
			t.Fatalf("failure %d: %v", i+1, err)
		}
	}
	if _, err := s.Login(ctx, "alice", alicePassword, "203.0.113.5"); !errors.Is(err, auth.ErrRateLimited) {
		t.Fatalf("an address with %d failures: %v, want ErrRateLimited", auth.DefaultAddressLimit.Failures, err)
	}
	if _, err := s.Login(ctx, "alice", alicePassword, "203.0.113.6"); err != nil {
		t.Fatalf("another address: %v", err)
	}
}

func TestTokens(t *testing.T) {
	s, c, st := newService(t)
	ctx := context.Background()
	if _, _, err := s.NewToken(ctx, "nobody", "ci"); !errors.Is(err, migration.ErrNotFound) || fields(err)[0] != "Admin" {
		t.Fatalf("token of nobody: %v", err)
	}
	if _, _, err := s.NewToken(ctx, "alice", "c i"); fields(err)[0] != "Name" {
		t.Fatalf("bad token name: %v", err)
	}
	secret, tok, err := s.NewToken(ctx, "alice", "CI")
	if err != nil || tok.Name != "ci" || tok.Admin != "alice" {
		t.Fatalf("NewToken: %+v %v", tok, err)
	}
	if !strings.HasPrefix(secret, auth.TokenPrefix) || len(secret) != len(auth.TokenPrefix)+43 {
		t.Fatalf("secret %d characters, want imt_ and 43", len(secret))
	}
	if _, _, err := s.NewToken(ctx, "alice", "ci"); !errors.Is(err, migration.ErrExists) {
		t.Fatalf("second ci: %v", err)
	}
	p, err := s.Authenticate(ctx, secret)
	if err != nil || p != (auth.Principal{Name: "alice", Via: "token", Token: "ci"}) {
		t.Fatalf("Authenticate: %+v %v", p, err)
	}
	used := func() time.Time {
		ts, err := s.Tokens(ctx)
		if err != nil || len(ts) != 1 {
			t.Fatalf("Tokens: %+v %v", ts, err)
		}
		return ts[0].LastUsed
	}
	first := c.Now()
	if !used().Equal(first) {
		t.Fatalf("LastUsed %v, want %v", used(), first)
	}
	c.Advance(30 * time.Second)
	s.Authenticate(ctx, secret)
	if !used().Equal(first) {
		t.Errorf("LastUsed written again within a minute")
	}
	c.Advance(31 * time.Second)
	s.Authenticate(ctx, secret)
	if !used().Equal(c.Now()) {
		t.Errorf("LastUsed not written after a minute")
	}
	for _, bad := range []string{"", "imt_", secret + "x", strings.TrimPrefix(secret, auth.TokenPrefix), "imt_" + strings.Repeat("A", 43)} {
		if _, err := s.Authenticate(ctx, bad); !errors.Is(err, auth.ErrNoToken) {
			t.Errorf("Authenticate(%q): %v", bad, err)
		}
	}
	// Only the digest is stored.
	if _, err := st.TokenByHash(ctx, secret); !errors.Is(err, migration.ErrNotFound) {
		t.Errorf("token found by its secret in clear: %v", err)
	}
	if err := s.RevokeToken(ctx, "ci"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, secret); !errors.Is(err, auth.ErrNoToken) {
		t.Fatalf("revoked token: %v", err)
	}
	if err := s.RevokeToken(ctx, "ci"); !errors.Is(err, migration.ErrNotFound) {
		t.Fatalf("revoke twice: %v", err)
	}
}

func TestAuditLogPages(t *testing.T) {
	s, _, _ := newService(t)
	ctx := auth.WithPrincipal(context.Background(), auth.Principal{Name: "alice", Via: "token", Token: "ci"})
	for range 7 {
		if err := s.Audit(ctx, auth.AuditEntry{Action: "batch start", Object: "b1"}); err != nil {
			t.Fatal(err)
		}
	}
	page, err := s.AuditLog(ctx, 4, 0)
	if err != nil || len(page) != 4 || page[0].Actor != "alice (token ci)" || page[0].Time.IsZero() {
		t.Fatalf("first page: %+v %v", page, err)
	}
	rest, err := s.AuditLog(ctx, 4, page[3].ID)
	if err != nil || len(rest) != 3 || rest[0].ID >= page[3].ID {
		t.Fatalf("second page: %+v %v", rest, err)
	}
}

// No password, token or session id reaches the log, at any level.
func TestNoSecretInLogs(t *testing.T) {
	s, _, _ := newService(t)
	var buf bytes.Buffer
	s.Log = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug - 10}))
	ctx := context.Background()
	s.Login(ctx, "alice", "a wrong password!", "192.0.2.1")
	s.Login(ctx, "nobody", "another wrong one", "192.0.2.1")
	id, err := s.Login(ctx, "alice", alicePassword, "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	secret, _, _ := s.NewToken(ctx, "alice", "ci")
	s.Authenticate(ctx, secret)
	s.Session(ctx, id)
	for range 6 {
		s.Login(ctx, "alice", "a wrong password!", "192.0.2.1")
	}
	log := buf.String()
	if !strings.Contains(log, "login failed") || !strings.Contains(log, "rate limited") {
		t.Fatalf("the log lacks the failures:\n%s", log)
	}
	for _, sec := range []string{"a wrong password!", "another wrong one", alicePassword, secret, id} {
		if strings.Contains(log, sec) {
			t.Errorf("the log holds a secret %q:\n%s", sec, log)
		}
	}
}

// A password longer than any account can have is refused like a wrong one.
func TestLoginLongPassword(t *testing.T) {
	s, _, _ := newService(t)
	if _, err := s.Login(context.Background(), "alice", alicePassword+strings.Repeat("x", 2000), ""); !errors.Is(err, auth.ErrBadLogin) {
		t.Fatalf("long password: %v", err)
	}
}
