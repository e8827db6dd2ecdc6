package migration

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
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
	// Probe checks that an endpoint answers (and, with a user, logs in and
	// lists the folders); NewEndpoint calls it unless told not to. A failed
	// step is a *ProbeError.
	Probe func(ctx context.Context, cfg *imapconn.Config) error
	Now   func() time.Time
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// EndpointParams are the settings of NewEndpoint and SetEndpoint.
type EndpointParams struct {
	Endpoint
	AdminPassword  string // plaintext, sealed before it is stored
	SkipVerify     bool   // do not test the connection first
	ChangePassword bool   // SetEndpoint: AdminPassword replaces the old one
	// TestMailbox (NewEndpoint, a target endpoint): the address of a
	// mailbox that the connection test opens the way batches will, as the
	// endpoint's MailboxAccess says. Without it a master or authzid
	// target is tested by logging in as its admin alone.
	TestMailbox string
	// Flag (NewEndpoint) names a setting in the connection test's fixes
	// the way the caller sets it (imapconn.Config.Flag: "security",
	// "test-mailbox", "skip-verify-connection"…); nil: "--security".
	Flag func(setting string) string
}

// ProbeError is a failed step of a connection test (imapconn.Probe): which
// (imapconn.StepLogin…), what happened and the likely fix.
type ProbeError struct {
	Step, Detail, Fix string
}

func (e *ProbeError) Error() string { return e.Step + ": " + e.Detail + " — " + e.Fix }

// validate fills in the defaults and reports every bad setting.
func (p *EndpointParams) validate() error {
	e := &p.Endpoint
	var bad problems
	if !nameRE.MatchString(e.Name) {
		bad.add("Name", e.Name, "use letters, digits, '-' and '_' only (at most 64)")
	}
	if e.Server == "" {
		bad.add("Server", "", "required: the IMAP server's host name")
	}
	if e.Security == "" {
		e.Security = imapconn.SecuritySSL
	}
	switch e.Security {
	case imapconn.SecurityNone, imapconn.SecuritySSL, imapconn.SecurityStartTLS:
	default:
		bad.add("Security", string(e.Security), "must be none, ssl (implicit TLS) or tls (STARTTLS)")
	}
	if e.Port == 0 {
		e.Port = 143
		if e.Security == imapconn.SecuritySSL {
			e.Port = 993
		}
	}
	if e.Port < 0 || e.Port > 65535 {
		bad.add("Port", strconv.Itoa(e.Port), "must be between 1 and 65535 (993 for ssl, 143 for none and tls)")
	}
	if e.Auth == "" {
		e.Auth = imapconn.AuthLogin
	}
	if e.Auth != imapconn.AuthLogin && e.Auth != imapconn.AuthPlain {
		bad.add("Auth", string(e.Auth), "must be login or plain")
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
		bad.add("MaxConcurrentMigrations", strconv.Itoa(e.MaxConcurrentMigrations), "must be between 1 and %d", MaxConcurrentLimit)
	} else if e.MaxConcurrentIncrementalSyncs < 1 || e.MaxConcurrentIncrementalSyncs > e.MaxConcurrentMigrations {
		bad.add("MaxConcurrentIncrementalSyncs", strconv.Itoa(e.MaxConcurrentIncrementalSyncs),
			"must be between 1 and the most concurrent migrations (%d)", e.MaxConcurrentMigrations)
	}
	switch e.MailboxAccess {
	case "":
	case AccessMaster, AccessAuthzid:
		if e.AdminUser == "" {
			bad.add("AdminUser", "", "required with mailbox access %s: the admin (master) user", e.MailboxAccess)
		}
		if p.AdminPassword == "" && e.AdminPassword == "" {
			bad.add("AdminPassword", "", "required with mailbox access %s: the admin user's password", e.MailboxAccess)
		}
	case AccessPerUser:
		// The migration file's TargetUserName/TargetPassword columns say.
	case AccessXOAUTH2:
		if e.TokenCommand == "" {
			bad.add("TokenCommand", "", "required with mailbox access xoauth2: a command that prints a bearer token for an address")
		}
	default:
		bad.add("MailboxAccess", string(e.MailboxAccess), "must be master, authzid, per-user or xoauth2")
	}
	if m := p.TestMailbox; m != "" {
		switch {
		case strings.ContainsFunc(m, func(r rune) bool { return r <= ' ' || r == 0x7f }):
			bad.add("TestMailbox", m, "must be one mailbox address, without spaces")
		case p.SkipVerify:
			bad.add("TestMailbox", m, "nothing is tested when the connection test is skipped: leave out one of the two")
		case e.MailboxAccess == "":
			bad.add("TestMailbox", m, "only a target endpoint opens mailboxes: give its mailbox access too, or leave this out")
		case e.MailboxAccess == AccessPerUser:
			bad.add("TestMailbox", m, "a per-user target opens each mailbox with the migration file's TargetUserName and TargetPassword: leave this out")
		}
	}
	return bad.err()
}

// NewEndpoint tests the connection (unless SkipVerify) and saves the
// endpoint, its admin password sealed.
func (s *Service) NewEndpoint(ctx context.Context, p EndpointParams) (*Endpoint, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	if !p.SkipVerify && s.Probe != nil {
		cfg, err := s.probeConfig(ctx, &p)
		if err != nil {
			return nil, fmt.Errorf("endpoint %s: connection test failed (nothing was saved): %w", p.Name, err)
		}
		if err := s.Probe(ctx, cfg); err != nil {
			var pe *ProbeError
			if errors.As(err, &pe) && pe.Step == imapconn.StepLogin && p.TestMailbox == "" && cfg.User == p.AdminUser {
				// The admin's password, or an admin who logs in only as
				// someone else: the server does not say which.
				pe.Fix += fmt.Sprintf("; the test logged in as %s alone: if %s can log in only as another user (a Dovecot master user), "+
					"name a mailbox for the test to open as batches will, with %s", p.AdminUser, p.AdminUser, cfg.Flag("test-mailbox"))
			}
			return nil, fmt.Errorf("endpoint %s: connection test failed (nothing was saved; %s saves it anyway): %w", p.Name, cfg.Flag("skip-verify-connection"), err)
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
			return nil, ValidationErrors{{Field: "Name", Value: e.Name, Fix: "an endpoint of this name exists already: choose another name, or change that endpoint", Err: ErrExists}}
		}
		return nil, err
	}
	return &e, nil
}

// probeConfig is the connection test of a new endpoint: with a test
// mailbox, that mailbox opened as a batch opens it (Claim.TargetConfig);
// else, for a master or authzid target, a login as its admin alone, so
// that a wrong admin password is refused before anything is saved; else
// the connection without a login.
func (s *Service) probeConfig(ctx context.Context, p *EndpointParams) (*imapconn.Config, error) {
	var cfg *imapconn.Config
	switch {
	case p.TestMailbox != "":
		c := &Claim{Target: p.Endpoint, User: User{EmailAddress: p.TestMailbox}}
		var err error
		if cfg, err = c.TargetConfig(ctx, givenPassword(p.AdminPassword)); err != nil {
			return nil, err
		}
		cfg.Name = "endpoint " + p.Name
	case (p.MailboxAccess == AccessMaster || p.MailboxAccess == AccessAuthzid) && p.AdminPassword != "":
		cfg = p.Endpoint.config("endpoint " + p.Name)
		cfg.User, cfg.Password = p.AdminUser, sensitive.String(p.AdminPassword)
		if p.MailboxAccess == AccessAuthzid {
			cfg.Auth = imapconn.AuthPlain
		}
	default:
		cfg = p.Endpoint.config("endpoint " + p.Name)
	}
	// Nothing is saved yet: the hints name the settings being given
	// (--security), not the command that changes a saved endpoint.
	cfg.Flag = func(name string) string { return "--" + name }
	if p.Flag != nil {
		cfg.Flag = p.Flag
	}
	return cfg, nil
}

// givenPassword is an admin password given in plaintext, not sealed yet,
// for TargetConfig to use as it would a stored one.
type givenPassword string

func (g givenPassword) Open(string, secret.Place) (string, error) { return string(g), nil }

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
		return refused(ErrInUse, "endpoint %s is used by a batch: remove the batch first", name)
	}
	return s.notFound("endpoint", name, err)
}

func (s *Service) notFound(what, name string, err error) error {
	if errors.Is(err, ErrNotFound) {
		return refused(ErrNotFound, "%s %s does not exist", what, name)
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
	// NotificationEmails receive the batch's report e-mails, every
	// ReportInterval (0: DefaultReportInterval) while it syncs.
	NotificationEmails []string
	ReportInterval     time.Duration
}

// NewBatch validates everything (name, endpoints, the whole migration file,
// exclusions, addresses already migrating elsewhere) and then creates the
// batch (Created) and its users (Queued) in one transaction. On any
// problem nothing is created, and the error holds every problem found:
// the settings' as ValidationErrors, the migration file's rows as a
// *csvfile.ProblemsError (errors.As finds each).
func (s *Service) NewBatch(ctx context.Context, p BatchParams) (*Batch, *csvfile.File, error) {
	var bad problems
	if !nameRE.MatchString(p.Name) {
		bad.add("Name", p.Name, "use letters, digits, '-' and '_' only (at most 64)")
	}
	endpoint := func(field, name string) (*Endpoint, error) {
		if name == "" {
			bad.add(field, "", "required: the name of an endpoint")
			return nil, nil
		}
		e, err := s.Store.Endpoint(ctx, name)
		if errors.Is(err, ErrNotFound) {
			bad.add(field, name, "no endpoint has this name: create it first, or check the name")
			return nil, nil
		}
		return e, err
	}
	src, err := endpoint("Source", p.Source)
	if err != nil {
		return nil, nil, err
	}
	tgt, err := endpoint("Target", p.Target)
	if err != nil {
		return nil, nil, err
	}
	if tgt != nil && tgt.MailboxAccess == "" {
		bad.add("Target", tgt.Name, "this endpoint cannot be a target: it does not say how to open a mailbox; give it a mailbox access (master, authzid, per-user or xoauth2), or choose another target endpoint")
	}
	badExcludes(&bad, p.ExcludeFolders)
	p.NotificationEmails, p.ReportInterval = checkNotify(&bad, p.NotificationEmails, p.ReportInterval)
	if p.IncrementalInterval == 0 {
		p.IncrementalInterval = DefaultIncrementalInterval
	}
	if p.IncrementalInterval < time.Second {
		bad.add("IncrementalInterval", p.IncrementalInterval.String(), "must be at least 1s")
	}
	opts := p.CSVOptions
	if opts.MasterSeparator == "" && src != nil {
		opts.MasterSeparator = src.MasterSeparator
	}
	var file *csvfile.File
	var fileErr error
	if p.CSV == nil {
		bad.add("CSV", "", "required: the migration file")
	} else if err := opts.Validate(); err != nil {
		bad.add("CSVOptions", "", "%v", err)
	} else if file, err = csvfile.Parse(p.CSV, opts); err != nil {
		var pe *csvfile.ProblemsError
		if !errors.As(err, &pe) {
			return nil, nil, err
		}
		fileErr = pe
	} else if tgt != nil && tgt.MailboxAccess == AccessPerUser {
		fileErr = perUserProblems(tgt, file)
	}
	if err := join(bad.err(), fileErr); err != nil {
		return nil, file, err
	}
	users := make([]User, 0, len(file.Rows))
	for _, r := range file.Rows {
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
	b := &Batch{Name: p.Name, SourceEndpoint: src.Name, TargetEndpoint: tgt.Name, Intent: IntentCreated, ExcludeFolders: p.ExcludeFolders,
		IncrementalInterval: TimeSpan(p.IncrementalInterval), MaxMessageSize: p.MaxMessageSize, ReceivedAfter: p.ReceivedAfter, CreatedAt: s.now(),
		NotificationEmails: p.NotificationEmails, ReportInterval: TimeSpan(p.ReportInterval)}
	if err := s.Store.CreateBatch(ctx, b, users); err != nil {
		var ce *ConflictError
		switch {
		case errors.As(err, &ce):
			return nil, file, conflictProblems(ce, file)
		case errors.Is(err, ErrExists):
			return nil, file, ValidationErrors{{Field: "Name", Value: p.Name, Fix: "a batch of this name exists already: choose another name", Err: ErrExists}}
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

// badExcludes records the exclusion patterns that are not valid.
func badExcludes(bad *problems, patterns []string) {
	for _, x := range patterns {
		if err := folders.ValidateExclude(x); err != nil {
			// The pattern is the problem's Value already.
			bad.add("ExcludeFolders", x, "%s", strings.TrimPrefix(err.Error(), fmt.Sprintf("exclude folder %q: ", x)))
		}
	}
}

// maxRowProblems is how many rows problems found after parsing (per-user
// columns, conflicts) list; the rest are counted.
const maxRowProblems = 20

// perUserProblems are the rows a per-user target cannot open: those
// without TargetUserName (csvfile makes TargetPassword go with it).
func perUserProblems(tgt *Endpoint, file *csvfile.File) error {
	pe := &csvfile.ProblemsError{Notices: file.Notices, Warnings: file.Warnings}
	for _, r := range file.Rows {
		if r.TargetUserName != "" {
			continue
		}
		if len(pe.Problems) == maxRowProblems {
			pe.Omitted++
			continue
		}
		pe.Problems = append(pe.Problems, csvfile.Problem{Row: r.Number, Column: "TargetUserName",
			Message: fmt.Sprintf("empty, but target endpoint %s opens mailboxes per user", tgt.Name),
			Fix:     "fill the TargetUserName and TargetPassword columns, or use a target endpoint with master or authzid access"})
	}
	if pe.Total() == 0 {
		return nil
	}
	return pe
}

// conflictProblems are the rows whose address is already in another batch.
func conflictProblems(ce *ConflictError, file *csvfile.File) error {
	rowOf := make(map[string]int, len(file.Rows))
	for _, r := range file.Rows {
		rowOf[strings.ToLower(r.EmailAddress)] = r.Number
	}
	pe := &csvfile.ProblemsError{Notices: file.Notices, Warnings: file.Warnings}
	for i, email := range ce.Emails {
		if len(pe.Problems) == maxRowProblems {
			pe.Omitted = len(ce.Emails) - maxRowProblems
			break
		}
		pe.Problems = append(pe.Problems, csvfile.Problem{Row: rowOf[strings.ToLower(email)], Column: "EmailAddress",
			Message: fmt.Sprintf("%s is already in batch %s", email, ce.Batches[i]),
			Fix:     "complete or remove that batch, or take this row out of the file"})
	}
	slices.SortStableFunc(pe.Problems, func(a, b csvfile.Problem) int { return cmp.Compare(a.Row, b.Row) })
	return pe
}

// BatchSettings are what SetBatch may change; nil fields stay as they are.
type BatchSettings struct {
	ExcludeFolders      *[]string
	IncrementalInterval *time.Duration
	MaxMessageSize      *int64
	ReceivedAfter       *time.Time
	// The report e-mails' settings may change at any time, as Exchange's
	// Set-MigrationBatch -NotificationEmails and -ReportInterval.
	NotificationEmails *[]string
	ReportInterval     *time.Duration
}

// syncSettings says whether set changes how the batch syncs (not only
// its report e-mails).
func (set *BatchSettings) syncSettings() bool {
	return set.ExcludeFolders != nil || set.IncrementalInterval != nil || set.MaxMessageSize != nil || set.ReceivedAfter != nil
}

// SetBatch changes a batch's settings: those of its syncs only while it
// is Created (as in Exchange Online: a started batch keeps the settings it
// started with), those of its report e-mails at any time.
func (s *Service) SetBatch(ctx context.Context, name string, set BatchSettings) (*Batch, error) {
	b, err := s.Batch(ctx, name)
	if err != nil {
		return nil, err
	}
	if set.syncSettings() && b.Status != BatchCreated {
		return nil, refused(ErrState, "batch %s is %s: its settings can be changed only before it is started", name, b.Status)
	}
	var bad problems
	if set.ExcludeFolders != nil {
		badExcludes(&bad, *set.ExcludeFolders)
		b.ExcludeFolders = *set.ExcludeFolders
	}
	if set.NotificationEmails != nil || set.ReportInterval != nil {
		emails, interval := b.NotificationEmails, time.Duration(b.ReportInterval)
		if set.NotificationEmails != nil {
			emails = *set.NotificationEmails
		}
		if set.ReportInterval != nil {
			interval = *set.ReportInterval
		}
		emails, interval = checkNotify(&bad, emails, interval)
		b.NotificationEmails, b.ReportInterval = emails, TimeSpan(interval)
	}
	if set.IncrementalInterval != nil {
		if *set.IncrementalInterval < time.Second {
			bad.add("IncrementalInterval", set.IncrementalInterval.String(), "must be at least 1s")
		}
		b.IncrementalInterval = TimeSpan(*set.IncrementalInterval)
	}
	if err := bad.err(); err != nil {
		return nil, err
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

// Batch returns a batch with its derived status, counts, sync times and
// passes under way (Batch.Summarize).
func (s *Service) Batch(ctx context.Context, name string) (*Batch, error) {
	b, statuses, err := s.Store.Batch(ctx, name)
	if err != nil {
		return nil, s.notFound("batch", name, err)
	}
	syncs, err := s.Store.BatchSyncs(ctx, name)
	if err != nil {
		return nil, err
	}
	b.Summarize(statuses, syncs, s.now())
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
		return refused(ErrState, "batch %s is %s: it cannot be started again", name, b.Status)
	case IntentRemoving:
		return refused(ErrState, "batch %s is being removed", name)
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
		return refused(ErrState, "batch %s is %s: only a syncing or synced batch can be stopped", name, b.Status)
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
		return refused(ErrState, "batch %s is %s: start it and let it sync before completing it", name, b.Status)
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

// Users lists migration users, by batch and status (both optional), with
// the progress of their passes under way.
func (s *Service) Users(ctx context.Context, batch string, status UserStatus) ([]User, error) {
	users, err := s.Store.Users(ctx, batch, status)
	now := s.now()
	for i := range users {
		users[i].Pass.Derive(now)
	}
	return users, err
}

// User returns the migration user with this address, with the progress of
// its pass under way.
func (s *Service) User(ctx context.Context, email string) (*User, error) {
	u, err := s.Store.UserByEmail(ctx, email)
	if err != nil {
		return nil, s.notFound("migration user", email, err)
	}
	u.Pass.Derive(s.now())
	return u, nil
}
