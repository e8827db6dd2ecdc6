package migration

import (
	"context"
	"time"
)

// PassHistoryKept is how many of a user's latest passes the store keeps.
const PassHistoryKept = 100

// PassRecord is one pass of a migration user that ended, as the store
// recorded it with the pass's outcome: its kind, the worker that held the
// lease, when the claim took it and when the pass ended, the status the
// user was left in, what this pass (not the user's totals) synced and
// skipped, and its error.
type PassRecord struct {
	ID           int64      `json:"-"`
	UserID       int64      `json:"-"`
	Batch        string     `json:"BatchName"`
	Kind         PassKind   `json:"Kind"`
	Worker       string     `json:"Worker"`
	Started      time.Time  `json:"StartTime,omitzero"`
	Ended        time.Time  `json:"EndTime"`
	Duration     TimeSpan   `json:"Duration"`
	Status       UserStatus `json:"Status"`
	ItemsSynced  int64      `json:"ItemsSynced"`
	ItemsSkipped int64      `json:"ItemsSkipped"`
	Bytes        int64      `json:"BytesTransferred"`
	Error        string     `json:"Error,omitempty"`
}

// Derive sets Duration from the start and end times (zero when the start
// is not known).
func (p *PassRecord) Derive() {
	p.Duration = 0
	if !p.Started.IsZero() && p.Ended.After(p.Started) {
		p.Duration = TimeSpan(p.Ended.Sub(p.Started))
	}
}

// UserStatsOptions are what UserDetails adds to a user: its folders, its
// skipped items, and its History latest passes (0: none; at most
// PassHistoryKept).
type UserStatsOptions struct {
	Folders bool
	Skipped bool
	History int
}

// UserDetails returns a user with, as o asks, its folders, its skipped
// items and the history of its passes, the newest first (a user's page).
func (s *Service) UserDetails(ctx context.Context, email string, o UserStatsOptions) (*UserStats, error) {
	st, err := s.UserStatistics(ctx, email, o.Folders, o.Skipped)
	if err != nil {
		return nil, err
	}
	if o.History > 0 {
		if st.Passes, err = s.Store.PassHistory(ctx, st.ID, o.History); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// PassHistory returns a user's latest passes that ended, the newest first:
// at most limit (every one kept, PassHistoryKept, when limit <= 0).
func (s *Service) PassHistory(ctx context.Context, email string, limit int) ([]PassRecord, error) {
	u, err := s.User(ctx, email)
	if err != nil {
		return nil, err
	}
	return s.Store.PassHistory(ctx, u.ID, limit)
}
