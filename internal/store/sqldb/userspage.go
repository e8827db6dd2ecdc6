package sqldb

import (
	"context"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/migration"
)

var _ migration.UserPager = (*DB)(nil)

// UsersPage reads one page of a batch's users (status "" is any), in the
// order Users lists them, from the index on (batch, id): a page of a
// 20,000-user batch does not read the other users.
func (s *DB) UsersPage(ctx context.Context, batch string, status migration.UserStatus, offset, limit int) ([]migration.User, error) {
	q := `SELECT ` + userCols + ` FROM migration_user WHERE batch = ?`
	args := []any{batch}
	if status != "" {
		q, args = q+` AND status = ?`, append(args, string(status))
	}
	rows, err := s.db.QueryContext(ctx, q+` ORDER BY id LIMIT ? OFFSET ?`, append(args, limit, offset)...)
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

// NextDue is the earliest time work is due for a user of batch; zero when
// none is. MIN is time order on both engines (TextTime is fixed width).
func (s *DB) NextDue(ctx context.Context, batch string) (time.Time, error) {
	var t time.Time
	err := s.db.QueryRowContext(ctx, `SELECT MIN(next_due) FROM migration_user WHERE batch = ?`, batch).Scan(tsCol{&t})
	return t, err
}
