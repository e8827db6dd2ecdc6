package storetest

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
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
		{"NotifySettingsRoundTrip", testNotifySettingsRoundTrip},
		{"OutboxEnqueueOnce", testOutboxEnqueueOnce},
		{"OutboxLeaseAndOutcome", testOutboxLeaseAndOutcome},
		{"OutboxSendOnceConcurrently", testOutboxSendOnceConcurrently},
		{"OutboxReportsSuperseded", testOutboxReportsSuperseded},
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

func notification(batch string, kind migration.NotificationKind, seq int, at time.Time) *migration.Notification {
	return &migration.Notification{Batch: batch, Kind: kind, Seq: seq, Recipients: []string{"admin@example.com", "ops@example.com"},
		Subject: fmt.Sprintf("%s %s %d", batch, kind, seq), Body: "Body of " + batch + "\n",
		Attachments: []migration.Attachment{{Name: "MigrationStatistics.csv", ContentType: "text/csv", Content: []byte("EmailAddress,Status\r\na@x,Synced\r\n")},
			{Name: "MigrationErrors.csv", ContentType: "text/csv", Content: []byte{0xef, 0xbb, 0xbf, 'E'}}},
		CreatedAt: at, Due: at}
}

// A notification is written once per (Batch, Kind, Seq), however many
// processes write it at once; it outlives its batch.
func testOutboxEnqueueOnce(t *testing.T, dsn string) {
	ctx := context.Background()
	s := openStore(t, dsn)
	now := baseTime()
	n := notification("A", migration.NotifyReport, 1, now)
	if created, err := s.EnqueueNotification(ctx, n); err != nil || !created || n.ID == 0 {
		t.Fatalf("first enqueue: created %v, id %d, %v", created, n.ID, err)
	}
	again := notification("A", migration.NotifyReport, 1, now.Add(time.Minute))
	if created, err := s.EnqueueNotification(ctx, again); err != nil || created {
		t.Errorf("second enqueue of (A, Report, 1): created %v, %v", created, err)
	}
	if ok, err := s.HasNotification(ctx, "A", migration.NotifyReport, 1); !ok || err != nil {
		t.Errorf("HasNotification(A, Report, 1) = %v, %v", ok, err)
	}
	if ok, _ := s.HasNotification(ctx, "A", migration.NotifyReport, 2); ok {
		t.Error("HasNotification(A, Report, 2) = true")
	}

	// Processes racing to write the same events: one row each.
	others := []store.Store{s, openStore(t, dsn), openStore(t, dsn)}
	var wg sync.WaitGroup
	var mu sync.Mutex
	created := map[string]int{}
	for i := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, kind := range []migration.NotificationKind{migration.NotifyInitialSyncCompleted, migration.NotifyCompleted} {
				ok, err := others[i%len(others)].EnqueueNotification(ctx, notification("B", kind, 0, now))
				if err != nil {
					t.Error(err)
				}
				if ok {
					mu.Lock()
					created[string(kind)]++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if created["InitialSyncCompleted"] != 1 || created["Completed"] != 1 {
		t.Errorf("concurrent enqueues created %v, want one of each", created)
	}
	list, err := s.Notifications(ctx, "B")
	if err != nil || len(list) != 2 {
		t.Fatalf("Notifications(B) = %d, %v", len(list), err)
	}
	all, _ := s.Notifications(ctx, "")
	if len(all) != 3 {
		t.Errorf("Notifications() = %d, want 3", len(all))
	}
	// Kept after the batch is gone (there is none: no foreign key).
	got := list[0]
	if got.Batch != "B" || !slices.Equal(got.Recipients, []string{"admin@example.com", "ops@example.com"}) || got.Attempts != 0 ||
		!got.SentAt.IsZero() || got.Body != "" || got.Attachments != nil || !got.CreatedAt.Equal(now) || !got.Due.Equal(now) {
		t.Errorf("listed %+v", got)
	}
}

// Leases: only a due, unsent mail is leased, by one owner at a time, with
// its body and attachments; a lease that expires is taken over; the
// outcome is recorded by the lease's holder only; a failure is due again
// at its retry time with its error kept; a mail given up is not leased
// again.
func testOutboxLeaseAndOutcome(t *testing.T, dsn string) {
	ctx := context.Background()
	s := openStore(t, dsn)
	t0 := baseTime()
	const ttl = time.Minute
	lease := func(owner string, at time.Time) *migration.Notification {
		t.Helper()
		n, err := s.LeaseNotification(ctx, owner, at, ttl)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := lease("p1", t0); n != nil {
		t.Fatalf("empty outbox leased %+v", n)
	}
	later := notification("A", migration.NotifyReport, 2, t0)
	later.Due = t0.Add(time.Hour)
	s.EnqueueNotification(ctx, later)
	first := notification("A", migration.NotifyReport, 1, t0)
	s.EnqueueNotification(ctx, first)
	if n := lease("p1", t0.Add(-time.Second)); n != nil {
		t.Fatalf("a mail leased before it is due: %+v", n)
	}
	n := lease("p1", t0)
	if n == nil || n.ID != first.ID || n.Attempts != 1 || n.Body != first.Body || len(n.Attachments) != 2 ||
		n.Attachments[0].Name != "MigrationStatistics.csv" || n.Attachments[0].ContentType != "text/csv" ||
		!bytes.Equal(n.Attachments[1].Content, first.Attachments[1].Content) || n.LeaseOwner != "p1" || !n.LeaseExpiry.Equal(t0.Add(ttl)) {
		t.Fatalf("leased %+v, want the first mail with its body and attachments", n)
	}
	if n := lease("p2", t0.Add(ttl)); n != nil {
		t.Fatalf("a live lease taken: %+v", n)
	}
	// p1 died: its lease expires and p2 takes the mail.
	n2 := lease("p2", t0.Add(ttl+time.Second))
	if n2 == nil || n2.ID != first.ID || n2.Attempts != 2 {
		t.Fatalf("after expiry leased %+v, want the first mail, attempt 2", n2)
	}
	if err := s.NotificationSent(ctx, first.ID, "p1", t0.Add(ttl+2*time.Second)); err == nil {
		t.Error("the outcome of a lost lease was recorded")
	}
	// p2 fails: due again at the retry time, its error kept.
	retry := t0.Add(10 * time.Minute)
	if err := s.NotificationFailed(ctx, first.ID, "p2", "dial tcp 127.0.0.1:25: connection refused", retry, false); err != nil {
		t.Fatal(err)
	}
	if n := lease("p1", retry.Add(-time.Second)); n != nil {
		t.Fatalf("a failed mail leased before its retry: %+v", n)
	}
	list, _ := s.Notifications(ctx, "A")
	if len(list) != 2 || list[0].ID != first.ID || list[0].LastError != "dial tcp 127.0.0.1:25: connection refused" || list[0].Attempts != 2 ||
		!list[0].Due.Equal(retry) || list[0].LeaseOwner != "" || list[0].StatusAt(retry) != migration.NotificationRetrying {
		t.Errorf("after a failure: %+v", list)
	}
	n3 := lease("p1", retry)
	if n3 == nil || n3.ID != first.ID || n3.Attempts != 3 || n3.LastError == "" {
		t.Fatalf("at the retry leased %+v", n3)
	}
	if st := n3.StatusAt(retry); st != migration.NotificationSending {
		t.Errorf("leased mail status %s", st)
	}
	sent := retry.Add(time.Second)
	if err := s.NotificationSent(ctx, first.ID, "p1", sent); err != nil {
		t.Fatal(err)
	}
	if err := s.NotificationSent(ctx, first.ID, "p1", sent); err == nil {
		t.Error("a mail recorded as sent twice")
	}
	list, _ = s.Notifications(ctx, "A")
	if !list[0].SentAt.Equal(sent) || list[0].LastError != "" || list[0].StatusAt(sent) != migration.NotificationSent {
		t.Errorf("after sending: %+v", list[0])
	}
	// The second mail, when due, fails for good.
	if n := lease("p1", sent); n != nil {
		t.Fatalf("a sent mail leased again, or one before it is due: %+v", n)
	}
	n4 := lease("p1", t0.Add(time.Hour))
	if n4 == nil || n4.ID != later.ID {
		t.Fatalf("the second mail: %+v", n4)
	}
	if err := s.NotificationFailed(ctx, later.ID, "p1", "550 5.1.1 recipient rejected", time.Time{}, true); err != nil {
		t.Fatal(err)
	}
	if n := lease("p1", t0.Add(48*time.Hour)); n != nil {
		t.Fatalf("a mail given up leased again: %+v", n)
	}
	list, _ = s.Notifications(ctx, "A")
	if list[1].ID != later.ID || !list[1].GaveUp || list[1].StatusAt(t0) != migration.NotificationFailed || list[1].LastError != "550 5.1.1 recipient rejected" {
		t.Errorf("given up: %+v", list[1])
	}
}

// Senders in several processes (each its own connection) lease the
// outbox at once: each mail is leased by one of them, once.
func testOutboxSendOnceConcurrently(t *testing.T, dsn string) {
	ctx := context.Background()
	s := openStore(t, dsn)
	t0 := baseTime()
	const mails = 30
	for i := range mails {
		if _, err := s.EnqueueNotification(ctx, notification(fmt.Sprintf("B%d", i%3), migration.NotifyReport, i, t0)); err != nil {
			t.Fatal(err)
		}
	}
	stores := []store.Store{s, openStore(t, dsn), openStore(t, dsn)}
	var mu sync.Mutex
	sentBy := map[int64][]string{}
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, owner := stores[w%len(stores)], fmt.Sprintf("proc%d", w)
			for {
				n, err := st.LeaseNotification(ctx, owner, t0, time.Hour)
				if err != nil {
					t.Error(err)
					return
				}
				if n == nil {
					return
				}
				mu.Lock()
				sentBy[n.ID] = append(sentBy[n.ID], owner)
				mu.Unlock()
				if err := st.NotificationSent(ctx, n.ID, owner, t0); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if len(sentBy) != mails {
		t.Errorf("%d mails sent, want %d", len(sentBy), mails)
	}
	for id, owners := range sentBy {
		if len(owners) != 1 {
			t.Errorf("mail %d sent by %v", id, owners)
		}
	}
}

// A new report empties the contents (body, attachments) of the batch's
// earlier reports already sent; their rows stay, and a report still
// waiting keeps its contents.
func testOutboxReportsSuperseded(t *testing.T, dsn string) {
	ctx := context.Background()
	s := openStore(t, dsn)
	now := baseTime()
	first := notification("A", migration.NotifyReport, 3600, now)
	s.EnqueueNotification(ctx, first)
	other := notification("Other", migration.NotifyReport, 3600, now)
	s.EnqueueNotification(ctx, other)
	initial := notification("A", migration.NotifyInitialSyncCompleted, 0, now)
	s.EnqueueNotification(ctx, initial)
	for range 3 {
		n, err := s.LeaseNotification(ctx, "p", now, time.Minute)
		if err != nil || n == nil {
			t.Fatalf("lease: %v %v", n, err)
		}
		if err := s.NotificationSent(ctx, n.ID, "p", now); err != nil {
			t.Fatal(err)
		}
	}
	waiting := notification("A", migration.NotifyReport, 7200, now)
	s.EnqueueNotification(ctx, waiting)
	if created, err := s.EnqueueNotification(ctx, notification("A", migration.NotifyReport, 10800, now)); !created || err != nil {
		t.Fatalf("third report: %v %v", created, err)
	}
	r := rawDB(t, s)
	contents := func(id int64) string {
		t.Helper()
		var c string
		if err := r.db.SQL().QueryRowContext(ctx, r.query(`SELECT body || attachments FROM notification WHERE id = ?`), id).Scan(&c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	if c := contents(first.ID); c != "[]" {
		t.Errorf("the first report, sent, kept its contents: %.60q", c)
	}
	for what, id := range map[string]int64{"another batch's report": other.ID, "the initial sync's mail": initial.ID, "a report waiting": waiting.ID} {
		if c := contents(id); !strings.HasPrefix(c, "Body of ") || !strings.Contains(c, "MigrationStatistics.csv") {
			t.Errorf("%s lost its contents: %.60q", what, c)
		}
	}
	if list, _ := s.Notifications(ctx, "A"); len(list) != 4 {
		t.Errorf("%d rows of A, want 4", len(list))
	}
}
