package sqldb

import (
	"context"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/migration"
)

// PutWorker records a worker process, or its latest sign of life.
func (s *DB) PutWorker(ctx context.Context, w migration.Worker) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO worker (name, host, pid, slots, busy, version, started_at, seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET busy = excluded.busy, seen_at = excluded.seen_at`,
		w.Name, w.Host, w.PID, w.Slots, w.Busy, w.Version, s.ts(w.Started), s.ts(w.Seen))
	return err
}

// Workers lists the workers seen since since, by name.
func (s *DB) Workers(ctx context.Context, since time.Time) ([]migration.Worker, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, host, pid, slots, busy, version, started_at, seen_at FROM worker WHERE seen_at >= ? ORDER BY name`, s.ts(since))
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
