package migration

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/csvfile"
	"github.com/imapmigrate/imapmigrate/internal/folders"
	"github.com/imapmigrate/imapmigrate/internal/imapconn"
	"github.com/imapmigrate/imapmigrate/internal/secret"
	"github.com/imapmigrate/imapmigrate/internal/sensitive"
)

// Sealer seals and opens secrets (package secret), each bound to the
// place it is stored at.
type Sealer interface {
	Seal(plaintext string, at secret.Place) (string, error)
	Open(sealed string, at secret.Place) (string, error)
}

// Service holds every use case; the CLI, the REST API and the dashboard
// only parse, call one method and render.
type Service struct {
	Store Store
	Box   Sealer
	// Probe checks that an endpoint answers (and, with a user, logs in);
	// NewEndpoint calls it unless told not to.
	Probe func(ctx context.Context, cfg *imapconn.Config) error
	Now   func() time.Time
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// ValidationError is bad input, with what to fix.
type ValidationError struct{ Msg string }

func (e *ValidationError) Error() string { return e.Msg }

func invalid(format string, args ...any) error {
	return &ValidationError{Msg: fmt.Sprintf(format, args...)}
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// EndpointParams are the settings of NewEndpoint and SetEndpoint.
type EndpointParams struct {
	Endpoint
	AdminPassword  string // plaintext, sealed before it is stored
	SkipVerify     bool   // do not test the connection first
	ChangePassword bool   // SetEndpoint: AdminPassword replaces the old one
}

func (p *EndpointParams) validate() error {
	e := &p.Endpoint
	if !nameRE.MatchString(e.Name) {
		return invalid("endpoint name %q: use letters, digits, '-' and '_' only (at most 64)", e.Name)
	}
	if e.Server == "" {
		return invalid("--server is required")
	}
	if e.Security == "" {
		e.Security = imapconn.SecuritySSL
	}
	switch e.Security {
	case imapconn.SecurityNone, imapconn.SecuritySSL, imapconn.SecurityStartTLS:
	default:
		return invalid("--security %q: must be none, ssl (implicit TLS) or tls (STARTTLS)", e.Security)
	}
	if e.Port == 0 {
		e.Port = 143
		if e.Security == imapconn.SecuritySSL {
			e.Port = 993
		}
	}
	if e.Auth == "" {
		e.Auth = imapconn.AuthLogin
	}
	if e.Auth != imapconn.AuthLogin && e.Auth != imapconn.AuthPlain {
		return invalid("--auth %q: must be login or plain", e.Auth)
	}
	if e.MasterSeparator == "" {
		e.MasterSeparator = "*"
	}
	if e.MaxConcurrentMigrations == 0 {
		e.MaxConcurrentMigrations = DefaultMaxConcurrentMigrations
	}
	if e.MaxConcurrentIncrementalSyncs == 0 || (e.MaxConcurrentIncrementalSyncs == DefaultMaxConcurrentIncrementalSyncs &&
		e.MaxConcurrentMigrations < DefaultMaxConcurrentIncrementalSyncs) {
		// The default, capped by a lower MaxConcurrentMigrations.
		e.MaxConcurrentIncrementalSyncs = min(DefaultMaxConcurrentIncrementalSyncs, e.MaxConcurrentMigrations)
	}
	if e.MaxConcurrentMigrations < 1 || e.MaxConcurrentMigrations > MaxConcurrentLimit {
		return invalid("--max-concurrent-migrations %d: must be between 1 and %d", e.MaxConcurrentMigrations, MaxConcurrentLimit)
	}
	if e.MaxConcurrentIncrementalSyncs < 1 || e.MaxConcurrentIncrementalSyncs > e.MaxConcurrentMigrations {
		return invalid("--max-concurrent-incremental-syncs %d: must be between 1 and --max-concurrent-migrations (%d)",
			e.MaxConcurrentIncrementalSyncs, e.MaxConcurrentMigrations)
	}
	switch e.MailboxAccess {
	case "":
	case AccessMaster, AccessAuthzid:
		if e.AdminUser == "" || (p.AdminPassword == "" && e.AdminPassword == "") {
			return invalid("--mailbox-access %s needs --admin-user and --admin-password-file", e.MailboxAccess)
		}
	case AccessPerUser:
		// The migration file's TargetUserName/TargetPassword columns say.
	case AccessXOAUTH2:
		if e.TokenCommand == "" {
			return invalid("--mailbox-access xoauth2 needs --token-command")
		}
	default:
		return invalid("--mailbox-access %q: must be master, authzid, per-user or xoauth2", e.MailboxAccess)
	}
	return nil
}

// NewEndpoint tests the connection (unless SkipVerify) and saves the
// endpoint, its admin password sealed.
func (s *Service) NewEndpoint(ctx context.Context, p EndpointParams) (*Endpoint, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	if !p.SkipVerify && s.Probe != nil {
		if err := s.Probe(ctx, s.probeConfig(&p)); err != nil {
			return nil, fmt.Errorf("endpoint %s: connection test failed (nothing was saved; --skip-verify-connection saves it anyway): %w", p.Name, err)
		}
	}
	e := p.Endpoint
	e.CreatedAt = s.now()
	if p.AdminPassword != "" {
		sealed, err := s.Box.Seal(p.AdminPassword, adminPasswordPlace(&e))
		if err != nil {
			return nil, err
		}
		e.AdminPassword = sensitive.String(sealed)
	}
	if err := s.Store.PutEndpoint(ctx, &e, true); err != nil {
		if errors.Is(err, ErrExists) {
			return nil, invalid("endpoint %s already exists: change it with 'endpoint set' or choose another name", e.Name)
		}
		return nil, err
	}
	return &e, nil
}

// probeConfig is a connection to the endpoint, logged in as its admin when
// it has one.
func (s *Service) probeConfig(p *EndpointParams) *imapconn.Config {
	cfg := p.Endpoint.config("endpoint " + p.Name)
	if p.AdminUser != "" && p.AdminPassword != "" && p.MailboxAccess == AccessAuthzid {
		cfg.Auth, cfg.User, cfg.Password = imapconn.AuthPlain, p.AdminUser, sensitive.String(p.AdminPassword)
	}
	return cfg
}

// SetEndpoint changes an endpoint's settings.
func (s *Service) SetEndpoint(ctx context.Context, p EndpointParams) (*Endpoint, error) {
	old, err := s.Store.Endpoint(ctx, p.Name)
	if err != nil {
		return nil, s.notFound("endpoint", p.Name, err)
	}
	if !p.ChangePassword {
		p.Endpoint.AdminPassword = old.AdminPassword
	}
	if err := p.validate(); err != nil {
		return nil, err
	}
	e := p.Endpoint
	e.CreatedAt = old.CreatedAt
	switch {
	case p.ChangePassword && p.AdminPassword != "":
		sealed, err := s.Box.Seal(p.AdminPassword, adminPasswordPlace(&e))
		if err != nil {
			return nil, err
		}
		e.AdminPassword = sensitive.String(sealed)
	case e.AdminPassword != "" && adminPasswordPlace(&e) != adminPasswordPlace(old):
		// The password is bound to the server it was given for: an admin
		// who moves the endpoint moves it too.
		pw, err := s.Box.Open(old.AdminPassword.Reveal(), adminPasswordPlace(old))
		if err != nil {
			return nil, fmt.Errorf("admin password of endpoint %s: %w", old.Name, err)
		}
		sealed, err := s.Box.Seal(pw, adminPasswordPlace(&e))
		if err != nil {
			return nil, err
		}
		e.AdminPassword = sensitive.String(sealed)
	}
	if err := s.Store.PutEndpoint(ctx, &e, false); err != nil {
		return nil, err
	}
	return &e, nil
}

// Endpoints returns one endpoint (name) or all.
func (s *Service) Endpoints(ctx context.Context, name string) ([]Endpoint, error) {
	if name != "" {
		e, err := s.Store.Endpoint(ctx, name)
		if err != nil {
			return nil, s.notFound("endpoint", name, err)
		}
		return []Endpoint{*e}, nil
	}
	return s.Store.Endpoints(ctx)
}

// RemoveEndpoint deletes an endpoint no batch uses.
func (s *Service) RemoveEndpoint(ctx context.Context, name string) error {
	err := s.Store.DeleteEndpoint(ctx, name)
	if errors.Is(err, ErrInUse) {
		return invalid("endpoint %s is used by a batch: remove the batch first", name)
	}
	return s.notFound("endpoint", name, err)
}

func (s *Service) notFound(what, name string, err error) error {
	if errors.Is(err, ErrNotFound) {
		return invalid("%s %s does not exist", what, name)
	}
	return err
}

// BatchParams are the settings of NewBatch.
type BatchParams struct {
	Name                string
	Source, Target      string
	CSV                 io.Reader
	CSVOptions          csvfile.Options
	ExcludeFolders      []string
	IncrementalInterval time.Duration
	MaxMessageSize      int64
	ReceivedAfter       time.Time
	AutoStart           bool
}

// NewBatch validates everything (name, endpoints, the whole migration file,
// exclusions, addresses already migrating elsewhere) and then creates the
// batch (Created) and its users (Queued) in one transaction. On any
// problem nothing is created.
func (s *Service) NewBatch(ctx context.Context, p BatchParams) (*Batch, *csvfile.File, error) {
	if !nameRE.MatchString(p.Name) {
		return nil, nil, invalid("batch name %q: use letters, digits, '-' and '_' only (at most 64)", p.Name)
	}
	src, err := s.Store.Endpoint(ctx, p.Source)
	if err != nil {
		return nil, nil, s.notFound("source endpoint", p.Source, err)
	}
	tgt, err := s.Store.Endpoint(ctx, p.Target)
	if err != nil {
		return nil, nil, s.notFound("target endpoint", p.Target, err)
	}
	if tgt.MailboxAccess == "" {
		return nil, nil, invalid("endpoint %s cannot be a target: it does not say how to open a mailbox (endpoint set %s --mailbox-access master|authzid|xoauth2 …)", tgt.Name, tgt.Name)
	}
	for _, x := range p.ExcludeFolders {
		if err := folders.ValidateExclude(x); err != nil {
			return nil, nil, invalid("--exclude-folder %q: %v", x, err)
		}
	}
	if p.IncrementalInterval == 0 {
		p.IncrementalInterval = DefaultIncrementalInterval
	}
	if p.IncrementalInterval < time.Second {
		return nil, nil, invalid("--incremental-interval %v: at least 1s", p.IncrementalInterval)
	}
	opts := p.CSVOptions
	if opts.MasterSeparator == "" {
		opts.MasterSeparator = src.MasterSeparator
	}
	file, err := csvfile.Parse(p.CSV, opts)
	if err != nil {
		return nil, nil, err
	}
	users := make([]User, 0, len(file.Rows))
	var missing []string
	for _, r := range file.Rows {
		if tgt.MailboxAccess == AccessPerUser && r.TargetUserName == "" {
			missing = append(missing, fmt.Sprint(r.Number))
			continue
		}
		sealed, err := s.Box.Seal(r.Password.Reveal(), userPasswordPlace(p.Name, r.EmailAddress))
		if err != nil {
			return nil, nil, err
		}
		u := User{EmailAddress: r.EmailAddress, UserName: r.UserName(), UserRoot: r.UserRoot(), Password: sensitive.String(sealed),
			TargetUserName: r.TargetUserName}
		if r.TargetPassword != "" {
			sealed, err := s.Box.Seal(r.TargetPassword.Reveal(), targetPasswordPlace(p.Name, r.EmailAddress))
			if err != nil {
				return nil, nil, err
			}
			u.TargetPassword = sensitive.String(sealed)
		}
		users = append(users, u)
	}
	if len(missing) > 0 {
		if len(missing) > 20 {
			missing = append(missing[:20], "…")
		}
		return nil, file, invalid("target endpoint %s opens mailboxes per user, but rows %s have no TargetUserName/TargetPassword: fill those columns, or use a target endpoint with master or authzid access",
			tgt.Name, strings.Join(missing, ", "))
	}
	b := &Batch{Name: p.Name, SourceEndpoint: src.Name, TargetEndpoint: tgt.Name, Intent: IntentCreated, ExcludeFolders: p.ExcludeFolders,
		IncrementalInterval: p.IncrementalInterval, MaxMessageSize: p.MaxMessageSize, ReceivedAfter: p.ReceivedAfter, CreatedAt: s.now()}
	if err := s.Store.CreateBatch(ctx, b, users); err != nil {
		var ce *ConflictError
		switch {
		case errors.As(err, &ce):
			var lines []string
			for i, e := range ce.Emails {
				lines = append(lines, fmt.Sprintf("%s is already in batch %s", e, ce.Batches[i]))
				if i == 19 && len(ce.Emails) > 20 {
					lines = append(lines, fmt.Sprintf("and %d more", len(ce.Emails)-20))
					break
				}
			}
			return nil, file, invalid("nothing was created: %s — complete or remove that batch, or take these rows out of the file", strings.Join(lines, "; "))
		case errors.Is(err, ErrExists):
			return nil, file, invalid("batch %s already exists: choose another name", p.Name)
		}
		return nil, file, err
	}
	if p.AutoStart {
		if err := s.StartBatch(ctx, p.Name); err != nil {
			return nil, file, err
		}
	}
	got, err := s.Batch(ctx, p.Name)
	return got, file, err
}

// BatchSettings are what SetBatch may change; nil fields stay as they are.
type BatchSettings struct {
	ExcludeFolders      *[]string
	IncrementalInterval *time.Duration
	MaxMessageSize      *int64
	ReceivedAfter       *time.Time
}

// SetBatch changes a batch's settings, only while it is Created (as in
// Exchange Online: a started batch keeps the settings it started with).
func (s *Service) SetBatch(ctx context.Context, name string, set BatchSettings) (*Batch, error) {
	b, err := s.Batch(ctx, name)
	if err != nil {
		return nil, err
	}
	if b.Status != BatchCreated {
		return nil, invalid("batch %s is %s: its settings can be changed only before it is started", name, b.Status)
	}
	if set.ExcludeFolders != nil {
		for _, x := range *set.ExcludeFolders {
			if err := folders.ValidateExclude(x); err != nil {
				return nil, invalid("--exclude-folder %q: %v", x, err)
			}
		}
		b.ExcludeFolders = *set.ExcludeFolders
	}
	if set.IncrementalInterval != nil {
		if *set.IncrementalInterval < time.Second {
			return nil, invalid("--incremental-interval %v: at least 1s", *set.IncrementalInterval)
		}
		b.IncrementalInterval = *set.IncrementalInterval
	}
	if set.MaxMessageSize != nil {
		b.MaxMessageSize = *set.MaxMessageSize
	}
	if set.ReceivedAfter != nil {
		b.ReceivedAfter = *set.ReceivedAfter
	}
	if err := s.Store.UpdateBatchSettings(ctx, b); err != nil {
		return nil, err
	}
	return s.Batch(ctx, name)
}

// Batch returns a batch with its derived status and user counts.
func (s *Service) Batch(ctx context.Context, name string) (*Batch, error) {
	b, statuses, err := s.Store.Batch(ctx, name)
	if err != nil {
		return nil, s.notFound("batch", name, err)
	}
	b.Status = BatchStatusOf(b.Intent, statuses)
	b.Users = len(statuses)
	b.Counts = make(map[UserStatus]int)
	for _, st := range statuses {
		b.Counts[st]++
	}
	return b, nil
}

// Batches returns every batch, or one.
func (s *Service) Batches(ctx context.Context, name string) ([]Batch, error) {
	if name != "" {
		b, err := s.Batch(ctx, name)
		if err != nil {
			return nil, err
		}
		return []Batch{*b}, nil
	}
	all, err := s.Store.Batches(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Batch, 0, len(all))
	for _, b := range all {
		full, err := s.Batch(ctx, b.Name)
		if err != nil {
			continue // removed meanwhile
		}
		out = append(out, *full)
	}
	return out, nil
}

// StartBatch starts a created or stopped batch; failed users are retried.
func (s *Service) StartBatch(ctx context.Context, name string) error {
	b, err := s.Batch(ctx, name)
	if err != nil {
		return err
	}
	switch b.Intent {
	case IntentCompleting:
		return invalid("batch %s is %s: it cannot be started again", name, b.Status)
	case IntentRemoving:
		return invalid("batch %s is being removed", name)
	}
	return s.Store.SetIntent(ctx, name, Transition{Intent: IntentRunning, Now: s.now()})
}

// StopBatch stops syncing: running users stop at a safe point (their state
// committed) and the batch can be started again.
func (s *Service) StopBatch(ctx context.Context, name string) error {
	b, err := s.Batch(ctx, name)
	if err != nil {
		return err
	}
	if b.Intent != IntentRunning && b.Intent != IntentFailed {
		return invalid("batch %s is %s: only a syncing or synced batch can be stopped", name, b.Status)
	}
	return s.Store.SetIntent(ctx, name, Transition{Intent: IntentStopped, Now: s.now()})
}

// CompleteBatch runs a last incremental pass for every user, then stops
// syncing for good (after the MX record has moved).
func (s *Service) CompleteBatch(ctx context.Context, name string) error {
	b, err := s.Batch(ctx, name)
	if err != nil {
		return err
	}
	if b.Intent == IntentCreated || b.Intent == IntentRemoving {
		return invalid("batch %s is %s: start it and let it sync before completing it", name, b.Status)
	}
	return s.Store.SetIntent(ctx, name, Transition{Intent: IntentCompleting, Now: s.now()})
}

// RemoveBatch stops the batch and deletes it with its users' sync state
// and sealed passwords; while a worker still holds a user it stays
// Removing and the scheduler finishes the removal. removed says whether it
// is gone already.
func (s *Service) RemoveBatch(ctx context.Context, name string) (removed bool, err error) {
	if _, err := s.Batch(ctx, name); err != nil {
		return false, err
	}
	if err := s.Store.SetIntent(ctx, name, Transition{Intent: IntentRemoving, Now: s.now()}); err != nil {
		return false, err
	}
	err = s.Store.DeleteBatch(ctx, name)
	if errors.Is(err, ErrInUse) {
		return false, nil
	}
	return err == nil, err
}

// Users lists migration users, by batch and status (both optional).
func (s *Service) Users(ctx context.Context, batch string, status UserStatus) ([]User, error) {
	return s.Store.Users(ctx, batch, status)
}

// User returns the migration user with this address.
func (s *Service) User(ctx context.Context, email string) (*User, error) {
	u, err := s.Store.UserByEmail(ctx, email)
	if err != nil {
		return nil, s.notFound("migration user", email, err)
	}
	return u, nil
}
