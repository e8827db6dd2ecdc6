package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/migration"
)

func init() {
	more = append(more, struct {
		name string
		fn   func(t *testing.T, dsn string)
	}{"UsersPage", testUsersPage})
}

// UsersPage reads the pages of a batch's users in Users' order, by status,
// and NextDue the earliest due time (time order, not text order).
func testUsersPage(t *testing.T, dsn string) {
	ctx := context.Background()
	s := newBatchStore(t, dsn, 25, 10, 10)
	pager, ok := s.(migration.UserPager)
	if !ok {
		t.Fatal("the store is no migration.UserPager")
	}
	all, err := s.Users(ctx, "B", "")
	if err != nil || len(all) != 25 {
		t.Fatalf("users: %d %v", len(all), err)
	}
	var got []string
	for off := 0; off < 30; off += 10 {
		page, err := pager.UsersPage(ctx, "B", "", off, 10)
		if err != nil {
			t.Fatal(err)
		}
		if want := min(10, max(25-off, 0)); len(page) != want {
			t.Errorf("page at %d: %d users, want %d", off, len(page), want)
		}
		for _, u := range page {
			got = append(got, u.EmailAddress)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(emailsOf(all)) {
		t.Errorf("pages: %v\nwant Users' order: %v", got, emailsOf(all))
	}
	if page, err := pager.UsersPage(ctx, "B", migration.UserSynced, 0, 10); err != nil || len(page) != 0 {
		t.Errorf("synced users of a batch not started: %d %v", len(page), err)
	}
	if page, err := pager.UsersPage(ctx, "nope", "", 0, 10); err != nil || len(page) != 0 {
		t.Errorf("no such batch: %d %v", len(page), err)
	}
	if due, err := pager.NextDue(ctx, "B"); err != nil || !due.IsZero() {
		t.Errorf("NextDue of a batch not started: %v %v", due, err)
	}

	// Started: every user due at the start; one passes and is due again
	// an hour later, one fails for good (nothing due).
	now := time.Date(2024, 5, 1, 9, 59, 59, 900_000_000, time.UTC)
	if err := s.SetIntent(ctx, "B", migration.Transition{Intent: migration.IntentRunning, Now: now}); err != nil {
		t.Fatal(err)
	}
	if page, err := pager.UsersPage(ctx, "B", migration.UserQueued, 20, 10); err != nil || len(page) != 5 || page[0].EmailAddress != all[20].EmailAddress {
		t.Errorf("queued users from 20: %d %v", len(page), err)
	}
	due, err := pager.NextDue(ctx, "B")
	if err != nil || due.IsZero() || due.After(now) {
		t.Errorf("NextDue of a started batch: %v %v, want at most %v", due, err, now)
	}
	c, err := s.Claim(ctx, "w1", "B", now, time.Minute)
	if err != nil || c == nil {
		t.Fatalf("claim: %v %v", c, err)
	}
	if err := s.Finish(ctx, c.User.ID, "w1", migration.Outcome{Status: migration.UserSynced, At: now, NextDue: now.Add(time.Hour), FirstSync: true}); err != nil {
		t.Fatal(err)
	}
	synced, err := pager.UsersPage(ctx, "B", migration.UserSynced, 0, 10)
	if err != nil || len(synced) != 1 || synced[0].ID != c.User.ID || !synced[0].NextSync.Equal(now.Add(time.Hour)) {
		t.Errorf("the synced user: %+v %v", synced, err)
	}
	if due2, err := pager.NextDue(ctx, "B"); err != nil || !due2.Equal(due) {
		t.Errorf("NextDue with 24 users due at %v and one an hour later: %v %v", due, due2, err)
	}
}

func emailsOf(us []migration.User) []string {
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = u.EmailAddress
	}
	return out
}
