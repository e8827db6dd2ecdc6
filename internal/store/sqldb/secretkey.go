package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/secret"
)

var _ secret.KeyRecord = (*DB)(nil)

// SecretKeyID returns the ID of the key recorded as sealing this database's
// passwords ("" when none is) and whether any sealed password is stored.
func (s *DB) SecretKeyID(ctx context.Context) (id string, sealed bool, err error) {
	err = s.db.QueryRowContext(ctx, `SELECT key_id FROM secret_key WHERE id = 1`).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		id, err = "", nil
	}
	if err != nil {
		return "", false, err
	}
	err = s.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM endpoint WHERE admin_password != '')
		OR EXISTS (SELECT 1 FROM migration_user WHERE password != '' OR target_password != '')`).Scan(&sealed)
	return id, sealed, err
}

// RecordSecretKeyID records id as the key of this database's passwords.
func (s *DB) RecordSecretKeyID(ctx context.Context, id string) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO secret_key (id, key_id, recorded_at) VALUES (1, ?, ?)
		ON CONFLICT (id) DO UPDATE SET key_id = excluded.key_id, recorded_at = excluded.recorded_at`, id, s.ts(time.Now()))
	return err
}
