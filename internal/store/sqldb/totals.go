package sqldb

import "context"

// SyncedTotals is what a migration user's sync state says the target
// holds: the messages of every folder's map and their bytes, and the
// skipped messages by reason. It counts what a pass committed even when
// that pass never recorded its outcome (its worker was killed), which
// counters added up pass by pass lose.
func (s *DB) SyncedTotals(ctx context.Context, userID int64) (items int, bytes int64, skipped map[string]int, err error) {
	key := UserStateKey(userID)
	err = s.db.QueryRowContext(ctx, `SELECT COUNT(*), CAST(COALESCE(SUM(m.size), 0) AS BIGINT)
		FROM message m JOIN folder f ON f.id = m.folder_id JOIN mailbox b ON b.id = f.mailbox_id WHERE b.key = ?`, key).Scan(&items, &bytes)
	if err != nil {
		return 0, 0, nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT k.reason, COUNT(*) FROM skipped k JOIN folder f ON f.id = k.folder_id JOIN mailbox b ON b.id = f.mailbox_id
		WHERE b.key = ? GROUP BY k.reason`, key)
	if err != nil {
		return 0, 0, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var reason string
		var n int
		if err := rows.Scan(&reason, &n); err != nil {
			return 0, 0, nil, err
		}
		if skipped == nil {
			skipped = make(map[string]int)
		}
		skipped[reason] = n
	}
	return items, bytes, skipped, rows.Err()
}
