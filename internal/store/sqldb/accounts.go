package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/auth"
	"github.com/imapmigrate/imapmigrate/internal/migration"
)

// Dashboard accounts, API tokens, sessions and the audit log: package
// auth's Store. Only digests and PHC strings reach these tables, never a
// secret.

var _ auth.Store = (*DB)(nil)

// CreateAdmin stores a new account (migration.ErrExists when the name is
// taken).
func (s *DB) CreateAdmin(ctx context.Context, a *auth.Admin, passwordHash string) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO admin (name, password_hash, created_at) VALUES (?, ?, ?)`,
		a.Name, passwordHash, s.ts(a.CreatedAt))
	if err != nil && s.d.IsUnique(err) {
		return migration.ErrExists
	}
	return err
}

// AdminPassword returns an account and its password's PHC string.
func (s *DB) AdminPassword(ctx context.Context, name string) (*auth.Admin, string, error) {
	var a auth.Admin
	var hash string
	err := s.db.QueryRowContext(ctx, `SELECT name, created_at, last_login, password_hash FROM admin WHERE name = ?`, name).
		Scan(&a.Name, tsCol{&a.CreatedAt}, tsCol{&a.LastLogin}, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", migration.ErrNotFound
	}
	if err != nil {
		return nil, "", err
	}
	return &a, hash, nil
}

// DeleteAdmin removes an account with its tokens and sessions (named here
// rather than left to ON DELETE CASCADE, which SQLite applies only with
// foreign keys on).
func (s *DB) DeleteAdmin(ctx context.Context, name string) error {
	return s.tx(ctx, func(tx conn) error {
		for _, q := range []string{`DELETE FROM api_token WHERE admin = ?`, `DELETE FROM session WHERE admin = ?`} {
			if _, err := tx.ExecContext(ctx, q, name); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM admin WHERE name = ?`, name)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return migration.ErrNotFound
		}
		return nil
	})
}

// ListAdmins lists the accounts by name.
func (s *DB) ListAdmins(ctx context.Context) ([]auth.Admin, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, created_at, last_login FROM admin ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []auth.Admin
	for rows.Next() {
		var a auth.Admin
		if err := rows.Scan(&a.Name, tsCol{&a.CreatedAt}, tsCol{&a.LastLogin}); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// CountAdmins is how many accounts there are.
func (s *DB) CountAdmins(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM admin`).Scan(&n)
	return n, err
}

// SetLastLogin records an account's latest login.
func (s *DB) SetLastLogin(ctx context.Context, name string, t time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE admin SET last_login = ? WHERE name = ?`, s.ts(t), name)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return migration.ErrNotFound
	}
	return nil
}

// CreateToken stores a new API token: migration.ErrExists when its name
// is taken, migration.ErrNotFound when its account is missing.
func (s *DB) CreateToken(ctx context.Context, t *auth.Token, hash string) error {
	return s.tx(ctx, func(tx conn) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM admin WHERE name = ?`+s.d.ForUpdate, t.Admin).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return migration.ErrNotFound
		}
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO api_token (name, admin, hash, created_at) VALUES (?, ?, ?, ?)`,
			t.Name, t.Admin, hash, s.ts(t.CreatedAt))
		if err != nil && s.d.IsUnique(err) {
			return migration.ErrExists
		}
		return err
	})
}

const tokenCols = `name, admin, created_at, last_used`

func scanToken(sc interface{ Scan(...any) error }) (*auth.Token, error) {
	var t auth.Token
	if err := sc.Scan(&t.Name, &t.Admin, tsCol{&t.CreatedAt}, tsCol{&t.LastUsed}); err != nil {
		return nil, err
	}
	return &t, nil
}

// TokenByHash finds the token whose secret has this digest.
func (s *DB) TokenByHash(ctx context.Context, hash string) (*auth.Token, error) {
	t, err := scanToken(s.db.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM api_token WHERE hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, migration.ErrNotFound
	}
	return t, err
}

// ListTokens lists every token by name.
func (s *DB) ListTokens(ctx context.Context) ([]auth.Token, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+tokenCols+` FROM api_token ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []auth.Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *t)
	}
	return out, rows.Err()
}

// DeleteToken removes a token (migration.ErrNotFound when none).
func (s *DB) DeleteToken(ctx context.Context, name string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM api_token WHERE name = ?`, name)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return migration.ErrNotFound
	}
	return nil
}

// TouchToken records a token's latest use; a revoked token is not an
// error (it was used just before).
func (s *DB) TouchToken(ctx context.Context, name string, t time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE api_token SET last_used = ? WHERE name = ?`, s.ts(t), name)
	return err
}

// CreateSession stores a new session (migration.ErrNotFound when its
// account is missing).
func (s *DB) CreateSession(ctx context.Context, r *auth.SessionRecord) error {
	return s.tx(ctx, func(tx conn) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM admin WHERE name = ?`+s.d.ForUpdate, r.Admin).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return migration.ErrNotFound
		}
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO session (hash, admin, created_at, seen_at) VALUES (?, ?, ?, ?)`,
			r.Hash, r.Admin, s.ts(r.Created), s.ts(r.Seen))
		if err != nil && s.d.IsUnique(err) {
			return migration.ErrExists
		}
		return err
	})
}

// SessionByHash finds the session whose id has this digest.
func (s *DB) SessionByHash(ctx context.Context, hash string) (*auth.SessionRecord, error) {
	var r auth.SessionRecord
	err := s.db.QueryRowContext(ctx, `SELECT hash, admin, created_at, seen_at FROM session WHERE hash = ?`, hash).
		Scan(&r.Hash, &r.Admin, tsCol{&r.Created}, tsCol{&r.Seen})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, migration.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// TouchSession records a session's latest request.
func (s *DB) TouchSession(ctx context.Context, hash string, t time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE session SET seen_at = ? WHERE hash = ?`, s.ts(t), hash)
	return err
}

// DeleteSession removes a session; none is not an error.
func (s *DB) DeleteSession(ctx context.Context, hash string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM session WHERE hash = ?`, hash)
	return err
}

// DeleteSessionsBefore removes the sessions last seen before seen or
// created before created.
func (s *DB) DeleteSessionsBefore(ctx context.Context, seen, created time.Time) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM session WHERE seen_at < ? OR created_at < ?`, s.ts(seen), s.ts(created))
	return err
}

// AppendAudit stores an entry and sets its ID.
func (s *DB) AppendAudit(ctx context.Context, e *auth.AuditEntry) error {
	return s.db.QueryRowContext(ctx, `INSERT INTO audit_log (created_at, actor, action, object, detail, remote) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
		s.ts(e.Time), e.Actor, e.Action, e.Object, e.Detail, e.Remote).Scan(&e.ID)
}

// ListAudit returns up to limit entries, newest first, with an ID below
// beforeID (0: from the newest).
func (s *DB) ListAudit(ctx context.Context, limit int, beforeID int64) ([]auth.AuditEntry, error) {
	q, args := `SELECT id, created_at, actor, action, object, detail, remote FROM audit_log`, []any{}
	if beforeID > 0 {
		q, args = q+` WHERE id < ?`, append(args, beforeID)
	}
	rows, err := s.db.QueryContext(ctx, q+` ORDER BY id DESC LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []auth.AuditEntry
	for rows.Next() {
		var e auth.AuditEntry
		if err := rows.Scan(&e.ID, tsCol{&e.Time}, &e.Actor, &e.Action, &e.Object, &e.Detail, &e.Remote); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
