package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/migration"
	"github.com/imapmigrate/imapmigrate/internal/sensitive"
	"github.com/imapmigrate/imapmigrate/internal/syncer"
)

var _ migration.Store = (*Store)(nil)

// tsLayout sorts as text: every time in the database uses it.
const tsLayout = "2006-01-02T15:04:05.000000000Z"

func ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(tsLayout)
}

func parseTS(s sql.NullString) time.Time {
	if !s.Valid {
		return time.Time{}
	}
	t, _ := time.Parse(tsLayout, s.String)
	return t
}

// UserStateKey names a migration user's sync state (see Mailbox).
func UserStateKey(id int64) string { return fmt.Sprintf("user:%d", id) }

func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

const endpointCols = `name, server, port, security, auth, master_separator, ca_file, insecure_skip_verify,
	max_concurrent_migrations, max_concurrent_incremental_syncs, mailbox_access, admin_user, admin_password, token_command, created_at`

type scanner interface{ Scan(...any) error }

func scanEndpoint(r scanner) (*migration.Endpoint, error) {
	var e migration.Endpoint
	var pw string
	var created sql.NullString
	err := r.Scan(&e.Name, &e.Server, &e.Port, &e.Security, &e.Auth, &e.MasterSeparator, &e.CAFile, &e.InsecureSkipVerify,
		&e.MaxConcurrentMigrations, &e.MaxConcurrentIncrementalSyncs, &e.MailboxAccess, &e.AdminUser, &pw, &e.TokenCommand, &created)
	if err != nil {
		return nil, err
	}
	e.AdminPassword = sensitive.String(pw)
	e.CreatedAt = parseTS(created)
	return &e, nil
}

func (s *Store) PutEndpoint(ctx context.Context, e *migration.Endpoint, create bool) error {
	args := []any{e.Server, e.Port, e.Security, e.Auth, e.MasterSeparator, e.CAFile, e.InsecureSkipVerify,
		e.MaxConcurrentMigrations, e.MaxConcurrentIncrementalSyncs, e.MailboxAccess, e.AdminUser, e.AdminPassword.Reveal(), e.TokenCommand}
	if create {
		_, err := s.db.ExecContext(ctx, `INSERT INTO endpoint (`+endpointCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			append(append([]any{e.Name}, args...), ts(e.CreatedAt))...)
		if err != nil && strings.Contains(err.Error(), "UNIQUE") {
			return migration.ErrExists
		}
		return err
	}
	res, err := s.db.ExecContext(ctx, `UPDATE endpoint SET server = ?, port = ?, security = ?, auth = ?, master_separator = ?, ca_file = ?,
		insecure_skip_verify = ?, max_concurrent_migrations = ?, max_concurrent_incremental_syncs = ?, mailbox_access = ?, admin_user = ?,
		admin_password = ?, token_command = ? WHERE name = ?`, append(args, e.Name)...)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return migration.ErrNotFound
	}
	return nil
}

func (s *Store) Endpoint(ctx context.Context, name string) (*migration.Endpoint, error) {
	e, err := scanEndpoint(s.db.QueryRowContext(ctx, `SELECT `+endpointCols+` FROM endpoint WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, migration.ErrNotFound
	}
	return e, err
}

func (s *Store) Endpoints(ctx context.Context) ([]migration.Endpoint, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+endpointCols+` FROM endpoint ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []migration.Endpoint
	for rows.Next() {
		e, err := scanEndpoint(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *e)
	}
	return out, rows.Err()
}

func (s *Store) DeleteEndpoint(ctx context.Context, name string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM batch WHERE source_endpoint = ? OR target_endpoint = ?`, name, name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return migration.ErrInUse
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM endpoint WHERE name = ?`, name)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return migration.ErrNotFound
		}
		return nil
	})
}

const batchCols = `name, source_endpoint, target_endpoint, intent, exclude_folders, incremental_seconds, max_message_size, received_after, error, created_at, started_at, completed_at`

func scanBatch(r scanner) (*migration.Batch, error) {
	var b migration.Batch
	var exclude string
	var secs int64
	var created, started, completed, after sql.NullString
	if err := r.Scan(&b.Name, &b.SourceEndpoint, &b.TargetEndpoint, &b.Intent, &exclude, &secs, &b.MaxMessageSize, &after, &b.Error, &created, &started, &completed); err != nil {
		return nil, err
	}
	if exclude != "" {
		b.ExcludeFolders = strings.Split(exclude, "\n")
	}
	b.IncrementalInterval = time.Duration(secs) * time.Second
	b.CreatedAt, b.StartedAt, b.CompletedAt, b.ReceivedAfter = parseTS(created), parseTS(started), parseTS(completed), parseTS(after)
	return &b, nil
}

func (s *Store) CreateBatch(ctx context.Context, b *migration.Batch, users []migration.User) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		conflict := &migration.ConflictError{}
		check, err := tx.PrepareContext(ctx, `SELECT u.email, u.batch FROM migration_user u JOIN batch b ON b.name = u.batch
			WHERE u.email_key = ? AND b.intent != 'removing' AND u.status NOT IN ('Completed', 'CompletedWithWarnings') LIMIT 1`)
		if err != nil {
			return err
		}
		defer check.Close()
		for _, u := range users {
			var email, other string
			err := check.QueryRowContext(ctx, strings.ToLower(u.EmailAddress)).Scan(&email, &other)
			if err == nil {
				conflict.Emails = append(conflict.Emails, email)
				conflict.Batches = append(conflict.Batches, other)
			} else if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		if len(conflict.Emails) > 0 {
			return conflict
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO batch (`+batchCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, '', ?, NULL, NULL)`,
			b.Name, b.SourceEndpoint, b.TargetEndpoint, b.Intent, strings.Join(b.ExcludeFolders, "\n"),
			int64(b.IncrementalInterval/time.Second), b.MaxMessageSize, ts(b.ReceivedAfter), ts(b.CreatedAt))
		if err != nil {
			if strings.Contains(err.Error(), "UNIQUE") || strings.Contains(err.Error(), "PRIMARY KEY") {
				return migration.ErrExists
			}
			return err
		}
		ins, err := tx.PrepareContext(ctx, `INSERT INTO migration_user (batch, email, email_key, user_name, password, user_root,
			target_user_name, target_password, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer ins.Close()
		for _, u := range users {
			if _, err := ins.ExecContext(ctx, b.Name, u.EmailAddress, strings.ToLower(u.EmailAddress), u.UserName, u.Password.Reveal(),
				u.UserRoot, u.TargetUserName, u.TargetPassword.Reveal(), migration.UserQueued); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Store) Batch(ctx context.Context, name string) (*migration.Batch, []migration.UserStatus, error) {
	b, err := scanBatch(s.db.QueryRowContext(ctx, `SELECT `+batchCols+` FROM batch WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, migration.ErrNotFound
	}
	if err != nil {
		return nil, nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT status FROM migration_user WHERE batch = ?`, name)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var statuses []migration.UserStatus
	for rows.Next() {
		var st migration.UserStatus
		if err := rows.Scan(&st); err != nil {
			return nil, nil, err
		}
		statuses = append(statuses, st)
	}
	return b, statuses, rows.Err()
}

func (s *Store) Batches(ctx context.Context) ([]migration.Batch, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+batchCols+` FROM batch ORDER BY created_at, name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []migration.Batch
	for rows.Next() {
		b, err := scanBatch(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *b)
	}
	return out, rows.Err()
}

func (s *Store) UpdateBatchSettings(ctx context.Context, b *migration.Batch) error {
	_, err := s.db.ExecContext(ctx, `UPDATE batch SET exclude_folders = ?, incremental_seconds = ?, max_message_size = ?, received_after = ?, error = ? WHERE name = ?`,
		strings.Join(b.ExcludeFolders, "\n"), int64(b.IncrementalInterval/time.Second), b.MaxMessageSize, ts(b.ReceivedAfter), b.Error, b.Name)
	return err
}

// leased is the SQL condition of a user some worker is working on.
const leased = `(lease_owner != '' AND lease_expiry >= ?)`

func (s *Store) SetIntent(ctx context.Context, name string, t migration.Transition) error {
	now := ts(t.Now)
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE batch SET intent = ?, error = '' WHERE name = ?`, t.Intent, name)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return migration.ErrNotFound
		}
		type stmt struct {
			q    string
			args []any
		}
		var stmts []stmt
		switch t.Intent {
		case migration.IntentRunning:
			if _, err := tx.ExecContext(ctx, `UPDATE batch SET started_at = COALESCE(started_at, ?) WHERE name = ?`, now, name); err != nil {
				return err
			}
			// Start (again): waiting, stopped and failed users are retried.
			stmts = []stmt{
				{`UPDATE migration_user SET status = CASE WHEN first_sync IS NULL THEN 'Queued' ELSE 'Synced' END, next_due = ?, attempts = 0, error = ''
					WHERE batch = ? AND NOT ` + leased + ` AND status IN ('Queued', 'Stopping', 'Stopped', 'Failed', 'IncrementalFailed')`, []any{now, name, now}},
				{`UPDATE migration_user SET next_due = COALESCE(next_due, ?) WHERE batch = ? AND status = 'Synced' AND NOT ` + leased, []any{now, name, now}},
			}
		case migration.IntentStopped:
			stmts = []stmt{
				{`UPDATE migration_user SET status = 'Stopping' WHERE batch = ? AND ` + leased, []any{name, now}},
				{`UPDATE migration_user SET status = 'Stopped', next_due = NULL WHERE batch = ? AND NOT ` + leased +
					` AND status NOT IN ('Completed', 'CompletedWithWarnings')`, []any{name, now}},
			}
		case migration.IntentCompleting:
			stmts = []stmt{{`UPDATE migration_user SET next_due = ?, attempts = 0 WHERE batch = ? AND status NOT IN ('Completed', 'CompletedWithWarnings')`, []any{now, name}}}
		case migration.IntentRemoving:
			stmts = []stmt{{`UPDATE migration_user SET status = 'Removing', next_due = NULL WHERE batch = ?`, []any{name}}}
		}
		for _, st := range stmts {
			if _, err := tx.ExecContext(ctx, st.q, st.args...); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Store) DeleteBatch(ctx context.Context, name string) error {
	now := ts(time.Now())
	return s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM migration_user WHERE batch = ? AND `+leased, name, now).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return migration.ErrInUse
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM mailbox WHERE key IN (SELECT 'user:' || id FROM migration_user WHERE batch = ?)`, name); err != nil {
			return err
		}
		// Sealed passwords go with the rows.
		if _, err := tx.ExecContext(ctx, `DELETE FROM migration_user WHERE batch = ?`, name); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM batch WHERE name = ?`, name)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return migration.ErrNotFound
		}
		return nil
	})
}

func (s *Store) FinishRemovals(ctx context.Context) error {
	rows, err := s.db.QueryContext(ctx, `SELECT name FROM batch WHERE intent = 'removing'`)
	if err != nil {
		return err
	}
	var names []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		names = append(names, n)
	}
	rows.Close()
	for _, n := range names {
		if err := s.DeleteBatch(ctx, n); err != nil && !errors.Is(err, migration.ErrInUse) && !errors.Is(err, migration.ErrNotFound) {
			return err
		}
	}
	return nil
}

const userCols = `id, batch, email, user_name, password, user_root, target_user_name, target_password, status, error,
	items_synced, items_skipped, skipped_by, bytes_synced, folders, first_sync, last_sync, next_due, attempts`

func scanUser(r scanner) (*migration.User, error) {
	var u migration.User
	var pw, tpw, skipped string
	var first, last, next sql.NullString
	if err := r.Scan(&u.ID, &u.Batch, &u.EmailAddress, &u.UserName, &pw, &u.UserRoot, &u.TargetUserName, &tpw, &u.Status, &u.Error,
		&u.ItemsSynced, &u.ItemsSkipped, &skipped, &u.BytesSynced, &u.Folders, &first, &last, &next, &u.Attempts); err != nil {
		return nil, err
	}
	u.Password, u.TargetPassword = sensitive.String(pw), sensitive.String(tpw)
	json.Unmarshal([]byte(skipped), &u.SkippedBy)
	u.FirstSync, u.LastSync, u.NextSync = parseTS(first), parseTS(last), parseTS(next)
	return &u, nil
}

func (s *Store) Users(ctx context.Context, batch string, status migration.UserStatus) ([]migration.User, error) {
	q := `SELECT ` + userCols + ` FROM migration_user WHERE (? = '' OR batch = ?) AND (? = '' OR status = ?) ORDER BY batch, id`
	rows, err := s.db.QueryContext(ctx, q, batch, batch, status, status)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []migration.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *u)
	}
	return out, rows.Err()
}

func (s *Store) UserByEmail(ctx context.Context, email string) (*migration.User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx, `SELECT `+userCols+` FROM migration_user WHERE email_key = ? ORDER BY id DESC LIMIT 1`, strings.ToLower(email)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, migration.ErrNotFound
	}
	return u, err
}

// UserState is the sync state of a migration user.
func (s *Store) UserState(ctx context.Context, userID int64) (syncer.State, error) {
	return s.Mailbox(ctx, UserStateKey(userID))
}
