package migration

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/csvfile"
	"github.com/imapmigrate/imapmigrate/internal/imapconn"
	"github.com/imapmigrate/imapmigrate/internal/sensitive"
)

// The use cases the dashboard needs besides those of the CLI: a page of a
// batch's users, a migration file checked as a new batch would check it
// without creating anything, and the full report of a saved endpoint's
// connection test.

// UsersPage is one page of a batch's users, by status.
type UsersPage struct {
	Users  []User `json:"Users"`
	Total  int    `json:"TotalCount"` // users matching, on every page
	Offset int    `json:"Offset"`
	Limit  int    `json:"Limit"`
}

// MaxPageSize is the most users a page holds.
const MaxPageSize = 1000

// BatchUsers returns the users of batch (status "" is every status) from
// offset on, at most limit of them (0 or more than MaxPageSize is
// MaxPageSize), with the progress of their passes under way.
func (s *Service) BatchUsers(ctx context.Context, batch string, status UserStatus, offset, limit int) (*UsersPage, error) {
	if batch == "" {
		return nil, &ValidationError{Field: "Batch", Fix: "required: the batch whose users to list"}
	}
	if limit <= 0 || limit > MaxPageSize {
		limit = MaxPageSize
	}
	offset = max(offset, 0)
	if _, _, err := s.Store.Batch(ctx, batch); err != nil {
		return nil, s.notFound("batch", batch, err)
	}
	users, err := s.Store.Users(ctx, batch, status)
	if err != nil {
		return nil, err
	}
	p := &UsersPage{Total: len(users), Offset: offset, Limit: limit}
	if offset < len(users) {
		p.Users = users[offset:min(offset+limit, len(users))]
	}
	now := s.now()
	for i := range p.Users {
		p.Users[i].Pass.Derive(now)
	}
	return p, nil
}

// BatchView is what a batch's page shows: the batch, one page of its
// users (by status) and when its next sync is due.
type BatchView struct {
	*Batch
	Page *UsersPage `json:"Users"`
	// NextSync is the earliest sync due of any of its users (an
	// incremental sync once they are synced); zero when none is due.
	NextSync time.Time `json:"NextSyncTime,omitzero"`
}

// UserPager is a store that reads one page of a batch's users, and when
// its next work is due, without reading every user; BatchView uses it
// when the store has it (package sqldb does).
type UserPager interface {
	// UsersPage returns the users of batch with status ("" any), ordered
	// as Users orders them, from offset, at most limit.
	UsersPage(ctx context.Context, batch string, status UserStatus, offset, limit int) ([]User, error)
	// NextDue is the earliest time work is due for a user of batch; zero
	// when none is.
	NextDue(ctx context.Context, batch string) (time.Time, error)
}

// BatchView returns a batch with a page of its users, as BatchUsers
// pages them: from the store's UserPager when it has one (a page of a
// 20,000-user batch reads 100 users), else from every user read once.
func (s *Service) BatchView(ctx context.Context, name string, status UserStatus, offset, limit int) (*BatchView, error) {
	b, err := s.Batch(ctx, name)
	if err != nil {
		return nil, err
	}
	if limit <= 0 || limit > MaxPageSize {
		limit = MaxPageSize
	}
	offset = max(offset, 0)
	v := &BatchView{Batch: b, Page: &UsersPage{Offset: offset, Limit: limit}}
	if pager, ok := s.Store.(UserPager); ok {
		// The total comes from the batch's counts, read with it.
		v.Page.Total = b.Users
		if status != "" {
			v.Page.Total = b.Counts[status]
		}
		if v.Page.Users, err = pager.UsersPage(ctx, name, status, offset, limit); err != nil {
			return nil, err
		}
		if v.NextSync, err = pager.NextDue(ctx, name); err != nil {
			return nil, err
		}
	} else {
		all, err := s.Store.Users(ctx, name, "")
		if err != nil {
			return nil, err
		}
		matching := all[:0]
		for _, u := range all {
			if !u.NextSync.IsZero() && (v.NextSync.IsZero() || u.NextSync.Before(v.NextSync)) {
				v.NextSync = u.NextSync
			}
			if status == "" || u.Status == status {
				matching = append(matching, u)
			}
		}
		v.Page.Total = len(matching)
		if offset < len(matching) {
			v.Page.Users = matching[offset:min(offset+limit, len(matching))]
		}
	}
	now := s.now()
	for i := range v.Page.Users {
		v.Page.Users[i].Pass.Derive(now)
	}
	return v, nil
}

// errDryRun stops CheckBatch's NewBatch where it would create the batch.
var errDryRun = errors.New("dry run: nothing created")

// dryRunStore is the store with CreateBatch refused, so that CheckBatch
// runs every check of NewBatch (and only NewBatch's: one rule, one place).
type dryRunStore struct{ Store }

func (dryRunStore) CreateBatch(context.Context, *Batch, []User) error { return errDryRun }

// CheckBatch validates a new batch as NewBatch does (name, endpoints,
// options, the whole migration file) and creates nothing: it returns the
// file read, or every problem found, as NewBatch would. Addresses already
// in another batch are found only when the batch is created.
func (s *Service) CheckBatch(ctx context.Context, p BatchParams) (*csvfile.File, error) {
	dry := *s
	dry.Store = dryRunStore{s.Store}
	p.AutoStart = false
	_, file, err := dry.NewBatch(ctx, p)
	if errors.Is(err, errDryRun) {
		return file, nil
	}
	if err == nil {
		return nil, errors.New("check batch: the batch was not to be created")
	}
	return file, err
}

// TestEndpoint runs the connection test of a saved endpoint and returns
// every step with its verdict (imapconn.Probe). With mailbox, it logs in
// to that mailbox as a batch would open it on this target endpoint; else a
// master or authzid target logs in as its admin alone, and a source
// endpoint is tested without a login. flag names a setting in the
// report's fixes the way the caller changes it (imapconn.Config.Flag, as
// EndpointParams.Flag); nil: the command that changes a saved endpoint
// ("endpoint set old-imap --security").
func (s *Service) TestEndpoint(ctx context.Context, name, mailbox string, flag func(setting string) string) (*imapconn.ProbeReport, error) {
	e, err := s.Store.Endpoint(ctx, name)
	if err != nil {
		return nil, s.notFound("endpoint", name, err)
	}
	var cfg *imapconn.Config
	switch {
	case mailbox != "":
		if e.MailboxAccess == "" {
			return nil, &ValidationError{Field: "TestMailbox", Value: mailbox, Fix: "only a target endpoint opens mailboxes: leave the mailbox out to test this source endpoint"}
		}
		if e.MailboxAccess == AccessPerUser {
			return nil, &ValidationError{Field: "TestMailbox", Value: mailbox, Fix: "a per-user target opens each mailbox with the migration file's TargetUserName and TargetPassword: leave the mailbox out"}
		}
		c := &Claim{Target: *e, User: User{EmailAddress: mailbox}}
		if cfg, err = c.TargetConfig(ctx, s.Box); err != nil {
			return nil, err
		}
	case (e.MailboxAccess == AccessMaster || e.MailboxAccess == AccessAuthzid) && e.AdminPassword != "":
		pw, err := s.Box.Open(e.AdminPassword.Reveal(), adminPasswordPlace(e))
		if err != nil {
			return nil, fmt.Errorf("admin password of endpoint %s: %w", e.Name, err)
		}
		cfg = e.config("endpoint " + e.Name)
		cfg.User, cfg.Password = e.AdminUser, sensitive.String(pw)
		if e.MailboxAccess == AccessAuthzid {
			cfg.Auth = imapconn.AuthPlain
		}
	default:
		cfg = e.config("endpoint " + e.Name)
	}
	cfg.Name = "endpoint " + e.Name
	if flag != nil {
		cfg.Flag = flag
	}
	cfg.DialTimeout = 10 * time.Second
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	return imapconn.Probe(ctx, cfg, cfg.User != "", slog.New(slog.DiscardHandler)), nil
}
