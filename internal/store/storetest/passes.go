package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/migration"
	"github.com/imapmigrate/imapmigrate/internal/store"
)

func init() {
	more = append(more, []struct {
		name string
		fn   func(t *testing.T, dsn string)
	}{
		{"PassHistoryRecordsFinish", testPassHistoryRecordsFinish},
		{"PassHistoryStoppedAndReleased", testPassHistoryStoppedAndReleased},
		{"PassHistoryKeepsTheLast", testPassHistoryKeepsTheLast},
		{"PassHistoryGoesWithTheUser", testPassHistoryGoesWithTheUser},
	}...)
}

func mustPassHistory(t *testing.T, s store.Store, userID int64, limit int) []migration.PassRecord {
	t.Helper()
	ps, err := s.PassHistory(context.Background(), userID, limit)
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

// Finish records the pass with its kind, worker, times, the status it
// settled, and what this pass synced and skipped (what the user's totals
// grew by); the newest is listed first, limit is respected.
func testPassHistoryRecordsFinish(t *testing.T, dsn string) {
	ctx := context.Background()
	now := baseTime()
	s := passStore(t, dsn, now, "a@x.example")
	if ps := mustPassHistory(t, s, mustUser(t, s, "a@x.example").ID, 0); len(ps) != 0 {
		t.Fatalf("history before any pass: %+v", ps)
	}
	c := mustClaim(t, s, "w1", "B", now, time.Minute)
	end1 := now.Add(90 * time.Second)
	o := migration.Outcome{Status: migration.UserSynced, Copied: 5, Skipped: map[string]int{"too-large": 1}, Bytes: 500, Folders: 2, At: end1,
		NextDue: end1.Add(time.Hour), FirstSync: true}
	if err := s.Finish(ctx, c.User.ID, "w1", o); err != nil {
		t.Fatal(err)
	}
	ps := mustPassHistory(t, s, c.User.ID, 0)
	if len(ps) != 1 {
		t.Fatalf("history after a pass: %+v", ps)
	}
	p := ps[0]
	if p.Kind != migration.PassInitial || p.Worker != "w1" || p.Batch != "B" || !p.Started.Equal(now) || !p.Ended.Equal(end1) ||
		p.Duration != migration.TimeSpan(90*time.Second) || p.Status != migration.UserSynced || p.ItemsSynced != 5 || p.ItemsSkipped != 1 ||
		p.Bytes != 500 || p.Error != "" || p.UserID != c.User.ID {
		t.Errorf("first pass recorded as %+v", p)
	}

	// An incremental pass that failed: its own counts, its error.
	start2 := end1.Add(time.Hour)
	c = mustClaim(t, s, "w2", "B", start2, time.Minute)
	if c.Kind != migration.PassIncremental {
		t.Fatalf("second pass is %s", c.Kind)
	}
	end2 := start2.Add(3 * time.Second)
	o = migration.Outcome{Status: migration.UserFailed, Error: "connection refused", Copied: 8, Skipped: map[string]int{"too-large": 1, "duplicate": 2},
		Bytes: 800, At: end2, Attempts: 1}
	if err := s.Finish(ctx, c.User.ID, "w2", o); err != nil {
		t.Fatal(err)
	}
	ps = mustPassHistory(t, s, c.User.ID, 0)
	if len(ps) != 2 {
		t.Fatalf("history after two passes: %+v", ps)
	}
	p = ps[0]
	if p.Kind != migration.PassIncremental || p.Worker != "w2" || !p.Started.Equal(start2) || !p.Ended.Equal(end2) || p.Status != migration.UserFailed ||
		p.ItemsSynced != 3 || p.ItemsSkipped != 2 || p.Bytes != 300 || p.Error != "connection refused" {
		t.Errorf("second pass (newest first) recorded as %+v", p)
	}
	if ps[1].Kind != migration.PassInitial {
		t.Errorf("older pass second: %+v", ps[1])
	}
	if ps := mustPassHistory(t, s, c.User.ID, 1); len(ps) != 1 || ps[0].ID != p.ID {
		t.Errorf("limit 1: %+v", ps)
	}
	// A Finish whose lease was lost records nothing.
	if err := s.Finish(ctx, c.User.ID, "w2", o); err == nil {
		t.Errorf("a second Finish of the same pass succeeded")
	}
	if ps := mustPassHistory(t, s, c.User.ID, 0); len(ps) != 2 {
		t.Errorf("a refused Finish was recorded: %d passes", len(ps))
	}
}

// A pass that ends after stop is recorded as Stopped (the status Finish
// settles); a pass given up by ReleaseAll is recorded with the status its
// user is left in, its last heartbeat's counts and an error saying so.
func testPassHistoryStoppedAndReleased(t *testing.T, dsn string) {
	ctx := context.Background()
	now := baseTime()
	s := passStore(t, dsn, now, "a@x.example", "b@x.example")
	a := mustClaim(t, s, "w1", "B", now, time.Minute)
	b := mustClaim(t, s, "w2", "B", now, time.Minute)
	at := now.Add(10 * time.Second)
	if _, err := s.Heartbeat(ctx, b.User.ID, "w2", at.Add(time.Minute), migration.Progress{Items: 7, Bytes: 70, Folder: "INBOX", At: at}); err != nil {
		t.Fatal(err)
	}
	// w2 shuts down without finishing its pass.
	if err := s.ReleaseAll(ctx, "w2"); err != nil {
		t.Fatal(err)
	}
	ps := mustPassHistory(t, s, b.User.ID, 0)
	if len(ps) != 1 {
		t.Fatalf("released pass: %+v", ps)
	}
	if p := ps[0]; p.Kind != migration.PassInitial || p.Worker != "w2" || !p.Started.Equal(now) || p.Ended.IsZero() ||
		p.Status != migration.UserQueued || p.ItemsSynced != 7 || p.Bytes != 70 || p.ItemsSkipped != 0 || p.Error == "" {
		t.Errorf("released pass recorded as %+v", p)
	}
	if err := s.ReleaseAll(ctx, "w2"); err != nil {
		t.Fatal(err)
	}
	if ps := mustPassHistory(t, s, b.User.ID, 0); len(ps) != 1 {
		t.Errorf("a second ReleaseAll recorded again: %+v", ps)
	}

	mustSetIntent(t, s, "B", migration.IntentStopped, at)
	if err := s.Finish(ctx, a.User.ID, "w1", migration.Outcome{Status: migration.UserQueued, Error: "stopped", At: at, NextDue: at}); err != nil {
		t.Fatal(err)
	}
	ps = mustPassHistory(t, s, a.User.ID, 0)
	if len(ps) != 1 || ps[0].Status != migration.UserStopped || ps[0].Error != "stopped" {
		t.Errorf("pass ended after stop recorded as %+v", ps)
	}
	if u := mustUser(t, s, "a@x.example"); u.Status != ps[0].Status {
		t.Errorf("user is %s, its pass recorded %s", u.Status, ps[0].Status)
	}
}

// Each user keeps its last migration.PassHistoryKept passes; another
// user's are untouched.
func testPassHistoryKeepsTheLast(t *testing.T, dsn string) {
	ctx := context.Background()
	now := baseTime()
	s := passStore(t, dsn, now, "a@x.example", "b@x.example")
	b := mustClaim(t, s, "w2", "B", now, time.Minute)
	if err := s.Finish(ctx, b.User.ID, "w2", migration.Outcome{Status: migration.UserSynced, At: now, FirstSync: true}); err != nil {
		t.Fatal(err)
	}
	var id int64
	at := now
	n := migration.PassHistoryKept + 3
	for i := range n {
		c := mustClaim(t, s, "w1", "B", at, time.Minute)
		id = c.User.ID
		at = at.Add(time.Second)
		// The first pass of each is due again at once; the i-th copies i.
		o := migration.Outcome{Status: migration.UserSynced, Copied: i, At: at, NextDue: at, FirstSync: true}
		if err := s.Finish(ctx, c.User.ID, "w1", o); err != nil {
			t.Fatal(err)
		}
	}
	if id == b.User.ID {
		t.Fatal("the loop claimed the other user")
	}
	ps := mustPassHistory(t, s, id, 0)
	if len(ps) != migration.PassHistoryKept {
		t.Fatalf("%d passes kept of %d, want %d", len(ps), n, migration.PassHistoryKept)
	}
	if !ps[0].Ended.Equal(at) || !ps[len(ps)-1].Ended.Equal(now.Add(time.Duration(n-migration.PassHistoryKept+1)*time.Second)) {
		t.Errorf("kept passes end %v … %v", ps[0].Ended, ps[len(ps)-1].Ended)
	}
	if ps := mustPassHistory(t, s, id, 1000); len(ps) != migration.PassHistoryKept {
		t.Errorf("limit 1000: %d passes", len(ps))
	}
	if ps := mustPassHistory(t, s, b.User.ID, 0); len(ps) != 1 {
		t.Errorf("the other user's passes: %d", len(ps))
	}
}

// The history is deleted with its user: RemoveUser, DeleteBatch.
func testPassHistoryGoesWithTheUser(t *testing.T, dsn string) {
	ctx := context.Background()
	now := baseTime()
	s := passStore(t, dsn, now, "a@x.example", "b@x.example")
	var ids []int64
	for _, w := range []string{"w1", "w2"} {
		c := mustClaim(t, s, w, "B", now, time.Minute)
		if err := s.Finish(ctx, c.User.ID, w, migration.Outcome{Status: migration.UserSynced, At: now, FirstSync: true}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.User.ID)
	}
	if err := s.RemoveUser(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}
	if ps := mustPassHistory(t, s, ids[0], 0); len(ps) != 0 {
		t.Errorf("removed user's passes: %+v", ps)
	}
	if ps := mustPassHistory(t, s, ids[1], 0); len(ps) != 1 {
		t.Fatalf("the other user's passes: %+v", ps)
	}
	if err := s.DeleteBatch(ctx, "B"); err != nil {
		t.Fatal(err)
	}
	if ps := mustPassHistory(t, s, ids[1], 0); len(ps) != 0 {
		t.Errorf("deleted batch's user's passes: %+v", ps)
	}
	var n int
	if err := rawDB(t, s).db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM pass_history`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d rows left in pass_history, %v", n, err)
	}
}
