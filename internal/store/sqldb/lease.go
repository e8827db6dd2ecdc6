package sqldb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/imapmigrate/imapmigrate/internal/migration"
)

// Finish records a pass's outcome, as migration.Settle decides it given
// the batch's intent now, and releases the lease.
func (s *DB) Finish(ctx context.Context, userID int64, owner string, o migration.Outcome) error {
	return s.tx(ctx, func(tx conn) error {
		var intent migration.Intent
		var kind migration.PassKind
		err := tx.QueryRowContext(ctx, `SELECT b.intent, u.kind FROM migration_user u JOIN batch b ON b.name = u.batch WHERE u.id = ? AND u.lease_owner = ?`,
			userID, owner).Scan(&intent, &kind)
		if errors.Is(err, sql.ErrNoRows) {
			return errLeaseLost
		}
		if err != nil {
			return err
		}
		o = migration.Settle(intent, kind, o)
		skipped, _ := json.Marshal(o.Skipped)
		if o.Skipped == nil {
			skipped = []byte("{}")
		}
		var first any
		if o.FirstSync {
			first = s.ts(o.At)
		}
		_, err = tx.ExecContext(ctx, `UPDATE migration_user SET status = ?, error = ?, items_synced = ?, items_skipped = ?, skipped_by = ?,
			bytes_synced = ?, folders = ?, last_sync = COALESCE(?, last_sync), first_sync = COALESCE(first_sync, ?), next_due = ?, attempts = ?,
			lease_owner = '', lease_expiry = NULL, kind = '', pass_started = NULL, progress_items = 0, progress_bytes = 0, progress_total = 0,
			progress_folder = '', progress_at = NULL WHERE id = ? AND lease_owner = ?`,
			o.Status, o.Error, o.Copied, sumSkipped(o.Skipped), string(skipped), o.Bytes, o.Folders, lastSync(s, o), first, s.ts(o.NextDue), o.Attempts, userID, owner)
		return err
	})
}

// lastSync is set by a pass that completed.
func lastSync(s *DB, o migration.Outcome) any {
	if !o.FirstSync {
		return nil
	}
	return s.ts(o.At)
}

func sumSkipped(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// ReleaseAll gives up owner's leases: the users are due again at once,
// showing the status they had before the pass (Queued or Synced), unless
// the batch was stopped or is being removed meanwhile: then, as
// migration.Settle decides for a pass that ends after stop or remove, they
// are Stopped or Removing with nothing due (not left Stopping with no
// worker).
func (s *DB) ReleaseAll(ctx context.Context, owner string) error {
	const intent = `(SELECT b.intent FROM batch b WHERE b.name = migration_user.batch)`
	_, err := s.db.ExecContext(ctx, `UPDATE migration_user SET lease_owner = '', lease_expiry = NULL, kind = '', pass_started = NULL,
		progress_items = 0, progress_bytes = 0, progress_total = 0, progress_folder = '', progress_at = NULL,
		status = CASE `+intent+` WHEN 'stopped' THEN 'Stopped' WHEN 'removing' THEN 'Removing' ELSE
			(CASE WHEN status IN ('Syncing', 'IncrementalSyncing', 'Completing', 'Stopping') THEN (CASE WHEN first_sync IS NULL THEN 'Queued' ELSE 'Synced' END) ELSE status END) END,
		next_due = CASE WHEN `+intent+` IN ('stopped', 'removing') THEN NULL ELSE next_due END
		WHERE lease_owner = ?`, owner)
	return err
}
