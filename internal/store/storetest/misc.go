package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/migration"
	"github.com/imapmigrate/imapmigrate/internal/store"
	"github.com/imapmigrate/imapmigrate/internal/syncer"
)

// The worker registry: PutWorker records a process (again: its latest
// sign of life, or a restart under the same name), Workers lists those
// seen since a time by name, RemoveWorker forgets one and those not seen
// since before.
func testWorkers(t *testing.T, dsn string) {
	ctx := context.Background()
	s := openStore(t, dsn)
	now := baseTime()
	if ws, err := s.Workers(ctx, time.Time{}); err != nil || len(ws) != 0 {
		t.Fatalf("no workers: %v %v", ws, err)
	}
	b := migration.Worker{Name: "host-b/2", Host: "host-b", PID: 2, Slots: 4, Busy: 1, Version: "v1.2.3", Started: now.Add(-time.Hour), Seen: now}
	a := migration.Worker{Name: "host-a/1", Host: "host-a", PID: 1, Slots: 8, Busy: 0, Version: "v1.2.3", Started: now.Add(-2 * time.Hour), Seen: now.Add(-time.Minute)}
	old := migration.Worker{Name: "host-c/3", Host: "host-c", PID: 3, Slots: 1, Started: now.Add(-48 * time.Hour), Seen: now.Add(-47 * time.Hour)}
	for _, w := range []migration.Worker{b, a, old} {
		if err := s.PutWorker(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	check := func(since time.Time, want ...migration.Worker) {
		t.Helper()
		got, err := s.Workers(ctx, since)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("workers since %v: %+v, want %+v", since, got, want)
		}
		for i := range got {
			g, w := got[i], want[i]
			if g.Name != w.Name || g.Host != w.Host || g.PID != w.PID || g.Slots != w.Slots || g.Busy != w.Busy || g.Version != w.Version ||
				!g.Started.Equal(w.Started) || !g.Seen.Equal(w.Seen) {
				t.Errorf("worker %d: %+v, want %+v", i, g, w)
			}
		}
	}
	check(now.Add(-migration.WorkerTimeout), a, b)
	check(time.Time{}, a, b, old)
	check(now, b) // seen at exactly since counts
	// A sign of life.
	a.Busy, a.Seen = 5, now.Add(time.Second)
	if err := s.PutWorker(ctx, a); err != nil {
		t.Fatal(err)
	}
	check(now, a, b)
	// A restart under the same name is the new process.
	b2 := migration.Worker{Name: b.Name, Host: "host-b2", PID: 99, Slots: 2, Version: "v1.3.0", Started: now.Add(time.Minute), Seen: now.Add(time.Minute)}
	if err := s.PutWorker(ctx, b2); err != nil {
		t.Fatal(err)
	}
	check(now, a, b2)
	// RemoveWorker: this one, and those not seen for a day.
	if err := s.RemoveWorker(ctx, a.Name, now.Add(-24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	check(time.Time{}, b2)
	if err := s.RemoveWorker(ctx, "never-there", now.Add(-24*time.Hour)); err != nil {
		t.Errorf("RemoveWorker of an unknown worker: %v", err)
	}
}

// SecretKeyID is empty until recorded, sealed says whether any sealed
// password is stored (endpoint admin password, user passwords), and a new
// record replaces the old.
func testSecretKeyID(t *testing.T, dsn string) {
	ctx := context.Background()
	s := openStore(t, dsn)
	if id, sealed, err := s.SecretKeyID(ctx); err != nil || id != "" || sealed {
		t.Fatalf("new database: %q %v %v", id, sealed, err)
	}
	e := endpoint("src", 1, 1)
	e.AdminPassword = "sealed-admin"
	if err := s.PutEndpoint(ctx, e, true); err != nil {
		t.Fatal(err)
	}
	if _, sealed, _ := s.SecretKeyID(ctx); !sealed {
		t.Error("an endpoint's sealed admin password is not seen")
	}
	e.AdminPassword = ""
	if err := s.PutEndpoint(ctx, e, false); err != nil {
		t.Fatal(err)
	}
	if _, sealed, _ := s.SecretKeyID(ctx); sealed {
		t.Error("sealed without any password")
	}
	mustCreateBatch(t, s, "B", "src", "src", "a@x.example")
	if _, sealed, _ := s.SecretKeyID(ctx); !sealed {
		t.Error("a user's sealed password is not seen")
	}
	for _, id := range []string{"key-1", "key-2"} {
		if err := s.RecordSecretKeyID(ctx, id); err != nil {
			t.Fatal(err)
		}
		if got, sealed, err := s.SecretKeyID(ctx); err != nil || got != id || !sealed {
			t.Errorf("after recording %s: %q %v %v", id, got, sealed, err)
		}
	}
	// It survives a reopen.
	s2 := openStore(t, dsn)
	if got, _, _ := s2.SecretKeyID(ctx); got != "key-2" {
		t.Errorf("after reopen: %q", got)
	}
}

// SkippedItems lists what a State Commit recorded as skipped for a
// migration user, with subject and date, by folder and UID; FolderStats
// counts each folder's messages and skipped items.
func testSkippedItemsAndFolderStats(t *testing.T, dsn string) {
	ctx := context.Background()
	s := openStore(t, dsn)
	mustPutEndpoint(t, s, "src", 1, 1)
	mustCreateBatch(t, s, "B", "src", "src", "a@x.example", "b@x.example")
	a, b := mustUser(t, s, "a@x.example"), mustUser(t, s, "b@x.example")
	if items, err := s.SkippedItems(ctx, a.ID); err != nil || len(items) != 0 {
		t.Fatalf("before any pass: %v %v", items, err)
	}
	if stats, err := s.FolderStats(ctx, a.ID); err != nil || len(stats) != 0 {
		t.Fatalf("before any pass: %v %v", stats, err)
	}
	m, err := s.UserState(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	date := time.Date(2023, 4, 5, 6, 7, 8, 0, time.FixedZone("CEST", 2*3600))
	synced := baseTime()
	inbox := &syncer.FolderState{Source: "INBOX", Target: "Inbox", SourceUIDValidity: 1, LastUID: 30, LastSync: synced}
	if err := m.Commit(ctx, inbox, syncer.Commit{
		Copied: []syncer.Message{{SourceUID: 1, TargetUID: 1, Size: 10}, {SourceUID: 2, TargetUID: 2, Size: 20}},
		Skipped: []syncer.Skip{
			{SourceUID: 30, Reason: syncer.SkipTooLarge, Detail: "50 MB > 35 MB", Size: 50 << 20, Subject: "Holiday photos ☀", Date: date},
			{SourceUID: 7, Reason: syncer.SkipRejected, Detail: "NO [TOOBIG]", Size: 5},
		},
	}); err != nil {
		t.Fatal(err)
	}
	archive := &syncer.FolderState{Source: "Archive", Target: "Archive"}
	if err := m.Commit(ctx, archive, syncer.Commit{
		Skipped: []syncer.Skip{{SourceUID: 3, Reason: syncer.SkipSourceBad, Subject: "broken", Date: date.Add(time.Hour)}},
	}); err != nil {
		t.Fatal(err)
	}
	items, err := s.SkippedItems(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []migration.SkippedItem{
		{Folder: "Archive", UID: 3, Date: date.Add(time.Hour), Subject: "broken", Reason: string(syncer.SkipSourceBad)},
		{Folder: "INBOX", UID: 7, Reason: string(syncer.SkipRejected), Detail: "NO [TOOBIG]", Size: 5},
		{Folder: "INBOX", UID: 30, Date: date, Subject: "Holiday photos ☀", Size: 50 << 20, Reason: string(syncer.SkipTooLarge), Detail: "50 MB > 35 MB"},
	}
	if len(items) != len(want) {
		t.Fatalf("skipped items %+v, want %+v", items, want)
	}
	for i := range items {
		g, w := items[i], want[i]
		if g.Folder != w.Folder || g.UID != w.UID || !g.Date.Equal(w.Date) || g.Subject != w.Subject || g.Size != w.Size ||
			g.Reason != w.Reason || g.Detail != w.Detail {
			t.Errorf("item %d: %+v, want %+v", i, g, w)
		}
		if !g.Date.IsZero() && g.Date.Location() != time.UTC {
			t.Errorf("item %d: date in %v, want UTC", i, g.Date.Location())
		}
	}
	stats, err := s.FolderStats(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(stats) != 2 || stats[0].Source != "Archive" || stats[0].Messages != 0 || stats[0].Skipped != 1 || !stats[0].LastSync.IsZero() ||
		stats[1].Source != "INBOX" || stats[1].Target != "Inbox" || stats[1].Messages != 2 || stats[1].Skipped != 2 || !stats[1].LastSync.Equal(synced) {
		t.Errorf("folder stats %+v", stats)
	}
	// Another user, and another mailbox pair, are separate.
	if items, _ := s.SkippedItems(ctx, b.ID); len(items) != 0 {
		t.Errorf("b's skipped items: %+v", items)
	}
	other, _ := s.State(ctx, "some -> pair")
	other.Commit(ctx, &syncer.FolderState{Source: "INBOX", Target: "INBOX"}, syncer.Commit{Skipped: []syncer.Skip{{SourceUID: 1, Reason: syncer.SkipDeleted}}})
	if items, _ := s.SkippedItems(ctx, a.ID); len(items) != 3 {
		t.Errorf("a's skipped items after another pair's: %d", len(items))
	}
	// Resetting a folder forgets its skipped items.
	if err := m.ResetFolder(ctx, "INBOX"); err != nil {
		t.Fatal(err)
	}
	if items, _ := s.SkippedItems(ctx, a.ID); len(items) != 1 || items[0].Folder != "Archive" {
		t.Errorf("after ResetFolder: %+v", items)
	}
}

// Times are instants: whatever the zone they are given in, they come back
// as the same instant in UTC (to the microsecond; PostgreSQL keeps no
// finer), and compare as times in the queries (a zone east of UTC does not
// make a later time sort earlier).
func testTimesRoundTripUTC(t *testing.T, dsn string) {
	ctx := context.Background()
	s := openStore(t, dsn)
	east := time.FixedZone("UTC+13:45", 13*3600+45*60)
	west := time.FixedZone("UTC-9:30", -(9*3600 + 30*60))
	base := baseTime()
	created := base.Add(-time.Hour).In(east)
	e := endpoint("src", 5, 5)
	e.CreatedAt = created
	if err := s.PutEndpoint(ctx, e, true); err != nil {
		t.Fatal(err)
	}
	utc := func(what string, got, want time.Time) {
		t.Helper()
		if !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("%s: %v, want %v in UTC", what, got, want.UTC())
		}
	}
	got, _ := s.Endpoint(ctx, "src")
	utc("endpoint created", got.CreatedAt, created)

	b := newBatch("B", "src", "src")
	b.CreatedAt, b.ReceivedAfter = base.In(west), base.Add(-48*time.Hour).In(east)
	if err := s.CreateBatch(ctx, b, users("a@x.example", "b@x.example")); err != nil {
		t.Fatal(err)
	}
	// Started in the east: 13:45 ahead on the clock face, the same instant.
	start := base.Add(time.Minute).In(east)
	mustSetIntent(t, s, "B", migration.IntentRunning, start)
	gb, _, _ := s.Batch(ctx, "B")
	utc("batch created", gb.CreatedAt, b.CreatedAt)
	utc("batch received after", gb.ReceivedAfter, b.ReceivedAfter)
	utc("batch started", gb.StartedAt, start)
	for _, u := range usersByEmail(t, s, "B") {
		utc("user due", u.NextSync, start)
	}
	// A claim from the west, an hour later (earlier on its clock face than
	// the due time in the east), finds them due.
	claimAt := start.Add(time.Hour).In(west)
	c := mustClaim(t, s, "w", "B", claimAt, 10*time.Minute)
	utc("pass started", c.User.Pass.Started, claimAt)
	utc("lease expiry", c.User.Pass.LeaseExpiry, claimAt.Add(10*time.Minute))
	// …but not a claim a second before the due time, given in the east.
	if err := s.ReleaseAll(ctx, "w"); err != nil {
		t.Fatal(err)
	}
	if c, _ := s.Claim(ctx, "w", "B", start.Add(-time.Second).In(west), time.Minute); c != nil {
		t.Errorf("claimed %s before it was due", c.User.EmailAddress)
	}
	c = mustClaim(t, s, "w", "B", claimAt, 10*time.Minute)
	hb := claimAt.Add(time.Minute).In(east)
	if _, err := s.Heartbeat(ctx, c.User.ID, "w", hb.Add(10*time.Minute), migration.Progress{Items: 1, At: hb}); err != nil {
		t.Fatal(err)
	}
	u := mustUser(t, s, c.User.EmailAddress)
	utc("progress at", u.Pass.At, hb)
	utc("extended lease", u.Pass.LeaseExpiry, hb.Add(10*time.Minute))
	done := hb.Add(time.Minute).In(west)
	if err := s.Finish(ctx, c.User.ID, "w", migration.Outcome{Status: migration.UserSynced, At: done, NextDue: done.Add(time.Hour).In(east), FirstSync: true}); err != nil {
		t.Fatal(err)
	}
	u = mustUser(t, s, c.User.EmailAddress)
	utc("first sync", u.FirstSync, done)
	utc("last sync", u.LastSync, done)
	utc("next sync", u.NextSync, done.Add(time.Hour))

	w := migration.Worker{Name: "w", Host: "h", PID: 1, Slots: 1, Started: base.In(east), Seen: base.Add(time.Second).In(west)}
	if err := s.PutWorker(ctx, w); err != nil {
		t.Fatal(err)
	}
	ws, _ := s.Workers(ctx, base.In(east))
	if len(ws) != 1 {
		t.Fatalf("workers seen since: %+v", ws)
	}
	utc("worker started", ws[0].Started, w.Started)
	utc("worker seen", ws[0].Seen, w.Seen)
	if ws, _ := s.Workers(ctx, base.Add(2*time.Second).In(west)); len(ws) != 0 {
		t.Errorf("a worker not seen since: %+v", ws)
	}

	m, _ := s.UserState(ctx, u.ID)
	last := base.In(east)
	if err := m.SaveFolder(ctx, &syncer.FolderState{Source: "INBOX", Target: "INBOX", LastSync: last}); err != nil {
		t.Fatal(err)
	}
	f, _ := m.Folder(ctx, "INBOX")
	utc("folder last sync", f.LastSync, last)
	stats, _ := s.FolderStats(ctx, u.ID)
	utc("folder stat last sync", stats[0].LastSync, last)

	// Nanoseconds: kept to the microsecond at least.
	fine := base.Add(123456789 * time.Nanosecond).In(east)
	if err := s.UpdateBatchSettings(ctx, &migration.Batch{Name: "B", IncrementalInterval: migration.TimeSpan(time.Hour), ReceivedAfter: fine}); err != nil {
		t.Fatal(err)
	}
	gb, _, _ = s.Batch(ctx, "B")
	if d := gb.ReceivedAfter.Sub(fine); d < -time.Microsecond || d > time.Microsecond || gb.ReceivedAfter.Location() != time.UTC {
		t.Errorf("a time with nanoseconds: %v, want %v", gb.ReceivedAfter, fine.UTC())
	}
}

// Kind and Open refuse a DSN of another engine, or a PostgreSQL address
// that is not a URL, saying what to write, and never repeat a password.
func testOpenRefusesUnknownSchemes(t *testing.T, dsn string) {
	ctx := context.Background()
	for _, tc := range []struct{ dsn, says string }{
		{"mysql://root:hunter2@db.example:3306/imapmigrate", "unknown scheme"},
		{"MySQL://root:hunter2@db.example/imapmigrate", "unknown scheme"},
		{"mongodb+srv://admin:hunter2@cluster.example/db", "unknown scheme"},
		{"postgres:foo", "postgres://"},
		{"postgresql:foo", "postgres://"},
		{"POSTGRES://admin:hunter2@db.example/imapmigrate", "postgres://"},
	} {
		kind, _, err := store.Kind(tc.dsn)
		if err == nil {
			t.Errorf("Kind(%q) = %q, want an error", tc.dsn, kind)
			continue
		}
		if !strings.Contains(err.Error(), tc.says) {
			t.Errorf("Kind(%q): %q does not say %q", tc.dsn, err, tc.says)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Kind(%q): the error repeats the password: %q", tc.dsn, err)
		}
		s, err := store.Open(ctx, tc.dsn, store.Options{})
		if err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", tc.dsn)
		} else if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Open(%q): the error repeats the password: %q", tc.dsn, err)
		}
	}
	for _, tc := range []struct{ dsn, kind string }{
		{"postgres://u@h/d", "postgres"},
		{"postgresql://u@h/d", "postgres"},
		{"/var/lib/imapmigrate/state.db", "sqlite"},
		{"sqlite:/tmp/x.db", "sqlite"},
		{"file:/tmp/x.db", "sqlite"},
		{"state.db", "sqlite"},
	} {
		if kind, _, err := store.Kind(tc.dsn); err != nil || kind != tc.kind {
			t.Errorf("Kind(%q) = %q, %v; want %s", tc.dsn, kind, err, tc.kind)
		}
	}
	if _, _, err := store.Kind(""); err == nil {
		t.Error(`Kind("") succeeded`)
	}
	// The engine under test: its own DSN is of its kind.
	if _, _, err := store.Kind(dsn); err != nil {
		t.Errorf("Kind of the suite's DSN: %v", err)
	}
	if d := store.Describe("postgres://admin:hunter2@db.example/x"); strings.Contains(d, "hunter2") {
		t.Errorf("Describe repeats the password: %q", d)
	}
}
