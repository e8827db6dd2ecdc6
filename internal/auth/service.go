package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/imapmigrate/imapmigrate/internal/migration"
)

// The defaults of the Service's lifetimes.
const (
	// DefaultSessionIdle ends a session after 12 hours without a request.
	DefaultSessionIdle = 12 * time.Hour
	// DefaultSessionMax ends a session 7 days after its login, however
	// busy.
	DefaultSessionMax = 7 * 24 * time.Hour
	// touchEvery is how stale a token's LastUsed or a session's last
	// request may be before a request writes it again: at most one write
	// a minute per token or session, not one per request.
	touchEvery = time.Minute
	// MinPasswordLength is the shortest password AddAdmin takes.
	MinPasswordLength = 12
	maxPasswordLength = 1024
	maxNameLength     = 64
	// TokenPrefix starts every API token, so that a leaked one is
	// recognised (secret scanners) and a wrong string is refused at once.
	TokenPrefix = "imt_"
	secretBytes = 32
	// concurrentKDF bounds the argon2id runs at once (each takes the
	// KDF's memory: 4 × 64 MiB by default).
	concurrentKDF = 4
	// DefaultMaxFormBytes is RequireSession's default bound of a form's
	// body: a migration file of 100,000 users fits.
	DefaultMaxFormBytes = 64 << 20
)

// Service is dashboard accounts, API tokens, sessions and the audit log.
// Set its fields before the first call; the zero values are the defaults.
type Service struct {
	Store Store
	// Now is the clock (tests); nil is time.Now.
	Now func() time.Time
	Log *slog.Logger
	// KDF is the cost of new password hashes; zero is DefaultKDF.
	KDF KDF
	// SessionIdle and SessionMax end sessions (zero: the defaults).
	SessionIdle, SessionMax time.Duration
	// AccountLimit and AddressLimit bound failed logins per account name
	// and per remote address (zero: the defaults; Failures < 0: none).
	// They are counted in this process's memory: each serve process
	// sharing a database counts its own, and a restart forgets them.
	AccountLimit, AddressLimit Limit
	// MaxFormBytes bounds the body RequireSession reads to find a form's
	// CSRF token (zero: DefaultMaxFormBytes); a larger form gets 413.
	MaxFormBytes int64

	once    sync.Once
	limits  *limiter
	kdfSem  chan struct{}
	dummyMu sync.Mutex
	dummy   string // a hash to verify for unknown accounts
}

func (s *Service) init() {
	s.once.Do(func() {
		s.limits = newLimiter()
		s.kdfSem = make(chan struct{}, concurrentKDF)
		if s.KDF == (KDF{}) {
			s.KDF = DefaultKDF
		}
		if s.SessionIdle == 0 {
			s.SessionIdle = DefaultSessionIdle
		}
		if s.SessionMax == 0 {
			s.SessionMax = DefaultSessionMax
		}
		if s.AccountLimit == (Limit{}) {
			s.AccountLimit = DefaultAccountLimit
		}
		if s.AddressLimit == (Limit{}) {
			s.AddressLimit = DefaultAddressLimit
		}
		if s.MaxFormBytes == 0 {
			s.MaxFormBytes = DefaultMaxFormBytes
		}
		if s.Log == nil {
			s.Log = slog.New(slog.DiscardHandler)
		}
	})
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// kdf runs fn (an argon2id hash or verification) within the bound on
// concurrent runs, or gives up when ctx ends.
func (s *Service) kdf(ctx context.Context, fn func()) error {
	select {
	case s.kdfSem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.kdfSem }()
	fn()
	return nil
}

// dummyHash is a hash of the current KDF to verify a password against
// when the account is unknown, so that the answer takes as long as for a
// known account.
func (s *Service) dummyHash() string {
	s.dummyMu.Lock()
	defer s.dummyMu.Unlock()
	if s.dummy == "" {
		s.dummy = hashPassword("no such account", s.KDF)
	}
	return s.dummy
}

// NormalizeName is how a name (account or token) is stored and looked
// up: names are case-insensitive, stored in lowercase.
func NormalizeName(name string) string { return strings.ToLower(strings.TrimSpace(name)) }

// validName is the Fix for a bad name, "" for a good one.
func validName(name string) string {
	if name == "" {
		return "is required: 1 to 64 letters, digits, '.', '-', '_' or '@'"
	}
	if len(name) > maxNameLength {
		return fmt.Sprintf("is %d characters long: use at most %d", len(name), maxNameLength)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(".-_@", r)) {
			return fmt.Sprintf("contains %q: use only letters, digits, '.', '-', '_' and '@'", r)
		}
	}
	return ""
}

// ValidatePassword checks a new password; the error never holds it.
func ValidatePassword(password string) error {
	n := utf8.RuneCountInString(password)
	switch {
	case n == 0:
		return &migration.ValidationError{Field: "Password", Fix: fmt.Sprintf("is required: at least %d characters", MinPasswordLength)}
	case n < MinPasswordLength:
		return &migration.ValidationError{Field: "Password",
			Fix: fmt.Sprintf("has %d characters: use at least %d (a passphrase of a few words is easy to remember)", n, MinPasswordLength)}
	case len(password) > maxPasswordLength:
		return &migration.ValidationError{Field: "Password", Fix: fmt.Sprintf("is longer than %d bytes: use a shorter one", maxPasswordLength)}
	case strings.TrimSpace(password) != password:
		return &migration.ValidationError{Field: "Password",
			Fix: "starts or ends with white space (a newline left in a password file?): remove it"}
	}
	return nil
}

// ValidateName checks an account's or a token's name (field names it in
// the error): what AddAdmin and NewToken refuse, for a transport to check
// before it opens anything.
func ValidateName(field, name string) error {
	if fix := validName(NormalizeName(name)); fix != "" {
		return &migration.ValidationError{Field: field, Value: name, Fix: fix}
	}
	return nil
}

// ValidateAdmin checks a new account's name and password: every problem,
// as migration.ValidationErrors (fields Name and Password), nil when
// AddAdmin would take them (unless the name is taken).
func ValidateAdmin(name, password string) error {
	var probs migration.ValidationErrors
	if err := ValidateName("Name", name); err != nil {
		probs = append(probs, err.(*migration.ValidationError))
	}
	if err := ValidatePassword(password); err != nil {
		probs = append(probs, err.(*migration.ValidationError))
	}
	if len(probs) > 0 {
		return probs
	}
	return nil
}

// AddAdmin creates a dashboard account. Its name is case-insensitive
// (stored in lowercase).
func (s *Service) AddAdmin(ctx context.Context, name, password string) (*Admin, error) {
	s.init()
	name = NormalizeName(name)
	if err := ValidateAdmin(name, password); err != nil {
		return nil, err
	}
	var hash string
	if err := s.kdf(ctx, func() { hash = hashPassword(password, s.KDF) }); err != nil {
		return nil, err
	}
	a := &Admin{Name: name, CreatedAt: s.now()}
	err := s.Store.CreateAdmin(ctx, a, hash)
	if errors.Is(err, migration.ErrExists) {
		return nil, &migration.ValidationError{Field: "Name", Value: name, Err: migration.ErrExists,
			Fix: "an account of that name exists: choose another name, or remove that account first"}
	}
	if err != nil {
		return nil, fmt.Errorf("add account %s: %w", name, err)
	}
	return a, nil
}

// RemoveAdmin removes an account, its API tokens and its sessions.
func (s *Service) RemoveAdmin(ctx context.Context, name string) error {
	s.init()
	name = NormalizeName(name)
	err := s.Store.DeleteAdmin(ctx, name)
	if errors.Is(err, migration.ErrNotFound) {
		return &migration.ValidationError{Field: "Name", Value: name, Err: migration.ErrNotFound,
			Fix: "no such account: `imapmigrate admin list` lists them"}
	}
	if err != nil {
		return fmt.Errorf("remove account %s: %w", name, err)
	}
	return nil
}

// Admins lists the accounts by name.
func (s *Service) Admins(ctx context.Context) ([]Admin, error) {
	s.init()
	return s.Store.ListAdmins(ctx)
}

// HasAdmins tells whether any account exists (the dashboard says how to
// create the first one when none does).
func (s *Service) HasAdmins(ctx context.Context) (bool, error) {
	s.init()
	n, err := s.Store.CountAdmins(ctx)
	return n > 0, err
}

// randomSecret is 32 random bytes, base64url without padding.
func randomSecret() string {
	b := make([]byte, secretBytes)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// digest is the hex SHA-256 of a secret: what the store keeps.
func digest(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// Login checks an account's password and opens a session; remote is the
// client's address (RemoteAddr), for the rate limit and the audit log. It
// returns the session's id, to be set as a cookie (SetSession) and never
// logged. A wrong name or password is ErrBadLogin, alike and in the same
// time; too many failures before it a *RateLimitError (ErrRateLimited),
// whatever the password.
func (s *Service) Login(ctx context.Context, name, password, remote string) (string, error) {
	s.init()
	name = NormalizeName(name)
	now := s.now()
	accountKey, addressKey := "account:"+name, "address:"+remote
	until := s.limits.until(accountKey, s.AccountLimit, now)
	if remote != "" {
		if u := s.limits.until(addressKey, s.AddressLimit, now); u.After(until) {
			until = u
		}
	}
	if !until.IsZero() {
		s.Log.Warn("login refused: rate limited", "account", name, "remote", remote, "until", until)
		return "", &RateLimitError{Until: until, RetryAfter: until.Sub(now)}
	}
	tooLong := len(password) > maxPasswordLength
	if tooLong { // no account has one; hashed cut, to take the same time
		password = password[:maxPasswordLength]
	}
	a, hash, err := s.Store.AdminPassword(ctx, name)
	known := err == nil && !tooLong
	if err != nil && !errors.Is(err, migration.ErrNotFound) {
		return "", fmt.Errorf("login: %w", err)
	}
	if !known || validName(name) != "" {
		hash, known = s.dummyHash(), false
	}
	var ok bool
	var verr error
	if err := s.kdf(ctx, func() { ok, verr = verifyPassword(password, hash) }); err != nil {
		return "", err
	}
	if verr != nil {
		s.Log.Error("login: account's password hash unreadable", "account", name, "err", verr)
	}
	if !known || !ok || verr != nil {
		s.limits.fail(accountKey, s.AccountLimit, now)
		if remote != "" {
			s.limits.fail(addressKey, s.AddressLimit, now)
		}
		s.Log.Warn("login failed", "account", name, "remote", remote, "known_account", known)
		return "", ErrBadLogin
	}
	s.limits.reset(accountKey)
	// Expired sessions are removed at each login: they are never valid
	// (Session checks), this only keeps the table small.
	if err := s.Store.DeleteSessionsBefore(ctx, now.Add(-s.SessionIdle), now.Add(-s.SessionMax)); err != nil {
		s.Log.Warn("login: remove expired sessions", "err", err)
	}
	id := randomSecret()
	if err := s.Store.CreateSession(ctx, &SessionRecord{Hash: digest(id), Admin: a.Name, Created: now, Seen: now}); err != nil {
		return "", fmt.Errorf("login: %w", err)
	}
	if err := s.Store.SetLastLogin(ctx, a.Name, now); err != nil {
		s.Log.Warn("login: record last login", "account", a.Name, "err", err)
	}
	if err := s.Audit(ctx, AuditEntry{Time: now, Actor: a.Name, Action: "login", Object: a.Name, Remote: remote}); err != nil {
		s.Log.Warn("login: audit", "account", a.Name, "err", err)
	}
	s.Log.Info("login", "account", a.Name, "remote", remote)
	return id, nil
}

// Logout ends a session; an unknown or expired one is not an error.
func (s *Service) Logout(ctx context.Context, sessionID string) error {
	s.init()
	if sessionID == "" {
		return nil
	}
	return s.Store.DeleteSession(ctx, digest(sessionID))
}

// Session returns who a session is and its CSRF token; an unknown,
// expired or logged-out session is ErrNoSession. The CSRF token is
// derived from the session's id (a different hash of it than the one the
// store keeps), so it is per session, needs no storage, and cannot be
// made from what the database holds.
func (s *Service) Session(ctx context.Context, sessionID string) (Principal, string, error) {
	s.init()
	if sessionID == "" || len(sessionID) > 128 {
		return Principal{}, "", ErrNoSession
	}
	hash := digest(sessionID)
	rec, err := s.Store.SessionByHash(ctx, hash)
	if errors.Is(err, migration.ErrNotFound) {
		return Principal{}, "", ErrNoSession
	}
	if err != nil {
		return Principal{}, "", fmt.Errorf("session: %w", err)
	}
	now := s.now()
	if now.Sub(rec.Seen) >= s.SessionIdle || now.Sub(rec.Created) >= s.SessionMax {
		if err := s.Store.DeleteSession(ctx, hash); err != nil {
			s.Log.Warn("session: remove expired", "err", err)
		}
		return Principal{}, "", ErrNoSession
	}
	if now.Sub(rec.Seen) >= touchEvery {
		if err := s.Store.TouchSession(ctx, hash, now); err != nil {
			s.Log.Warn("session: record request", "account", rec.Admin, "err", err)
		}
	}
	return Principal{Name: rec.Admin, Via: "session"}, csrfOf(sessionID), nil
}

// csrfOf is a session's CSRF token.
func csrfOf(sessionID string) string {
	h := sha256.Sum256([]byte("imapmigrate csrf\x00" + sessionID))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// NewToken creates an API token named name for the account admin. The
// secret ("imt_…") is returned once and stored only as its SHA-256 hash:
// it cannot be shown again.
func (s *Service) NewToken(ctx context.Context, admin, name string) (string, *Token, error) {
	s.init()
	var probs migration.ValidationErrors
	name, admin = NormalizeName(name), NormalizeName(admin)
	if err := ValidateName("Name", name); err != nil {
		probs = append(probs, err.(*migration.ValidationError))
	}
	if admin == "" {
		probs = append(probs, &migration.ValidationError{Field: "Admin", Fix: "is required: the account the token acts as"})
	}
	if len(probs) > 0 {
		return "", nil, probs
	}
	secret := TokenPrefix + randomSecret()
	t := &Token{Name: name, Admin: admin, CreatedAt: s.now()}
	err := s.Store.CreateToken(ctx, t, digest(secret))
	switch {
	case errors.Is(err, migration.ErrExists):
		return "", nil, &migration.ValidationError{Field: "Name", Value: name, Err: migration.ErrExists,
			Fix: "a token of that name exists: choose another name, or revoke that token first"}
	case errors.Is(err, migration.ErrNotFound):
		return "", nil, &migration.ValidationError{Field: "Admin", Value: admin, Err: migration.ErrNotFound,
			Fix: "no such account: `imapmigrate admin list` lists them"}
	case err != nil:
		return "", nil, fmt.Errorf("new token %s: %w", name, err)
	}
	return secret, t, nil
}

// Tokens lists the API tokens (never their secrets), by name.
func (s *Service) Tokens(ctx context.Context) ([]Token, error) {
	s.init()
	return s.Store.ListTokens(ctx)
}

// RevokeToken removes a token: requests with it are refused from now on.
func (s *Service) RevokeToken(ctx context.Context, name string) error {
	s.init()
	name = NormalizeName(name)
	err := s.Store.DeleteToken(ctx, name)
	if errors.Is(err, migration.ErrNotFound) {
		return &migration.ValidationError{Field: "Name", Value: name, Err: migration.ErrNotFound,
			Fix: "no such token: `imapmigrate token list` lists them"}
	}
	if err != nil {
		return fmt.Errorf("revoke token %s: %w", name, err)
	}
	return nil
}

// Authenticate returns who an API token's secret is; an unknown or
// revoked token is ErrNoToken. The token's LastUsed is written at most
// once a minute.
func (s *Service) Authenticate(ctx context.Context, secret string) (Principal, error) {
	s.init()
	if !strings.HasPrefix(secret, TokenPrefix) || len(secret) > 128 {
		return Principal{}, ErrNoToken
	}
	t, err := s.Store.TokenByHash(ctx, digest(secret))
	if errors.Is(err, migration.ErrNotFound) {
		return Principal{}, ErrNoToken
	}
	if err != nil {
		return Principal{}, fmt.Errorf("token: %w", err)
	}
	if now := s.now(); now.Sub(t.LastUsed) >= touchEvery {
		if err := s.Store.TouchToken(ctx, t.Name, now); err != nil {
			s.Log.Warn("token: record use", "token", t.Name, "err", err)
		}
	}
	return Principal{Name: t.Admin, Via: "token", Token: t.Name}, nil
}

// Audit records a change. A zero Time is now; an empty Actor is the
// principal of ctx.
func (s *Service) Audit(ctx context.Context, e AuditEntry) error {
	s.init()
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	if e.Actor == "" {
		if p, ok := From(ctx); ok {
			e.Actor = p.String()
		}
	}
	if err := s.Store.AppendAudit(ctx, &e); err != nil {
		return fmt.Errorf("audit %s: %w", e.Action, err)
	}
	return nil
}

// DefaultAuditPage and MaxAuditPage bound AuditLog's limit.
const (
	DefaultAuditPage = 50
	MaxAuditPage     = 1000
)

// AuditLog returns up to limit entries (0: DefaultAuditPage), newest
// first, older than the entry beforeID (0: from the newest): the next
// page starts before the last entry's ID.
func (s *Service) AuditLog(ctx context.Context, limit int, beforeID int64) ([]AuditEntry, error) {
	s.init()
	if limit <= 0 {
		limit = DefaultAuditPage
	}
	limit = min(limit, MaxAuditPage)
	return s.Store.ListAudit(ctx, limit, beforeID)
}
