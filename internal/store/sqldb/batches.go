package sqldb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/migration"
	"github.com/imapmigrate/imapmigrate/internal/sensitive"
	"github.com/imapmigrate/imapmigrate/internal/syncer"
)

var _ migration.Store = (*DB)(nil)

// UserStateKey names a migration user's sync state (see State).
func UserStateKey(id int64) string { return fmt.Sprintf("user:%d", id) }

const endpointCols = `name, server, port, security, auth, master_separator, ca_file, insecure_skip_verify,
	max_concurrent_migrations, max_concurrent_incremental_syncs, mailbox_access, admin_user, admin_password, token_command, created_at`

type scanner interface{ Scan(...any) error }

func scanEndpoint(r scanner) (*migration.Endpoint, error) {
	var e migration.Endpoint
	var pw string
	err := r.Scan(&e.Name, &e.Server, &e.Port, &e.Security, &e.Auth, &e.MasterSeparator, &e.CAFile, &e.InsecureSkipVerify,
		&e.MaxConcurrentMigrations, &e.MaxConcurrentIncrementalSyncs, &e.MailboxAccess, &e.AdminUser, &pw, &e.TokenCommand, tsCol{&e.CreatedAt})
	if err != nil {
		return nil, err
	}
	e.AdminPassword = sensitive.String(pw)
	return &e, nil
}

func (s *DB) PutEndpoint(ctx context.Context, e *migration.Endpoint, create bool) error {
	args := []any{e.Server, e.Port, e.Security, e.Auth, e.MasterSeparator, e.CAFile, e.InsecureSkipVerify,
		e.MaxConcurrentMigrations, e.MaxConcurrentIncrementalSyncs, e.MailboxAccess, e.AdminUser, e.AdminPassword.Reveal(), e.TokenCommand}
	if create {
		_, err := s.db.ExecContext(ctx, `INSERT INTO endpoint (`+endpointCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			append(append([]any{e.Name}, args...), s.ts(e.CreatedAt))...)
		if err != nil && s.d.IsUnique(err) {
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

func (s *DB) Endpoint(ctx context.Context, name string) (*migration.Endpoint, error) {
	e, err := scanEndpoint(s.db.QueryRowContext(ctx, `SELECT `+endpointCols+` FROM endpoint WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, migration.ErrNotFound
	}
	return e, err
}

func (s *DB) Endpoints(ctx context.Context) ([]migration.Endpoint, error) {
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

func (s *DB) DeleteEndpoint(ctx context.Context, name string) error {
	return s.tx(ctx, func(tx conn) error {
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

const batchCols = `name, source_endpoint, target_endpoint, intent, exclude_folders, incremental_seconds, max_message_size, received_after, error, created_at, started_at, completed_at,
	notification_emails, report_seconds`

func scanBatch(r scanner) (*migration.Batch, error) {
	var b migration.Batch
	var exclude, notify string
	var secs, reportSecs int64
	if err := r.Scan(&b.Name, &b.SourceEndpoint, &b.TargetEndpoint, &b.Intent, &exclude, &secs, &b.MaxMessageSize, tsCol{&b.ReceivedAfter},
		&b.Error, tsCol{&b.CreatedAt}, tsCol{&b.StartedAt}, tsCol{&b.CompletedAt}, &notify, &reportSecs); err != nil {
		return nil, err
	}
	if exclude != "" {
		b.ExcludeFolders = strings.Split(exclude, "\n")
	}
	if notify != "" {
		b.NotificationEmails = strings.Split(notify, "\n")
	}
	b.ReportInterval = migration.TimeSpan(time.Duration(reportSecs) * time.Second)
	b.IncrementalInterval = migration.TimeSpan(time.Duration(secs) * time.Second)
	return &b, nil
}

// conflicts returns the users whose address is already in a batch that
// is not completed (or being removed). The addresses are looked up
// rowsPerStatement at a time: a 50,000-row batch is 100 queries, not
// 50,000 round trips.
func conflicts(ctx context.Context, tx conn, users []migration.User) (*migration.ConflictError, error) {
	conflict := &migration.ConflictError{}
	for chunk := range slices.Chunk(users, rowsPerStatement) {
		keys := make([]any, len(chunk))
		for i, u := range chunk {
			keys[i] = strings.ToLower(u.EmailAddress)
		}
		rows, err := tx.QueryContext(ctx, `SELECT u.email_key, u.email, u.batch FROM migration_user u JOIN batch b ON b.name = u.batch
			WHERE u.email_key IN (`+marks(len(keys))+`) AND b.intent != 'removing' AND u.status NOT IN ('Completed', 'CompletedWithWarnings', 'Removing')`, keys...)
		if err != nil {
			return nil, err
		}
		found := make(map[string][2]string)
		for rows.Next() {
			var key, email, other string
			if err := rows.Scan(&key, &email, &other); err != nil {
				rows.Close()
				return nil, err
			}
			if _, ok := found[key]; !ok {
				found[key] = [2]string{email, other}
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		for _, k := range keys {
			if f, ok := found[k.(string)]; ok {
				conflict.Emails = append(conflict.Emails, f[0])
				conflict.Batches = append(conflict.Batches, f[1])
				delete(found, k.(string))
			}
		}
	}
	if len(conflict.Emails) > 0 {
		return conflict, nil
	}
	return nil, nil
}

// rowsPerStatement is how many users one statement inserts or looks up:
// 500 rows of 10 columns stay well under either engine's limit on
// parameters (SQLite 32,766, PostgreSQL 65,535).
const rowsPerStatement = 500

// insertUsers inserts users with no sync state: SQLite may give a new row
// the id of one deleted before (the highest), and sync state is keyed by
// id (UserStateKey), so whatever state a key still holds is not the new
// user's.
func (s *DB) insertUsers(ctx context.Context, tx conn, batch string, users []migration.User, status migration.UserStatus, due time.Time) error {
	// The unique (batch, email_key) is checked first, so that the error
	// names every address: an address twice in users, or already in the
	// batch (completed: conflicts passes it over).
	dup := &migration.ConflictError{}
	seen := make(map[string]bool, len(users))
	for _, u := range users {
		if k := strings.ToLower(u.EmailAddress); seen[k] {
			dup.Emails, dup.Batches = append(dup.Emails, u.EmailAddress), append(dup.Batches, batch)
		} else {
			seen[k] = true
		}
	}
	for chunk := range slices.Chunk(users, rowsPerStatement) {
		args := []any{batch}
		for _, u := range chunk {
			args = append(args, strings.ToLower(u.EmailAddress))
		}
		rows, err := tx.QueryContext(ctx, `SELECT email_key FROM migration_user WHERE batch = ? AND email_key IN (`+marks(len(chunk))+`)`, args...)
		if err != nil {
			return err
		}
		in := make(map[string]bool)
		for rows.Next() {
			var k string
			if err := rows.Scan(&k); err != nil {
				rows.Close()
				return err
			}
			in[k] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, u := range chunk {
			if in[strings.ToLower(u.EmailAddress)] {
				dup.Emails, dup.Batches = append(dup.Emails, u.EmailAddress), append(dup.Batches, batch)
			}
		}
	}
	if len(dup.Emails) > 0 {
		return dup
	}
	// rowsPerStatement rows per INSERT, and their sync state cleared by one
	// DELETE: a 50,000-row batch is 200 statements, not 100,000.
	const cols = `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	for chunk := range slices.Chunk(users, rowsPerStatement) {
		args := make([]any, 0, 10*len(chunk))
		for _, u := range chunk {
			args = append(args, batch, u.EmailAddress, strings.ToLower(u.EmailAddress), u.UserName, u.Password.Reveal(),
				u.UserRoot, u.TargetUserName, u.TargetPassword.Reveal(), status, s.ts(due))
		}
		rows, err := tx.QueryContext(ctx, `INSERT INTO migration_user (batch, email, email_key, user_name, password, user_root,
			target_user_name, target_password, status, next_due) VALUES `+strings.TrimSuffix(strings.Repeat(cols+", ", len(chunk)), ", ")+` RETURNING id`, args...)
		if err != nil {
			return err
		}
		keys := make([]any, 0, len(chunk))
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			keys = append(keys, UserStateKey(id))
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM mailbox WHERE key IN (`+marks(len(keys))+`)`, keys...); err != nil {
			return err
		}
	}
	return nil
}

// CreateBatch is serialised with AddUsers, so that two batches created at
// once cannot both take an address.
func (s *DB) CreateBatch(ctx context.Context, b *migration.Batch, users []migration.User) error {
	defer s.analyze(ctx, len(users))
	return s.txOpt(ctx, true, func(tx conn) error {
		if c, err := conflicts(ctx, tx, users); c != nil || err != nil {
			if err != nil {
				return err
			}
			return c
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO batch (`+batchCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, '', ?, NULL, NULL, ?, ?)`,
			b.Name, b.SourceEndpoint, b.TargetEndpoint, b.Intent, strings.Join(b.ExcludeFolders, "\n"),
			int64(time.Duration(b.IncrementalInterval)/time.Second), b.MaxMessageSize, s.ts(b.ReceivedAfter), s.ts(b.CreatedAt),
			strings.Join(b.NotificationEmails, "\n"), int64(time.Duration(b.ReportInterval)/time.Second))
		if err != nil {
			if s.d.IsUnique(err) {
				return migration.ErrExists
			}
			return err
		}
		return s.insertUsers(ctx, tx, b.Name, users, migration.UserQueued, time.Time{})
	})
}

// AddUsers adds users to an existing batch; they start as the batch's
// command says for a new user (start(…) makes them due at once).
func (s *DB) AddUsers(ctx context.Context, batch string, users []migration.User, now time.Time) error {
	defer s.analyze(ctx, len(users))
	return s.txOpt(ctx, true, func(tx conn) error {
		var intent migration.Intent
		err := tx.QueryRowContext(ctx, `SELECT intent FROM batch WHERE name = ?`+s.d.ForUpdate, batch).Scan(&intent)
		if errors.Is(err, sql.ErrNoRows) {
			return migration.ErrNotFound
		}
		if err != nil {
			return err
		}
		if c, err := conflicts(ctx, tx, users); c != nil || err != nil {
			if err != nil {
				return err
			}
			return c
		}
		st := migration.Command(intent, migration.Standing{Status: migration.UserQueued}, now)
		if intent == migration.IntentCreated {
			st = migration.Standing{Status: migration.UserQueued}
		}
		return s.insertUsers(ctx, tx, batch, users, st.Status, st.NextDue)
	})
}

func (s *DB) Batch(ctx context.Context, name string) (*migration.Batch, []migration.UserStatus, error) {
	b, err := scanBatch(s.db.QueryRowContext(ctx, `SELECT `+batchCols+` FROM batch WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, migration.ErrNotFound
	}
	if err != nil {
		return nil, nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT status, COUNT(*) FROM migration_user WHERE batch = ? GROUP BY status`, name)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var statuses []migration.UserStatus
	for rows.Next() {
		var st migration.UserStatus
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, nil, err
		}
		for range n {
			statuses = append(statuses, st)
		}
	}
	return b, statuses, rows.Err()
}

func (s *DB) Batches(ctx context.Context) ([]migration.Batch, error) {
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

func (s *DB) UpdateBatchSettings(ctx context.Context, b *migration.Batch) error {
	_, err := s.db.ExecContext(ctx, `UPDATE batch SET exclude_folders = ?, incremental_seconds = ?, max_message_size = ?, received_after = ?, error = ?,
		notification_emails = ?, report_seconds = ? WHERE name = ?`,
		strings.Join(b.ExcludeFolders, "\n"), int64(time.Duration(b.IncrementalInterval)/time.Second), b.MaxMessageSize, s.ts(b.ReceivedAfter), b.Error,
		strings.Join(b.NotificationEmails, "\n"), int64(time.Duration(b.ReportInterval)/time.Second), b.Name)
	return err
}

// leased is the SQL condition of a user some worker is working on.
const leased = `(lease_owner != '' AND lease_expiry >= ?)`

// standingCols are what migration.Command needs of a user.
func (s *DB) standingCols() string {
	return `id, status, next_due, attempts, error, first_sync IS NOT NULL, ` + leased
}

func scanStanding(r scanner) (int64, migration.Standing, error) {
	var id int64
	var st migration.Standing
	err := r.Scan(&id, &st.Status, tsCol{&st.NextDue}, &st.Attempts, &st.Error, &st.Synced, &st.Leased)
	return id, st, err
}

// SetIntent records the batch's new intent and applies migration.Command
// to each of its users, in one transaction.
func (s *DB) SetIntent(ctx context.Context, name string, t migration.Transition) error {
	now := s.ts(t.Now)
	changed := 0
	defer func() { s.analyze(ctx, changed) }()
	return s.tx(ctx, func(tx conn) error {
		res, err := tx.ExecContext(ctx, `UPDATE batch SET intent = ?, error = '' WHERE name = ?`, t.Intent, name)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return migration.ErrNotFound
		}
		if t.Intent == migration.IntentRunning {
			if _, err := tx.ExecContext(ctx, `UPDATE batch SET started_at = COALESCE(started_at, ?) WHERE name = ?`, now, name); err != nil {
				return err
			}
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+s.standingCols()+` FROM migration_user WHERE batch = ?`+s.d.ForUpdate, now, name)
		if err != nil {
			return err
		}
		changes := make(map[migration.Standing][]int64)
		for rows.Next() {
			id, old, err := scanStanding(rows)
			if err != nil {
				rows.Close()
				return err
			}
			if st := migration.Command(t.Intent, old, t.Now); st != old {
				changes[st] = append(changes[st], id)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for st, ids := range changes {
			changed += len(ids)
			err := inChunks(ids, func(in string, args []any) error {
				_, err := tx.ExecContext(ctx, `UPDATE migration_user SET status = ?, next_due = ?, attempts = ?, error = ? WHERE id IN (`+in+`)`,
					append([]any{st.Status, s.ts(st.NextDue), st.Attempts, st.Error}, args...)...)
				return err
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *DB) DeleteBatch(ctx context.Context, name string) error {
	now := s.ts(time.Now())
	return s.tx(ctx, func(tx conn) error {
		// The batch, then its users, locked in SetIntent's order, so that
		// the two cannot deadlock (PostgreSQL); with the users locked, a
		// claim cannot lease one between the count and the delete.
		var found string
		err := tx.QueryRowContext(ctx, `SELECT name FROM batch WHERE name = ?`+s.d.ForUpdate, name).Scan(&found)
		if errors.Is(err, sql.ErrNoRows) {
			return migration.ErrNotFound
		}
		if err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT lease_owner, lease_expiry FROM migration_user WHERE batch = ?`+s.d.ForUpdate+`) u
			WHERE `+leased, name, now).Scan(&n); err != nil {
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

// RemoveUser deletes a migration user, its sync state and its sealed
// passwords (Remove-MigrationUser). A worker that holds the user loses its
// lease at its next heartbeat and stops.
func (s *DB) RemoveUser(ctx context.Context, id int64) error {
	return s.tx(ctx, func(tx conn) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM mailbox WHERE key = ?`, UserStateKey(id)); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM migration_user WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return migration.ErrNotFound
		}
		return nil
	})
}

// UpdateUser changes a user's sealed passwords (nil: unchanged) and, with
// retry, applies the batch's current command (start or complete) to the
// user again: a Failed user of a running batch is due at once.
func (s *DB) UpdateUser(ctx context.Context, id int64, u migration.UserUpdate) error {
	return s.tx(ctx, func(tx conn) error {
		var intent migration.Intent
		err := tx.QueryRowContext(ctx, `SELECT b.intent FROM batch b JOIN migration_user u ON u.batch = b.name WHERE u.id = ?`, id).Scan(&intent)
		if errors.Is(err, sql.ErrNoRows) {
			return migration.ErrNotFound
		}
		if err != nil {
			return err
		}
		if u.Password != nil {
			if _, err := tx.ExecContext(ctx, `UPDATE migration_user SET password = ? WHERE id = ?`, u.Password.Reveal(), id); err != nil {
				return err
			}
		}
		if u.TargetPassword != nil {
			if _, err := tx.ExecContext(ctx, `UPDATE migration_user SET target_password = ? WHERE id = ?`, u.TargetPassword.Reveal(), id); err != nil {
				return err
			}
		}
		if !u.Retry || (intent != migration.IntentRunning && intent != migration.IntentCompleting) {
			return nil
		}
		// Locked, so that a claim cannot lease the user between this read
		// and the write below (PostgreSQL; SQLite runs one writer).
		_, old, err := scanStanding(tx.QueryRowContext(ctx, `SELECT `+s.standingCols()+` FROM migration_user WHERE id = ?`+s.d.ForUpdate, s.ts(u.Now), id))
		if err != nil {
			return err
		}
		st := migration.Command(intent, old, u.Now)
		_, err = tx.ExecContext(ctx, `UPDATE migration_user SET status = ?, next_due = ?, attempts = ?, error = ? WHERE id = ?`,
			st.Status, s.ts(st.NextDue), st.Attempts, st.Error, id)
		return err
	})
}

func (s *DB) FinishRemovals(ctx context.Context) error {
	rows, err := s.db.QueryContext(ctx, `SELECT name FROM batch WHERE intent = 'removing'`)
	if err != nil {
		return err
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return err
		}
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
	items_synced, items_skipped, skipped_by, bytes_synced, folders, first_sync, last_sync, next_due, attempts,
	kind, lease_owner, lease_expiry, pass_started, progress_items, progress_bytes, progress_total, progress_folder, progress_at`

func scanUser(r scanner) (*migration.User, error) {
	var u migration.User
	var pw, tpw, skipped string
	var p migration.PassProgress
	var leaseExpiry time.Time
	if err := r.Scan(&u.ID, &u.Batch, &u.EmailAddress, &u.UserName, &pw, &u.UserRoot, &u.TargetUserName, &tpw, &u.Status, &u.Error,
		&u.ItemsSynced, &u.ItemsSkipped, &skipped, &u.BytesSynced, &u.Folders, tsCol{&u.FirstSync}, tsCol{&u.LastSync}, tsCol{&u.NextSync}, &u.Attempts,
		&p.Kind, &p.Worker, tsCol{&leaseExpiry}, tsCol{&p.Started}, &p.Items, &p.Bytes, &p.ItemsTotal, &p.Folder, tsCol{&p.At}); err != nil {
		return nil, err
	}
	u.Password, u.TargetPassword = sensitive.String(pw), sensitive.String(tpw)
	json.Unmarshal([]byte(skipped), &u.SkippedBy)
	if p.Worker != "" {
		p.LeaseExpiry = leaseExpiry
		u.Pass = &p
	}
	return &u, nil
}

func (s *DB) Users(ctx context.Context, batch string, status migration.UserStatus) ([]migration.User, error) {
	// Only the filters given, so that a batch's users are read from the
	// index on (batch, id) in order, not every user sorted.
	var where []string
	var args []any
	if batch != "" {
		where, args = append(where, `batch = ?`), append(args, batch)
	}
	if status != "" {
		where, args = append(where, `status = ?`), append(args, string(status))
	}
	q := `SELECT ` + userCols + ` FROM migration_user`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	rows, err := s.db.QueryContext(ctx, q+` ORDER BY batch, id`, args...)
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

func (s *DB) UserByEmail(ctx context.Context, email string) (*migration.User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx, `SELECT `+userCols+` FROM migration_user WHERE email_key = ? ORDER BY id DESC LIMIT 1`, strings.ToLower(email)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, migration.ErrNotFound
	}
	return u, err
}

// UserState is the sync state of a migration user, created with the
// user's first pass; ErrNotFound once the user is removed. A pass claimed
// just before its user was removed must not create the state again: it
// would outlive the user, and a later user given the same id (SQLite) would
// start from it.
func (s *DB) UserState(ctx context.Context, userID int64) (syncer.State, error) {
	key := UserStateKey(userID)
	if _, err := s.db.ExecContext(ctx, `INSERT INTO mailbox (key, created_at) SELECT ?, ? WHERE EXISTS (SELECT 1 FROM migration_user WHERE id = ?)
		ON CONFLICT (key) DO NOTHING`, key, s.ts(time.Now()), userID); err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	m := &Mailbox{s: s, folders: make(map[string]int64)}
	err := s.db.QueryRowContext(ctx, `SELECT id FROM mailbox WHERE key = ?`, key).Scan(&m.id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("state of migration user %d: %w", userID, migration.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	return m, nil
}
