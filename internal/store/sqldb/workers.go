package sqldb

import (
	"context"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/migration"
)

// PutWorker records a worker process, or its latest sign of life; a
// process that starts under the name of one that was not removed (a
// configured name, after a crash) replaces it.
func (s *DB) PutWorker(ctx context.Context, w migration.Worker) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO worker (name, host, pid, slots, busy, version, started_at, seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET host = excluded.host, pid = excluded.pid, slots = excluded.slots, busy = excluded.busy,
		version = excluded.version, started_at = excluded.started_at, seen_at = excluded.seen_at`,
		w.Name, w.Host, w.PID, w.Slots, w.Busy, w.Version, s.ts(w.Started), s.ts(w.Seen))
	return err
}

// Workers lists the workers seen since since (the zero time: all), by
// name.
func (s *DB) Workers(ctx context.Context, since time.Time) ([]migration.Worker, error) {
	q, args := `SELECT name, host, pid, slots, busy, version, started_at, seen_at FROM worker`, []any{}
	if !since.IsZero() { // seen_at >= NULL would match none
		q, args = q+` WHERE seen_at >= ?`, append(args, s.ts(since))
	}
	rows, err := s.db.QueryContext(ctx, q+` ORDER BY name`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []migration.Worker
	for rows.Next() {
		var w migration.Worker
		if err := rows.Scan(&w.Name, &w.Host, &w.PID, &w.Slots, &w.Busy, &w.Version, tsCol{&w.Started}, tsCol{&w.Seen}); err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// RemoveWorker forgets a worker that stopped, and those not seen since
// before (crashed long ago).
func (s *DB) RemoveWorker(ctx context.Context, name string, before time.Time) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM worker WHERE name = ? OR seen_at < ?`, name, s.ts(before))
	return err
}
