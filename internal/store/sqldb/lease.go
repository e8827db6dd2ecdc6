package sqldb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/migration"
)

// Claim leases the next due user whose endpoints have a free slot: at most
// MaxConcurrentMigrations users in initial sync and
// MaxConcurrentIncrementalSyncs in incremental sync per endpoint, counted
// over the live leases of every worker of every process. Claims are
// serialised (the dialect's Serialize: SQLite's write lock, a PostgreSQL
// advisory lock), so that counting the live leases and taking one more is
// one step for every worker on every machine; candidates another
// transaction holds are skipped. It returns nil when nothing can run now.
func (s *DB) Claim(ctx context.Context, owner, batch string, now time.Time, ttl time.Duration) (*migration.Claim, error) {
	var claim *migration.Claim
	err := s.txOpt(ctx, true, func(tx conn) error {
		nowS := s.ts(now)
		// Live leases per endpoint and slot.
		type key struct {
			endpoint string
			slot     migration.PassKind
		}
		busy := make(map[key]int)
		rows, err := tx.QueryContext(ctx, `SELECT b.source_endpoint, b.target_endpoint, u.kind, COUNT(*) FROM migration_user u JOIN batch b ON b.name = u.batch
			WHERE u.lease_owner != '' AND u.lease_expiry >= ? GROUP BY b.source_endpoint, b.target_endpoint, u.kind`, nowS)
		if err != nil {
			return err
		}
		for rows.Next() {
			var src, tgt string
			var kind migration.PassKind
			var n int
			if err := rows.Scan(&src, &tgt, &kind, &n); err != nil {
				rows.Close()
				return err
			}
			busy[key{src, kind.Slot()}] += n
			if tgt != src {
				busy[key{tgt, kind.Slot()}] += n
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}

		limits := make(map[string]*migration.Endpoint)
		limit := func(name string) (*migration.Endpoint, error) {
			if e, ok := limits[name]; ok {
				return e, nil
			}
			e, err := scanEndpoint(tx.QueryRowContext(ctx, `SELECT `+endpointCols+` FROM endpoint WHERE name = ?`, name))
			if err != nil {
				return nil, err
			}
			limits[name] = e
			return e, nil
		}
		full := func(name string, slot migration.PassKind) (bool, error) {
			e, err := limit(name)
			if err != nil {
				return false, err
			}
			return busy[key{name, slot}] >= e.Limit(slot), nil
		}

		// Candidates in due order, a page at a time, until one fits.
		type cand struct {
			id       int64
			intent   migration.Intent
			st       migration.Standing
			src, tgt string
		}
		after := time.Unix(0, 0).UTC()
		var afterID int64
		for page := 0; page < 50; page++ {
			rows, err = tx.QueryContext(ctx, `SELECT u.id, b.intent, b.source_endpoint, b.target_endpoint, u.next_due, u.first_sync IS NOT NULL
				FROM migration_user u JOIN batch b ON b.name = u.batch
				WHERE b.intent IN ('running', 'completing') AND u.next_due IS NOT NULL AND u.next_due <= ?
				  AND NOT (u.lease_owner != '' AND u.lease_expiry >= ?) AND (? = '' OR b.name = ?)
				  AND (u.next_due > ? OR (u.next_due = ? AND u.id > ?))
				ORDER BY u.next_due, u.id LIMIT 200`+s.d.SkipLocked,
				nowS, nowS, batch, batch, s.ts(after), s.ts(after), afterID)
			if err != nil {
				return err
			}
			var cands []cand
			for rows.Next() {
				var c cand
				if err := rows.Scan(&c.id, &c.intent, &c.src, &c.tgt, tsCol{&c.st.NextDue}, &c.st.Synced); err != nil {
					rows.Close()
					return err
				}
				cands = append(cands, c)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			for _, c := range cands {
				after, afterID = c.st.NextDue, c.id
				kind, ok := migration.Due(c.intent, c.st, now)
				if !ok {
					continue
				}
				fullSrc, err := full(c.src, kind.Slot())
				if err != nil {
					return err
				}
				fullTgt, err := full(c.tgt, kind.Slot())
				if err != nil {
					return err
				}
				if fullSrc || fullTgt {
					continue
				}
				if _, err := tx.ExecContext(ctx, `UPDATE migration_user SET lease_owner = ?, lease_expiry = ?, kind = ?, status = ?,
					pass_started = ?, progress_items = 0, progress_bytes = 0, progress_total = 0, progress_folder = '', progress_at = NULL WHERE id = ?`,
					owner, s.ts(now.Add(ttl)), kind, kind.Status(), nowS, c.id); err != nil {
					return err
				}
				u, err := scanUser(tx.QueryRowContext(ctx, `SELECT `+userCols+` FROM migration_user WHERE id = ?`, c.id))
				if err != nil {
					return err
				}
				b, err := scanBatch(tx.QueryRowContext(ctx, `SELECT `+batchCols+` FROM batch b WHERE name = ?`, u.Batch))
				if err != nil {
					return err
				}
				src, _ := limit(c.src)
				tgt, _ := limit(c.tgt)
				claim = &migration.Claim{User: *u, Batch: *b, Source: *src, Target: *tgt, Kind: kind}
				return nil
			}
			if len(cands) < 200 {
				return nil
			}
		}
		return nil
	})
	return claim, err
}

// Heartbeat extends a lease, records the pass's progress and returns the
// batch's intent, so that a worker learns of stop, complete and remove.
// ErrNotFound: the lease was lost (or the user removed).
func (s *DB) Heartbeat(ctx context.Context, userID int64, owner string, expiry time.Time, p migration.Progress) (migration.Intent, error) {
	var intent migration.Intent
	err := s.tx(ctx, func(tx conn) error {
		res, err := tx.ExecContext(ctx, `UPDATE migration_user SET lease_expiry = ?, progress_items = ?, progress_bytes = ?, progress_total = ?,
			progress_folder = ?, progress_at = ? WHERE id = ? AND lease_owner = ?`,
			s.ts(expiry), p.Items, p.Bytes, p.ItemsTotal, p.Folder, s.ts(p.At), userID, owner)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return migration.ErrNotFound
		}
		return tx.QueryRowContext(ctx, `SELECT b.intent FROM batch b JOIN migration_user u ON u.batch = b.name WHERE u.id = ?`, userID).Scan(&intent)
	})
	return intent, err
}

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
