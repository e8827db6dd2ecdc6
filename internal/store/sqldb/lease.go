package sqldb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/migration"
)

// Finish records a pass's outcome, as migration.Settle decides it given
// the batch's intent now, and releases the lease.
func (s *DB) Finish(ctx context.Context, userID int64, owner string, o migration.Outcome) error {
	return s.tx(ctx, func(tx conn) error {
		var intent migration.Intent
		var kind migration.PassKind
		var batch string
		var started time.Time
		var items, skippedBefore, bytes int64
		err := tx.QueryRowContext(ctx, `SELECT b.intent, u.kind, u.batch, u.pass_started, u.items_synced, u.items_skipped, u.bytes_synced
			FROM migration_user u JOIN batch b ON b.name = u.batch WHERE u.id = ? AND u.lease_owner = ?`,
			userID, owner).Scan(&intent, &kind, &batch, tsCol{&started}, &items, &skippedBefore, &bytes)
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
		if err != nil {
			return err
		}
		// The pass's own counts: what the user's totals grew by.
		return s.recordPass(ctx, tx, passEnd{userID: userID, batch: batch, kind: kind, worker: owner, started: started, ended: o.At,
			status: o.Status, items: int64(o.Copied) - items, skipped: int64(sumSkipped(o.Skipped)) - skippedBefore, bytes: o.Bytes - bytes, err: o.Error})
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
//
// Each pass given up is recorded in the history of passes, with the status
// its user is left in, what its last heartbeat said it had synced (nothing
// skipped is known) and errReleased.
func (s *DB) ReleaseAll(ctx context.Context, owner string) error {
	const intent = `(SELECT b.intent FROM batch b WHERE b.name = migration_user.batch)`
	const status = `CASE ` + intent + ` WHEN 'stopped' THEN 'Stopped' WHEN 'removing' THEN 'Removing' ELSE
			(CASE WHEN status IN ('Syncing', 'IncrementalSyncing', 'Completing', 'Stopping') THEN (CASE WHEN first_sync IS NULL THEN 'Queued' ELSE 'Synced' END) ELSE status END) END`
	return s.tx(ctx, func(tx conn) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO pass_history (user_id, batch, kind, worker, started_at, ended_at, status, items_synced, items_skipped,
			bytes_synced, error) SELECT id, batch, kind, lease_owner, pass_started, ?, `+status+`, progress_items, 0, progress_bytes, ?
			FROM migration_user WHERE lease_owner = ? ORDER BY id`, s.ts(time.Now()), errReleased, owner)
		if err != nil {
			return err
		}
		if err := prunePasses(ctx, tx, `user_id IN (SELECT id FROM migration_user WHERE lease_owner = ?)`, owner); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE migration_user SET lease_owner = '', lease_expiry = NULL, kind = '', pass_started = NULL,
			progress_items = 0, progress_bytes = 0, progress_total = 0, progress_folder = '', progress_at = NULL,
			status = `+status+`,
			next_due = CASE WHEN `+intent+` IN ('stopped', 'removing') THEN NULL ELSE next_due END
			WHERE lease_owner = ?`, owner)
		return err
	})
}

// errReleased is the error of a pass that ReleaseAll gave up.
const errReleased = "the pass was given up: its worker shut down before the pass ended"
