package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/migration"
)

func init() {
	more = append(more, []struct {
		name string
		fn   func(t *testing.T, dsn string)
	}{
		{"NotifySettingsRoundTrip", testNotifySettingsRoundTrip},
	}...)
}

// A batch's NotificationEmails and ReportInterval are stored by
// CreateBatch and UpdateBatchSettings, and read back by Batch, Batches and
// Claim.
func testNotifySettingsRoundTrip(t *testing.T, dsn string) {
	ctx := context.Background()
	s := openStore(t, dsn)
	mustPutEndpoint(t, s, "src", 10, 10)
	mustPutEndpoint(t, s, "tgt", 10, 10)
	b := newBatch("A", "src", "tgt")
	b.NotificationEmails, b.ReportInterval = []string{"admin@example.com", "helpdesk@example.com"}, migration.TimeSpan(6*time.Hour)
	if err := s.CreateBatch(ctx, b, users("a@x.example")); err != nil {
		t.Fatal(err)
	}
	mustCreateBatch(t, s, "None", "src", "tgt", "b@x.example")
	check := func(what string, b *migration.Batch, emails []string, interval time.Duration) {
		t.Helper()
		if !slices.Equal(b.NotificationEmails, emails) || time.Duration(b.ReportInterval) != interval {
			t.Errorf("%s: NotificationEmails %q, ReportInterval %v; want %q, %v", what, b.NotificationEmails, time.Duration(b.ReportInterval), emails, interval)
		}
	}
	got, _, err := s.Batch(ctx, "A")
	if err != nil {
		t.Fatal(err)
	}
	check("created", got, []string{"admin@example.com", "helpdesk@example.com"}, 6*time.Hour)
	none, _, _ := s.Batch(ctx, "None")
	check("created without", none, nil, 0)

	got.NotificationEmails, got.ReportInterval = []string{"ops@example.com"}, migration.TimeSpan(time.Hour)
	if err := s.UpdateBatchSettings(ctx, got); err != nil {
		t.Fatal(err)
	}
	list, err := s.Batches(ctx)
	if err != nil {
		t.Fatal(err)
	}
	check("updated, in Batches", &list[0], []string{"ops@example.com"}, time.Hour)
	mustSetIntent(t, s, "A", migration.IntentRunning, baseTime())
	c := mustClaim(t, s, "w", "A", baseTime(), time.Minute)
	check("in a claim", &c.Batch, []string{"ops@example.com"}, time.Hour)
}
