package sqldb

import (
	"context"
	"fmt"
)

// Ping runs a query: the database answers (readiness).
func (s *DB) Ping(ctx context.Context) error {
	var one int
	if err := s.sql.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	return nil
}
