package migration

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/imapconn"
	"github.com/imapmigrate/imapmigrate/internal/sensitive"
)

// The use cases the REST API needs besides those of the CLI and the
// dashboard: a partial change of an endpoint (the CLI merges its changed
// flags itself), a connection test of a server that is not saved (endpoint
// test), and the users of a batch's report.

// EndpointPatch is what PatchEndpoint changes; nil fields stay as they are.
type EndpointPatch struct {
	Server                        *string
	Port                          *int
	Security                      *imapconn.Security
	Auth                          *imapconn.AuthMech
	MasterSeparator               *string
	CAFile                        *string
	InsecureSkipVerify            *bool
	MaxConcurrentMigrations       *int
	MaxConcurrentIncrementalSyncs *int
	MailboxAccess                 *MailboxAccess
	AdminUser                     *string
	// AdminPassword (plaintext) replaces the stored one; "" removes it.
	AdminPassword *string
	TokenCommand  *string
}

// PatchEndpoint changes the settings p gives and keeps the others, as
// SetEndpoint validates them (Set-MigrationEndpoint with some parameters).
func (s *Service) PatchEndpoint(ctx context.Context, name string, p EndpointPatch) (*Endpoint, error) {
	old, err := s.Store.Endpoint(ctx, name)
	if err != nil {
		return nil, s.notFound("endpoint", name, err)
	}
	e := *old
	set(&e.Server, p.Server)
	set(&e.Port, p.Port)
	set(&e.Security, p.Security)
	set(&e.Auth, p.Auth)
	set(&e.MasterSeparator, p.MasterSeparator)
	set(&e.CAFile, p.CAFile)
	set(&e.InsecureSkipVerify, p.InsecureSkipVerify)
	set(&e.MaxConcurrentMigrations, p.MaxConcurrentMigrations)
	set(&e.MaxConcurrentIncrementalSyncs, p.MaxConcurrentIncrementalSyncs)
	set(&e.MailboxAccess, p.MailboxAccess)
	set(&e.AdminUser, p.AdminUser)
	set(&e.TokenCommand, p.TokenCommand)
	params := EndpointParams{Endpoint: e}
	if p.AdminPassword != nil {
		params.AdminPassword, params.ChangePassword = *p.AdminPassword, true
		if *p.AdminPassword == "" {
			params.Endpoint.AdminPassword = ""
		}
	}
	return s.SetEndpoint(ctx, params)
}

// set stores *v in dst when v is given.
func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// ServerTest is a connection test of a server that nothing is saved for
// (Test-MigrationServerAvailability, `endpoint test`).
type ServerTest struct {
	Server             string
	Port               int // 0: 993 for ssl, else 143
	Security           imapconn.Security
	CAFile             string
	InsecureSkipVerify bool
	// User, when set, logs in with Password (by Auth) and counts the
	// folders.
	Auth     imapconn.AuthMech
	User     string
	Password string
	// Flag names a setting in the report's fixes the way the caller sets
	// it (imapconn.Config.Flag); nil: "--security".
	Flag func(setting string) string
}

// DefaultServerTestTimeout bounds a whole connection test.
const DefaultServerTestTimeout = time.Minute

// TestServer runs the connection test and returns every step with its
// verdict; bad settings are ValidationErrors and nothing is tried.
func (s *Service) TestServer(ctx context.Context, t ServerTest) (*imapconn.ProbeReport, error) {
	var bad problems
	if t.Server == "" {
		bad.add("Server", "", "required: the IMAP server's host name")
	}
	if t.Security == "" {
		t.Security = imapconn.SecuritySSL
	}
	switch t.Security {
	case imapconn.SecurityNone, imapconn.SecuritySSL, imapconn.SecurityStartTLS:
	default:
		bad.add("Security", string(t.Security), "must be none, ssl (implicit TLS) or tls (STARTTLS)")
	}
	if t.Port < 0 || t.Port > 65535 {
		bad.add("Port", strconv.Itoa(t.Port), "must be between 1 and 65535 (993 for ssl, 143 for none and tls)")
	}
	if t.Auth == "" {
		t.Auth = imapconn.AuthLogin
	}
	switch t.Auth {
	case imapconn.AuthLogin, imapconn.AuthPlain, imapconn.AuthXOAUTH2, imapconn.AuthOAuthBearer:
	default:
		bad.add("Auth", string(t.Auth), "must be login, plain, xoauth2 or oauthbearer")
	}
	switch {
	case t.User == "" && t.Password != "":
		bad.add("User", "", "required with a password: the user to log in as")
	case t.User != "" && t.Password == "":
		bad.add("Password", "", "required with a user: the user's password (or bearer token for xoauth2 and oauthbearer)")
	}
	if err := bad.err(); err != nil {
		return nil, err
	}
	cfg := &imapconn.Config{Host: t.Server, Port: t.Port, Security: t.Security, CAFile: t.CAFile, InsecureSkipVerify: t.InsecureSkipVerify,
		Auth: t.Auth, User: t.User, Password: sensitive.String(t.Password), DialTimeout: 10 * time.Second, Flag: t.Flag}
	ctx, cancel := context.WithTimeout(ctx, DefaultServerTestTimeout)
	defer cancel()
	return imapconn.Probe(ctx, cfg, t.User != "", slog.New(slog.DiscardHandler)), nil
}

// ReportUsers returns every user of a batch, for its status report
// (ErrNotFound for an unknown batch, unlike Users).
func (s *Service) ReportUsers(ctx context.Context, batch string) ([]User, error) {
	if _, _, err := s.Store.Batch(ctx, batch); err != nil {
		return nil, s.notFound("batch", batch, err)
	}
	return s.Users(ctx, batch, "")
}

// maxTimeSpanDays keeps a parsed TimeSpan within time.Duration.
const maxTimeSpanDays = 100_000

// ParseTimeSpan reads a duration as TimeSpan shows one ("1.00:00:00",
// "02:30:00", "-00:05:00") or in Go's form ("24h", "90m").
func ParseTimeSpan(s string) (TimeSpan, error) {
	s = strings.TrimSpace(s)
	if d, err := time.ParseDuration(s); err == nil {
		return TimeSpan(d), nil
	}
	bad := fmt.Errorf("not a duration: write e.g. 24h, 90m, or 1.00:00:00 (d.hh:mm:ss)")
	rest, neg := strings.CutPrefix(s, "-")
	var days int64
	if d, hms, ok := strings.Cut(rest, "."); ok && strings.Count(hms, ":") == 2 {
		n, err := strconv.ParseInt(d, 10, 32)
		if err != nil || n < 0 || n > maxTimeSpanDays {
			return 0, bad
		}
		days, rest = n, hms
	}
	parts := strings.Split(rest, ":")
	if len(parts) != 3 {
		return 0, bad
	}
	var hms [3]int64
	for i, p := range parts {
		n, err := strconv.ParseInt(p, 10, 32)
		if err != nil || n < 0 || len(p) > 2 || (i > 0 && n > 59) || (i == 0 && n > 23) {
			return 0, bad
		}
		hms[i] = n
	}
	d := time.Duration(days)*24*time.Hour + time.Duration(hms[0])*time.Hour + time.Duration(hms[1])*time.Minute + time.Duration(hms[2])*time.Second
	if neg {
		d = -d
	}
	return TimeSpan(d), nil
}

// UnmarshalText reads a TimeSpan as MarshalText writes it (or in Go's
// form), so that a client reads back what it is shown.
func (d *TimeSpan) UnmarshalText(b []byte) error {
	v, err := ParseTimeSpan(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}
