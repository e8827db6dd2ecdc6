package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"strings"
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
//
// Its cost does not grow with the number of users (docs/BENCHMARKS.md,
// "Scale"): the batches and endpoints are read once per claim, the live
// leases through their partial index, and the batches whose endpoints
// have a free slot are known before any user is read, so that each
// candidate query (one per slot, on that slot's index of due users, in
// due order) returns the user to lease as its first row, and no query is
// made when every slot is taken.
func (s *DB) Claim(ctx context.Context, owner, batch string, now time.Time, ttl time.Duration) (*migration.Claim, error) {
	var claim *migration.Claim
	err := s.txOpt(ctx, true, func(tx conn) error {
		nowS := s.ts(now)
		batches, names, err := claimBatches(ctx, tx)
		if err != nil {
			return err
		}
		endpoints, err := claimEndpoints(ctx, tx)
		if err != nil {
			return err
		}
		busy, err := liveLeases(ctx, tx, nowS, batches)
		if err != nil {
			return err
		}
		fits := func(b *migration.Batch, slot migration.PassKind) bool {
			for _, name := range []string{b.SourceEndpoint, b.TargetEndpoint} {
				e := endpoints[name]
				if e == nil || busy[slotKey{name, slot}] >= e.Limit(slot) {
					return false
				}
			}
			return true
		}
		// The batches each slot's query may take a user of: a running
		// batch's users without a first sync take an initial slot, those
		// with one an incremental slot; a completing batch's final passes
		// take incremental slots (migration.Due, PassKind.Slot).
		var initial, synced, final []any
		for _, name := range names {
			b := batches[name]
			if batch != "" && name != batch {
				continue
			}
			switch b.Intent {
			case migration.IntentRunning:
				if fits(b, migration.PassInitial) {
					initial = append(initial, name)
				}
				if fits(b, migration.PassIncremental) {
					synced = append(synced, name)
				}
			case migration.IntentCompleting:
				if fits(b, migration.PassIncremental) {
					final = append(final, name)
				}
			}
		}
		var best *claimCandidate
		for _, q := range []struct {
			slot  string
			names []any
		}{{`u.first_sync IS NULL AND `, initial}, {`u.first_sync IS NOT NULL AND `, synced}, {``, final}} {
			if len(q.names) == 0 {
				continue
			}
			c, err := s.claimCandidate(ctx, tx, q.slot, q.names, nowS)
			if err != nil {
				return err
			}
			if c != nil && (best == nil || c.before(best)) {
				best = c
			}
		}
		if best == nil {
			return nil
		}
		b := batches[best.batch]
		kind, ok := migration.Due(b.Intent, best.st, now)
		if !ok || !fits(b, kind.Slot()) {
			return nil // not reached: the queries ask what Due and the limits decide
		}
		u, err := scanUser(tx.QueryRowContext(ctx, `UPDATE migration_user SET lease_owner = ?, lease_expiry = ?, kind = ?, status = ?,
			pass_started = ?, progress_items = 0, progress_bytes = 0, progress_total = 0, progress_folder = '', progress_at = NULL WHERE id = ?
			RETURNING `+userCols,
			owner, s.ts(now.Add(ttl)), kind, kind.Status(), nowS, best.id))
		if err != nil {
			return err
		}
		claim = &migration.Claim{User: *u, Batch: *b, Source: *endpoints[b.SourceEndpoint], Target: *endpoints[b.TargetEndpoint], Kind: kind,
			TakenOver: best.owner}
		return nil
	})
	return claim, err
}

// slotKey counts live leases per endpoint and slot.
type slotKey struct {
	endpoint string
	slot     migration.PassKind
}

// claimBatches reads every batch (a few rows), by name, and the names in
// order.
func claimBatches(ctx context.Context, tx conn) (map[string]*migration.Batch, []string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+batchCols+` FROM batch ORDER BY name`)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	byName := make(map[string]*migration.Batch)
	var names []string
	for rows.Next() {
		b, err := scanBatch(rows)
		if err != nil {
			return nil, nil, err
		}
		byName[b.Name] = b
		names = append(names, b.Name)
	}
	return byName, names, rows.Err()
}

func claimEndpoints(ctx context.Context, tx conn) (map[string]*migration.Endpoint, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+endpointCols+` FROM endpoint`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	byName := make(map[string]*migration.Endpoint)
	for rows.Next() {
		e, err := scanEndpoint(rows)
		if err != nil {
			return nil, err
		}
		byName[e.Name] = e
	}
	return byName, rows.Err()
}

// liveLeases counts the live leases per endpoint and slot. They are
// counted here rather than grouped in SQL: for a GROUP BY batch SQLite
// reads the batch index of every user, not the partial index of the
// leased ones.
func liveLeases(ctx context.Context, tx conn, nowS any, batches map[string]*migration.Batch) (map[slotKey]int, error) {
	rows, err := tx.QueryContext(ctx, `SELECT batch, kind FROM migration_user WHERE lease_owner != '' AND lease_expiry >= ?`, nowS)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	busy := make(map[slotKey]int)
	for rows.Next() {
		var name string
		var kind migration.PassKind
		if err := rows.Scan(&name, &kind); err != nil {
			return nil, err
		}
		b := batches[name]
		if b == nil {
			continue // not reached: batches are created and leased only under the claim lock
		}
		busy[slotKey{b.SourceEndpoint, kind.Slot()}]++
		if b.TargetEndpoint != b.SourceEndpoint {
			busy[slotKey{b.TargetEndpoint, kind.Slot()}]++
		}
	}
	return busy, rows.Err()
}

type claimCandidate struct {
	id    int64
	batch string
	st    migration.Standing
	owner string // the holder of its expired lease, if any (Claim.TakenOver)
}

func (c *claimCandidate) before(d *claimCandidate) bool {
	if !c.st.NextDue.Equal(d.st.NextDue) {
		return c.st.NextDue.Before(d.st.NextDue)
	}
	return c.id < d.id
}

// claimCandidate returns the earliest due user, not leased, of the
// batches named, among those slot selects (nil: none).
func (s *DB) claimCandidate(ctx context.Context, tx conn, slot string, names []any, nowS any) (*claimCandidate, error) {
	var c claimCandidate
	// The batch is compared as batch || '' so that neither planner takes
	// the index on batch for it (and then sorts every due user of the
	// batch) instead of reading the slot's index of due users in order, up
	// to the first row.
	err := tx.QueryRowContext(ctx, `SELECT u.id, u.batch, u.next_due, u.first_sync IS NOT NULL, u.lease_owner FROM migration_user u
		WHERE `+slot+`u.next_due <= ? AND NOT (u.lease_owner != '' AND u.lease_expiry >= ?)
		  AND u.batch || '' IN (`+marks(len(names))+`)
		ORDER BY u.next_due, u.id LIMIT 1`+s.d.SkipLocked,
		append([]any{nowS, nowS}, names...)...).Scan(&c.id, &c.batch, tsCol{&c.st.NextDue}, &c.st.Synced, &c.owner)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// Heartbeat extends a lease, records the pass's progress and returns the
// batch's intent, so that a worker learns of stop, complete and remove.
// ErrNotFound: the lease was lost (or the user removed). One statement:
// several hundred passes heartbeat every few seconds.
func (s *DB) Heartbeat(ctx context.Context, userID int64, owner string, expiry time.Time, p migration.Progress) (migration.Intent, error) {
	var intent migration.Intent
	err := s.db.QueryRowContext(ctx, `UPDATE migration_user SET lease_expiry = ?, progress_items = ?, progress_bytes = ?, progress_total = ?,
		progress_folder = ?, progress_at = ? WHERE id = ? AND lease_owner = ?
		RETURNING (SELECT b.intent FROM batch b WHERE b.name = migration_user.batch)`,
		s.ts(expiry), p.Items, p.Bytes, p.ItemsTotal, p.Folder, s.ts(p.At), userID, owner).Scan(&intent)
	if errors.Is(err, sql.ErrNoRows) {
		return "", migration.ErrNotFound
	}
	return intent, err
}

// marks is n placeholders, for an IN list.
func marks(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }
