package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/migration"
)

func init() {
	more = append(more, struct {
		name string
		fn   func(t *testing.T, dsn string)
	}{"BatchSyncs", testBatchSyncs})
}

// BatchSyncs counts first syncs, takes the latest first and last syncs
// (time order, not text order, on every engine) and lists the leased
// users' progress as the heartbeats left it.
func testBatchSyncs(t *testing.T, dsn string) {
	ctx := context.Background()
	s := newBatchStore(t, dsn, 3, 10, 10)
	if got, err := s.BatchSyncs(ctx, "B"); err != nil || got.FirstSynced != 0 || !got.FirstSyncMax.IsZero() || !got.LastSyncMax.IsZero() || got.Passes != nil {
		t.Fatalf("a batch never started: %+v %v", got, err)
	}
	if got, err := s.BatchSyncs(ctx, "nope"); err != nil || got.FirstSynced != 0 || got.Passes != nil {
		t.Fatalf("no such batch: %+v %v", got, err)
	}
	now := time.Date(2024, 5, 1, 9, 59, 59, 900_000_000, time.UTC)
	if err := s.SetIntent(ctx, "B", migration.Transition{Intent: migration.IntentRunning, Now: now}); err != nil {
		t.Fatal(err)
	}
	var claims []*migration.Claim
	for range 3 {
		c, err := s.Claim(ctx, "w1", "", now, time.Minute)
		if err != nil || c == nil {
			t.Fatalf("claim: %v %v", c, err)
		}
		claims = append(claims, c)
	}
	// Two finish their first pass, at 9:59:59.9 and 10:00:01 (a later
	// time whose text is shorter, were it stored unpadded).
	first, second := now, now.Add(1100*time.Millisecond)
	for i, at := range []time.Time{first, second} {
		o := migration.Outcome{Status: migration.UserSynced, At: at, NextDue: at.Add(time.Hour), FirstSync: true, Copied: 1}
		if err := s.Finish(ctx, claims[i].User.ID, "w1", o); err != nil {
			t.Fatal(err)
		}
	}
	p := migration.Progress{Items: 340, Bytes: 34000, ItemsTotal: 2800, Folder: "INBOX", At: now.Add(5 * time.Second)}
	if _, err := s.Heartbeat(ctx, claims[2].User.ID, "w1", now.Add(time.Minute), p); err != nil {
		t.Fatal(err)
	}
	got, err := s.BatchSyncs(ctx, "B")
	if err != nil {
		t.Fatal(err)
	}
	if got.FirstSynced != 2 || !got.FirstSyncMax.Equal(second) || !got.LastSyncMax.Equal(second) {
		t.Errorf("first synced %d, latest first sync %v, latest sync %v; want 2, %v, %v", got.FirstSynced, got.FirstSyncMax, got.LastSyncMax, second, second)
	}
	if len(got.Passes) != 1 {
		t.Fatalf("passes %+v, want the one leased user's", got.Passes)
	}
	pp := got.Passes[0]
	if pp.Kind != migration.PassInitial || pp.Worker != "w1" || !pp.Started.Equal(now) || pp.Items != 340 || pp.Bytes != 34000 ||
		pp.ItemsTotal != 2800 || pp.Folder != "INBOX" || !pp.At.Equal(p.At) || !pp.LeaseExpiry.Equal(now.Add(time.Minute)) {
		t.Errorf("pass %+v", pp)
	}
}
