package store

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
// over the live leases of every worker (the lease table is the only
// coordination between processes). It returns nil when nothing can run now.
func (s *Store) Claim(ctx context.Context, owner, batch string, now time.Time, ttl time.Duration) (*migration.Claim, error) {
	var claim *migration.Claim
	err := s.tx(ctx, func(tx *sql.Tx) error {
		nowS := ts(now)
		// Live leases per endpoint and kind.
		type key struct{ endpoint, kind string }
		busy := make(map[key]int)
		rows, err := tx.QueryContext(ctx, `SELECT b.source_endpoint, b.target_endpoint, u.kind FROM migration_user u JOIN batch b ON b.name = u.batch
			WHERE u.lease_owner != '' AND u.lease_expiry >= ?`, nowS)
		if err != nil {
			return err
		}
		for rows.Next() {
			var src, tgt, kind string
			if err := rows.Scan(&src, &tgt, &kind); err != nil {
				rows.Close()
				return err
			}
			if kind == "final" {
				kind = "incremental"
			}
			busy[key{src, kind}]++
			if tgt != src {
				busy[key{tgt, kind}]++
			}
		}
		rows.Close()

		rows, err = tx.QueryContext(ctx, `SELECT u.id, u.first_sync IS NULL, b.intent, b.source_endpoint, b.target_endpoint
			FROM migration_user u JOIN batch b ON b.name = u.batch
			WHERE b.intent IN ('running', 'completing') AND u.next_due IS NOT NULL AND u.next_due <= ?
			  AND NOT (u.lease_owner != '' AND u.lease_expiry >= ?) AND (? = '' OR b.name = ?)
			ORDER BY u.next_due, u.id LIMIT 200`, nowS, nowS, batch, batch)
		if err != nil {
			return err
		}
		type cand struct {
			id       int64
			initial  bool
			intent   migration.Intent
			src, tgt string
		}
		var cands []cand
		for rows.Next() {
			var c cand
			if err := rows.Scan(&c.id, &c.initial, &c.intent, &c.src, &c.tgt); err != nil {
				rows.Close()
				return err
			}
			cands = append(cands, c)
		}
		rows.Close()
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
		for _, c := range cands {
			kind := "incremental"
			switch {
			case c.intent == migration.IntentCompleting:
				kind = "final"
			case c.initial:
				kind = "initial"
			}
			countKind := kind
			if kind == "final" {
				countKind = "incremental"
			}
			ok := true
			for _, name := range []string{c.src, c.tgt} {
				e, err := limit(name)
				if err != nil {
					return err
				}
				max := e.MaxConcurrentIncrementalSyncs
				if countKind == "initial" {
					max = e.MaxConcurrentMigrations
				}
				if busy[key{name, countKind}] >= max {
					ok = false
				}
			}
			if !ok {
				continue
			}
			status := migration.UserIncrementalSyncing
			switch kind {
			case "initial":
				status = migration.UserSyncing
			case "final":
				status = migration.UserCompleting
			}
			if _, err := tx.ExecContext(ctx, `UPDATE migration_user SET lease_owner = ?, lease_expiry = ?, kind = ?, status = ? WHERE id = ?`,
				owner, ts(now.Add(ttl)), kind, status, c.id); err != nil {
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
		return nil
	})
	return claim, err
}

// Heartbeat extends a lease and returns the batch's intent, so that a worker
// learns of stop, complete and remove. ErrNotFound: the lease was lost.
func (s *Store) Heartbeat(ctx context.Context, userID int64, owner string, expiry time.Time) (migration.Intent, error) {
	var intent migration.Intent
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE migration_user SET lease_expiry = ? WHERE id = ? AND lease_owner = ?`, ts(expiry), userID, owner)
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

// Finish records a pass's outcome and releases the lease. What was asked of
// the batch meanwhile wins over the pass's own view: a pass that ended
// normally after a stop leaves the user Stopped, and one that ended after a
// complete (but was not the final pass) makes the user due at once for it.
func (s *Store) Finish(ctx context.Context, userID int64, owner string, o migration.Outcome) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var intent migration.Intent
		var kind string
		err := tx.QueryRowContext(ctx, `SELECT b.intent, u.kind FROM migration_user u JOIN batch b ON b.name = u.batch WHERE u.id = ? AND u.lease_owner = ?`,
			userID, owner).Scan(&intent, &kind)
		if errors.Is(err, sql.ErrNoRows) {
			return errors.New("lease lost before the outcome was recorded")
		}
		if err != nil {
			return err
		}
		switch {
		case intent == migration.IntentStopped:
			o.Status, o.NextDue = migration.UserStopped, time.Time{}
		case intent == migration.IntentRemoving:
			o.Status, o.NextDue = migration.UserRemoving, time.Time{}
		case intent == migration.IntentCompleting && kind != "final" && o.Status != migration.UserCompleted:
			o.NextDue = o.At
		}
		skipped, _ := json.Marshal(o.Skipped)
		if o.Skipped == nil {
			skipped = []byte("{}")
		}
		var first any
		if o.FirstSync {
			first = ts(o.At)
		}
		_, err = tx.ExecContext(ctx, `UPDATE migration_user SET status = ?, error = ?, items_synced = ?, items_skipped = ?, skipped_by = ?,
			bytes_synced = ?, folders = ?, last_sync = COALESCE(?, last_sync), first_sync = COALESCE(first_sync, ?), next_due = ?, attempts = ?,
			lease_owner = '', lease_expiry = NULL, kind = '' WHERE id = ? AND lease_owner = ?`,
			o.Status, o.Error, o.Copied, sumSkipped(o.Skipped), string(skipped), o.Bytes, o.Folders, ts(o.At), first, ts(o.NextDue), o.Attempts, userID, owner)
		return err
	})
}

func sumSkipped(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// ReleaseAll gives up owner's leases: the users are due again at once.
func (s *Store) ReleaseAll(ctx context.Context, owner string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE migration_user SET lease_owner = '', lease_expiry = NULL, kind = '' WHERE lease_owner = ?`, owner)
	return err
}
