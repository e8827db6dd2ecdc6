package sqldb

import (
	"context"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/migration"
)

// BatchSyncs adds up a batch's users' syncs for migration.Batch.Summarize:
// one aggregate of their sync times, and the progress of the leased ones.
// MAX over the time columns is time order on both engines (SQLite's text
// times are fixed width, TextTime).
func (s *DB) BatchSyncs(ctx context.Context, batch string) (migration.BatchSyncs, error) {
	var out migration.BatchSyncs
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(first_sync), MAX(first_sync), MAX(last_sync) FROM migration_user WHERE batch = ?`, batch).
		Scan(&out.FirstSynced, tsCol{&out.FirstSyncMax}, tsCol{&out.LastSyncMax})
	if err != nil {
		return out, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT kind, lease_owner, lease_expiry, pass_started, progress_items, progress_bytes, progress_total,
		progress_folder, progress_at FROM migration_user WHERE batch = ? AND lease_owner != '' ORDER BY id`, batch)
	if err != nil {
		return out, err
	}
	defer rows.Close()
	for rows.Next() {
		var p migration.PassProgress
		var expiry time.Time
		if err := rows.Scan(&p.Kind, &p.Worker, tsCol{&expiry}, tsCol{&p.Started}, &p.Items, &p.Bytes, &p.ItemsTotal, &p.Folder, tsCol{&p.At}); err != nil {
			return out, err
		}
		p.LeaseExpiry = expiry
		out.Passes = append(out.Passes, p)
	}
	return out, rows.Err()
}
