package metrics

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/imapmigrate/imapmigrate/internal/migration"
)

// BatchStore is what the users' collector reads (migration.Store has it).
type BatchStore interface {
	Batches(ctx context.Context) ([]migration.Batch, error)
	// Batch returns a batch with its users' statuses.
	Batch(ctx context.Context, name string) (*migration.Batch, []migration.UserStatus, error)
}

var _ BatchStore = migration.Store(nil)

// DefaultUsersTimeout bounds the store reads of one scrape.
const DefaultUsersTimeout = 5 * time.Second

// userStatuses are shown for every batch, at 0 when no user has them, so
// that a series drops to 0 rather than vanishing.
var userStatuses = []migration.UserStatus{
	migration.UserQueued, migration.UserSyncing, migration.UserSynced, migration.UserFailed,
	migration.UserIncrementalSyncing, migration.UserIncrementalFailed, migration.UserStopping, migration.UserStopped,
	migration.UserCompleting, migration.UserCompleted, migration.UserCompletedWithWarnings, migration.UserRemoving,
}

// CollectUsers adds imapmigrate_users{batch, status}, read from st at
// every scrape within timeout (0: DefaultUsersTimeout). A read that fails
// or times out shows as imapmigrate_users_scrape_error 1 and no users
// (the rest of the scrape goes on). It fails if called twice.
func (m *Metrics) CollectUsers(st BatchStore, timeout time.Duration) error {
	if m == nil {
		return nil
	}
	if timeout <= 0 {
		timeout = DefaultUsersTimeout
	}
	return m.reg.Register(&usersCollector{st: st, timeout: timeout})
}

var (
	usersDesc = prometheus.NewDesc(namespace+"_users", "Users of each batch by status, as the database says at the scrape "+
		"(the same in every process).", []string{"batch", "status"}, nil)
	usersErrorDesc = prometheus.NewDesc(namespace+"_users_scrape_error",
		"1 if reading the users by status from the database failed at this scrape (imapmigrate_users is then missing), else 0.", nil, nil)
	usersDurationDesc = prometheus.NewDesc(namespace+"_users_scrape_duration_seconds",
		"How long reading the users by status from the database took at this scrape.", nil, nil)
)

type usersCollector struct {
	st      BatchStore
	timeout time.Duration
}

func (c *usersCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- usersDesc
	ch <- usersErrorDesc
	ch <- usersDurationDesc
}

func (c *usersCollector) Collect(ch chan<- prometheus.Metric) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	counts, err := c.read(ctx)
	failed := 0.0
	if err != nil {
		failed = 1
	}
	ch <- prometheus.MustNewConstMetric(usersErrorDesc, prometheus.GaugeValue, failed)
	ch <- prometheus.MustNewConstMetric(usersDurationDesc, prometheus.GaugeValue, time.Since(start).Seconds())
	if err != nil {
		return
	}
	for _, b := range counts {
		for _, s := range userStatuses {
			ch <- prometheus.MustNewConstMetric(usersDesc, prometheus.GaugeValue, float64(b.counts[s]), b.name, string(s))
			delete(b.counts, s)
		}
		for s, n := range b.counts { // a status this list does not know yet
			ch <- prometheus.MustNewConstMetric(usersDesc, prometheus.GaugeValue, float64(n), b.name, string(s))
		}
	}
}

type batchCounts struct {
	name   string
	counts map[migration.UserStatus]int
}

// read counts every batch's users by status; a batch removed meanwhile is
// left out.
func (c *usersCollector) read(ctx context.Context) ([]batchCounts, error) {
	batches, err := c.st.Batches(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]batchCounts, 0, len(batches))
	for _, b := range batches {
		_, statuses, err := c.st.Batch(ctx, b.Name)
		if errors.Is(err, migration.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		counts := make(map[migration.UserStatus]int, len(userStatuses))
		for _, s := range statuses {
			counts[s]++
		}
		out = append(out, batchCounts{name: b.Name, counts: counts})
	}
	return out, nil
}
