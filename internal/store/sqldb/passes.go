package sqldb

import (
	"context"
	"strconv"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/migration"
)

// The history of passes: Finish and ReleaseAll write a row for each pass
// that ends, in their transaction, so that every pass whose lease was
// given up is recorded, with the status its user was left in; each user
// keeps its last migration.PassHistoryKept. The rows go with their user
// (a foreign key: RemoveUser, DeleteBatch).

// passEnd is what a pass's row records.
type passEnd struct {
	userID         int64
	batch          string
	kind           migration.PassKind
	worker         string
	started, ended time.Time
	status         migration.UserStatus
	items, skipped int64
	bytes          int64
	err            string
}

// recordPass writes p and deletes the user's passes older than the last
// migration.PassHistoryKept.
func (s *DB) recordPass(ctx context.Context, tx conn, p passEnd) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO pass_history (user_id, batch, kind, worker, started_at, ended_at, status, items_synced, items_skipped,
		bytes_synced, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.userID, p.batch, p.kind, p.worker, s.ts(p.started), s.ts(p.ended), p.status, max(p.items, 0), max(p.skipped, 0), max(p.bytes, 0), p.err)
	if err != nil {
		return err
	}
	return prunePasses(ctx, tx, `user_id = ?`, p.userID)
}

// prunePasses deletes, for the users that where selects, their passes
// older than the last migration.PassHistoryKept.
func prunePasses(ctx context.Context, tx conn, where string, args ...any) error {
	_, err := tx.ExecContext(ctx, `DELETE FROM pass_history WHERE `+where+` AND id NOT IN
		(SELECT h.id FROM pass_history h WHERE h.user_id = pass_history.user_id ORDER BY h.id DESC LIMIT `+strconv.Itoa(migration.PassHistoryKept)+`)`,
		args...)
	return err
}

const passCols = `id, user_id, batch, kind, worker, started_at, ended_at, status, items_synced, items_skipped, bytes_synced, error`

// PassHistory lists a user's latest passes, the newest first, at most
// limit (every one kept when limit <= 0).
func (s *DB) PassHistory(ctx context.Context, userID int64, limit int) ([]migration.PassRecord, error) {
	if limit <= 0 || limit > migration.PassHistoryKept {
		limit = migration.PassHistoryKept
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+passCols+` FROM pass_history WHERE user_id = ? ORDER BY id DESC LIMIT ?`, userID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []migration.PassRecord
	for rows.Next() {
		var p migration.PassRecord
		if err := rows.Scan(&p.ID, &p.UserID, &p.Batch, &p.Kind, &p.Worker, tsCol{&p.Started}, tsCol{&p.Ended}, &p.Status, &p.ItemsSynced,
			&p.ItemsSkipped, &p.Bytes, &p.Error); err != nil {
			return nil, err
		}
		p.Derive()
		out = append(out, p)
	}
	return out, rows.Err()
}
