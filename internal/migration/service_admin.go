package migration

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/imapmigrate/imapmigrate/internal/csvfile"
	"github.com/imapmigrate/imapmigrate/internal/sensitive"
)

// Workers lists the workers seen in the last WorkerTimeout.
func (s *Service) Workers(ctx context.Context) ([]Worker, error) {
	return s.Store.Workers(ctx, s.now().Add(-WorkerTimeout))
}

// NoWorker says whether no worker is live, for commands that leave the
// work to the workers (start, complete) to say so.
func (s *Service) NoWorker(ctx context.Context) bool {
	ws, err := s.Workers(ctx)
	return err == nil && len(ws) == 0
}

// UserStats is one migration user with its details
// (Get-MigrationUserStatistics).
type UserStats struct {
	*User
	Progress     *Progress     `json:"-"`
	Folders      []FolderStat  `json:"FolderDetails,omitempty"`
	SkippedItems []SkippedItem `json:"SkippedItems,omitempty"`
	// Passes, the newest first, as UserDetails was asked (History).
	Passes []PassRecord `json:"PassHistory,omitempty"`
}

// UserStatistics returns a user with, as asked, its folders and its
// skipped items.
func (s *Service) UserStatistics(ctx context.Context, email string, folders, skipped bool) (*UserStats, error) {
	u, err := s.User(ctx, email)
	if err != nil {
		return nil, err
	}
	st := &UserStats{User: u}
	if folders {
		if st.Folders, err = s.Store.FolderStats(ctx, u.ID); err != nil {
			return nil, err
		}
	}
	if skipped {
		if st.SkippedItems, err = s.Store.SkippedItems(ctx, u.ID); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// BatchSkippedItems calls fn with each user of a batch and the messages not
// migrated for it (Exchange's skipped item details), one user at a time.
func (s *Service) BatchSkippedItems(ctx context.Context, batch string, fn func(u *User, items []SkippedItem) error) error {
	if _, err := s.Batch(ctx, batch); err != nil {
		return err
	}
	users, err := s.Store.Users(ctx, batch, "")
	if err != nil {
		return err
	}
	for i := range users {
		items, err := s.Store.SkippedItems(ctx, users[i].ID)
		if err != nil {
			return err
		}
		if err := fn(&users[i], items); err != nil {
			return err
		}
	}
	return nil
}

// RemoveUser deletes a migration user, its sync state and its sealed
// passwords (Remove-MigrationUser); a pass under way stops at its next
// heartbeat. It returns the user as it was.
func (s *Service) RemoveUser(ctx context.Context, email string) (*User, error) {
	u, err := s.User(ctx, email)
	if err != nil {
		return nil, err
	}
	if err := s.Store.RemoveUser(ctx, u.ID); err != nil {
		return nil, s.notFound("migration user", email, err)
	}
	return u, nil
}

// UserSecrets are a user's new passwords; "" keeps one as it is.
type UserSecrets struct {
	Password       string
	TargetPassword string
}

// SetUser re-seals a user's passwords (Set-MigrationUser) and, if the user
// failed, retries it at once: the batch's command (start or complete) is
// applied to the user again.
func (s *Service) SetUser(ctx context.Context, email string, sec UserSecrets) (*User, error) {
	u, err := s.User(ctx, email)
	if err != nil {
		return nil, err
	}
	if sec.Password == "" && sec.TargetPassword == "" {
		return nil, &ValidationError{Field: "Password", Fix: "give the new password (or the new target password)"}
	}
	if sec.TargetPassword != "" {
		b, err := s.Batch(ctx, u.Batch)
		if err != nil {
			return nil, err
		}
		tgt, err := s.Store.Endpoint(ctx, b.TargetEndpoint)
		if err != nil {
			return nil, err
		}
		if tgt.MailboxAccess != AccessPerUser {
			// A password that nothing would use is refused rather than kept.
			return nil, &ValidationError{Field: "TargetPassword", Fix: fmt.Sprintf(
				"target endpoint %s opens mailboxes with mailbox access %s, not with the user's own target password: leave it out", tgt.Name, tgt.MailboxAccess)}
		}
	}
	upd := UserUpdate{Retry: true, Now: s.now()}
	if sec.Password != "" {
		sealed, err := s.Box.Seal(sec.Password, userPasswordPlace(u.Batch, u.EmailAddress))
		if err != nil {
			return nil, err
		}
		v := sensitive.String(sealed)
		upd.Password = &v
	}
	if sec.TargetPassword != "" {
		sealed, err := s.Box.Seal(sec.TargetPassword, targetPasswordPlace(u.Batch, u.EmailAddress))
		if err != nil {
			return nil, err
		}
		v := sensitive.String(sealed)
		upd.TargetPassword = &v
	}
	if err := s.Store.UpdateUser(ctx, u.ID, upd); err != nil {
		return nil, s.notFound("migration user", email, err)
	}
	return s.User(ctx, email)
}

// AddUsers adds the rows of a migration file to an existing batch,
// validated as NewBatch validates them: on any problem nothing is added,
// and the error holds every problem found (a *csvfile.ProblemsError for
// the rows, addresses already in a batch among them). Users added to a
// running batch are due at once.
func (s *Service) AddUsers(ctx context.Context, batch string, csv io.Reader, opts csvfile.Options) (*Batch, *csvfile.File, error) {
	b, err := s.Batch(ctx, batch)
	if err != nil {
		return nil, nil, err
	}
	switch b.Intent {
	case IntentCompleting, IntentRemoving:
		return nil, nil, refused(ErrState, "batch %s is %s: add the users to a new batch", batch, b.Status)
	}
	src, err := s.Store.Endpoint(ctx, b.SourceEndpoint)
	if err != nil {
		return nil, nil, err
	}
	tgt, err := s.Store.Endpoint(ctx, b.TargetEndpoint)
	if err != nil {
		return nil, nil, err
	}
	if opts.MasterSeparator == "" {
		opts.MasterSeparator = src.MasterSeparator
	}
	if err := opts.Validate(); err != nil {
		return nil, nil, &ValidationError{Field: "CSVOptions", Fix: err.Error()}
	}
	file, err := csvfile.Parse(csv, opts)
	if err != nil {
		return nil, nil, err
	}
	if tgt.MailboxAccess == AccessPerUser {
		if err := perUserProblems(tgt, file); err != nil {
			return nil, file, err
		}
	}
	users, err := s.sealUsers(batch, file)
	if err != nil {
		return nil, nil, err
	}
	if err := s.Store.AddUsers(ctx, batch, users, s.now()); err != nil {
		var ce *ConflictError
		if errors.As(err, &ce) {
			return nil, file, conflictProblems(ce, file)
		}
		return nil, file, s.notFound("batch", batch, err)
	}
	got, err := s.Batch(ctx, batch)
	return got, file, err
}

// sealUsers turns a migration file's rows into users of batch, their
// passwords sealed for it.
func (s *Service) sealUsers(batch string, file *csvfile.File) ([]User, error) {
	users := make([]User, 0, len(file.Rows))
	for _, r := range file.Rows {
		sealed, err := s.Box.Seal(r.Password.Reveal(), userPasswordPlace(batch, r.EmailAddress))
		if err != nil {
			return nil, err
		}
		u := User{EmailAddress: r.EmailAddress, UserName: r.UserName(), UserRoot: r.UserRoot(), Password: sensitive.String(sealed),
			TargetUserName: r.TargetUserName}
		if r.TargetPassword != "" {
			sealed, err := s.Box.Seal(r.TargetPassword.Reveal(), targetPasswordPlace(batch, r.EmailAddress))
			if err != nil {
				return nil, err
			}
			u.TargetPassword = sensitive.String(sealed)
		}
		users = append(users, u)
	}
	return users, nil
}
