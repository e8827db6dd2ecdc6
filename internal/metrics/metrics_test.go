package metrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/imapmigrate/imapmigrate/internal/imapconn"
	"github.com/imapmigrate/imapmigrate/internal/migration"
	"github.com/imapmigrate/imapmigrate/internal/scheduler"
	"github.com/imapmigrate/imapmigrate/internal/syncer"
)

func claim(batch string, kind migration.PassKind, takenOver string) *migration.Claim {
	return &migration.Claim{User: migration.User{ID: 1, EmailAddress: "terry@new.example"}, Batch: migration.Batch{Name: batch},
		Kind: kind, TakenOver: takenOver}
}

// The hooks the scheduler calls, driven as a pass would, read back from the
// registry.
func TestHooks(t *testing.T) {
	m := New()
	initial := claim("B1", migration.PassInitial, "")
	m.Claimed(initial)
	m.PassEvent(initial, syncer.Event{Kind: syncer.Planned, Plan: map[string]int{"INBOX": 10}})
	m.PassEvent(initial, syncer.Event{Kind: syncer.FolderStarted, Folder: "INBOX", Total: 10})
	m.PassEvent(initial, syncer.Event{Kind: syncer.MessagesCopied, Folder: "INBOX", Messages: 7, Skipped: 2, Bytes: 5000})
	m.PassEvent(initial, syncer.Event{Kind: syncer.MessagesCopied, Folder: "INBOX", Messages: 3, Bytes: 1000})
	m.PassEvent(initial, syncer.Event{Kind: syncer.Retrying, Folder: "INBOX", Err: &imapconn.Error{Class: imapconn.Transient, Err: io.ErrUnexpectedEOF}})
	m.PassEvent(initial, syncer.Event{Kind: syncer.FolderDone, Folder: "INBOX"})
	m.PassEvent(initial, syncer.Event{Kind: syncer.FolderDone, Folder: "Junk", Err: &imapconn.Error{Class: imapconn.Fatal, Err: errors.New("cannot create")}})
	m.PassEvent(initial, syncer.Event{Kind: syncer.FolderDone, Folder: "Sent", Err: fmt.Errorf("select: %w", context.Canceled)}) // an interruption
	m.PassEnded(initial, scheduler.PassReport{
		Outcome:  migration.Outcome{Status: migration.UserFailed, Error: "Junk: cannot create"},
		Result:   &syncer.Result{Copied: 8, Bytes: 6000, FoldersFailed: 1, Skipped: map[syncer.SkipReason]int{syncer.SkipTooLarge: 1, syncer.SkipRejected: 1}},
		Duration: 90 * time.Second,
	})

	// A second worker takes over a dead one's expired lease, and fails to
	// log in; a third pass loses its lease.
	takeover := claim("B1", migration.PassIncremental, "host/1#2")
	m.Claimed(takeover)
	m.PassEnded(takeover, scheduler.PassReport{Outcome: migration.Outcome{Status: migration.UserIncrementalFailed, Error: "login: bad"},
		Err: &imapconn.Error{Class: imapconn.Auth, Op: "login", Err: errors.New("bad")}, Duration: 2 * time.Second})
	lost := claim("B2", migration.PassIncremental, "")
	m.Claimed(lost)
	m.PassEvent(lost, syncer.Event{Kind: syncer.MessagesCopied, Messages: 1, Bytes: 10})
	m.PassEnded(lost, scheduler.PassReport{LeaseLost: true, Duration: time.Minute})
	// A pass that panicked: no result, an error.
	panicked := claim("B2", migration.PassFinal, "")
	m.Claimed(panicked)
	m.PassEnded(panicked, scheduler.PassReport{Outcome: migration.Outcome{Status: migration.UserFailed, Error: "internal error: panic: x"}})

	m.NotificationSent("initial_sync", "sent")
	m.NotificationSent("initial_sync", "sent")
	m.NotificationSent("report", "failed")

	want := `
# HELP imapmigrate_claims_total Users leased for a pass by this process's workers, by batch and pass kind.
# TYPE imapmigrate_claims_total counter
imapmigrate_claims_total{batch="B1",kind="incremental"} 1
imapmigrate_claims_total{batch="B1",kind="initial"} 1
imapmigrate_claims_total{batch="B2",kind="final"} 1
imapmigrate_claims_total{batch="B2",kind="incremental"} 1
# HELP imapmigrate_copied_bytes_total Bytes of the messages copied to the target, by batch.
# TYPE imapmigrate_copied_bytes_total counter
imapmigrate_copied_bytes_total{batch="B1"} 6000
imapmigrate_copied_bytes_total{batch="B2"} 10
# HELP imapmigrate_copied_messages_total Messages copied to the target (not those found there already), by batch.
# TYPE imapmigrate_copied_messages_total counter
imapmigrate_copied_messages_total{batch="B1"} 8
imapmigrate_copied_messages_total{batch="B2"} 1
# HELP imapmigrate_errors_total Errors passes met, by batch and class (auth, transient, item, fatal): every transient error retried, every message a server refused (item: skipped as rejected or source_corrupt), every folder that failed, and the error that ended a pass (an interruption by stop or shutdown is none).
# TYPE imapmigrate_errors_total counter
imapmigrate_errors_total{batch="B1",class="auth"} 1
imapmigrate_errors_total{batch="B1",class="fatal"} 1
imapmigrate_errors_total{batch="B1",class="item"} 1
imapmigrate_errors_total{batch="B1",class="transient"} 1
imapmigrate_errors_total{batch="B2",class="fatal"} 1
# HELP imapmigrate_lease_takeovers_total Claims of a user whose previous lease had expired under another worker (a worker died or stalled), by batch.
# TYPE imapmigrate_lease_takeovers_total counter
imapmigrate_lease_takeovers_total{batch="B1"} 1
# HELP imapmigrate_leases_lost_total Passes of this process that lost their lease to another worker (their outcome was not recorded), by batch.
# TYPE imapmigrate_leases_lost_total counter
imapmigrate_leases_lost_total{batch="B2"} 1
# HELP imapmigrate_notifications_total Report e-mails of batches, by kind and result (sent, failed).
# TYPE imapmigrate_notifications_total counter
imapmigrate_notifications_total{kind="initial_sync",result="sent"} 2
imapmigrate_notifications_total{kind="report",result="failed"} 1
# HELP imapmigrate_passes_running Passes under way in this process, by pass kind.
# TYPE imapmigrate_passes_running gauge
imapmigrate_passes_running{kind="final"} 0
imapmigrate_passes_running{kind="incremental"} 0
imapmigrate_passes_running{kind="initial"} 0
# HELP imapmigrate_passes_total Passes ended, by batch, pass kind and the user status the pass ended with (before a stop or complete of the batch settles it).
# TYPE imapmigrate_passes_total counter
imapmigrate_passes_total{batch="B1",kind="incremental",status="IncrementalFailed"} 1
imapmigrate_passes_total{batch="B1",kind="initial",status="Failed"} 1
imapmigrate_passes_total{batch="B2",kind="final",status="Failed"} 1
# HELP imapmigrate_skipped_items_total Messages not migrated, by batch and reason (too_large, rejected, deleted, vanished, source_corrupt, max_items, filtered), counted when their pass ends.
# TYPE imapmigrate_skipped_items_total counter
imapmigrate_skipped_items_total{batch="B1",reason="rejected"} 1
imapmigrate_skipped_items_total{batch="B1",reason="too_large"} 1
`
	names := []string{"imapmigrate_claims_total", "imapmigrate_copied_bytes_total", "imapmigrate_copied_messages_total", "imapmigrate_errors_total",
		"imapmigrate_lease_takeovers_total", "imapmigrate_leases_lost_total", "imapmigrate_notifications_total", "imapmigrate_passes_running",
		"imapmigrate_passes_total", "imapmigrate_skipped_items_total"}
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
	for kind, want := range map[migration.PassKind]struct {
		n   uint64
		sum float64
	}{migration.PassInitial: {1, 90}, migration.PassIncremental: {2, 62}, migration.PassFinal: {1, 0}} {
		if n, sum := histogram(t, m.Registry(), "imapmigrate_pass_duration_seconds", "kind", string(kind)); n != want.n || sum != want.sum {
			t.Errorf("pass duration of %s passes: %d observed, sum %g; want %d, %g", kind, n, sum, want.n, want.sum)
		}
	}
	lint(t, m.Registry())
}

// histogram returns the sample count and sum of the histogram name whose
// label is value.
func histogram(t *testing.T, g prometheus.Gatherer, name, label, value string) (uint64, float64) {
	t.Helper()
	families, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					return m.GetHistogram().GetSampleCount(), m.GetHistogram().GetSampleSum()
				}
			}
		}
	}
	t.Fatalf("no %s{%s=%q}", name, label, value)
	return 0, 0
}

func lint(t *testing.T, g prometheus.Gatherer) {
	t.Helper()
	problems, err := testutil.GatherAndLint(g)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

// A nil *Metrics, as a Server without metrics has, ignores every call.
func TestNilMetrics(t *testing.T) {
	var m *Metrics
	c := claim("B", migration.PassInitial, "x")
	m.Claimed(c)
	m.PassEvent(c, syncer.Event{Kind: syncer.MessagesCopied, Messages: 1})
	m.PassEnded(c, scheduler.PassReport{})
	m.NotificationSent("report", "sent")
	if err := m.CollectUsers(nil, 0); err != nil {
		t.Error(err)
	}
}

// fakeBatches is a BatchStore in memory; block makes every read wait for
// its context's end.
type fakeBatches struct {
	mu      sync.Mutex
	batches map[string][]migration.UserStatus
	order   []string
	err     error
	block   bool
	gone    string // listed, then not found (removed meanwhile)
}

func (f *fakeBatches) Batches(ctx context.Context) ([]migration.Batch, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.block {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if f.err != nil {
		return nil, f.err
	}
	var out []migration.Batch
	for _, name := range f.order {
		out = append(out, migration.Batch{Name: name})
	}
	return out, nil
}

func (f *fakeBatches) Batch(ctx context.Context, name string) (*migration.Batch, []migration.UserStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if name == f.gone {
		return nil, nil, migration.ErrNotFound
	}
	return &migration.Batch{Name: name}, f.batches[name], nil
}

func TestUsersByStatus(t *testing.T) {
	st := &fakeBatches{order: []string{"B1", "gone", "B2"}, gone: "gone", batches: map[string][]migration.UserStatus{
		"B1": {migration.UserSynced, migration.UserSynced, migration.UserFailed, "SomethingNew"},
		"B2": {migration.UserQueued},
	}}
	m := New()
	if err := m.CollectUsers(st, time.Second); err != nil {
		t.Fatal(err)
	}
	if err := m.CollectUsers(st, time.Second); err == nil {
		t.Error("CollectUsers twice: no error")
	}
	var want strings.Builder
	want.WriteString(`# HELP imapmigrate_users Users of each batch by status, as the database says at the scrape (the same in every process).
# TYPE imapmigrate_users gauge
`)
	for _, b := range []string{"B1", "B2"} {
		for _, s := range append(userStatuses, "SomethingNew") {
			n := 0
			for _, u := range st.batches[b] {
				if u == s {
					n++
				}
			}
			if s == "SomethingNew" && n == 0 {
				continue
			}
			fmt.Fprintf(&want, "imapmigrate_users{batch=%q,status=%q} %d\n", b, s, n)
		}
	}
	want.WriteString(`# HELP imapmigrate_users_scrape_error 1 if reading the users by status from the database failed at this scrape (imapmigrate_users is then missing), else 0.
# TYPE imapmigrate_users_scrape_error gauge
imapmigrate_users_scrape_error 0
`)
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want.String()), "imapmigrate_users", "imapmigrate_users_scrape_error"); err != nil {
		t.Error(err)
	}
	lint(t, m.Registry())

	// A failing store: an error metric, no users, the rest of the scrape.
	failing := `# HELP imapmigrate_users_scrape_error 1 if reading the users by status from the database failed at this scrape (imapmigrate_users is then missing), else 0.
# TYPE imapmigrate_users_scrape_error gauge
imapmigrate_users_scrape_error 1
`
	st.err = errors.New("database is locked")
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(failing), "imapmigrate_users", "imapmigrate_users_scrape_error"); err != nil {
		t.Error(err)
	}
	if n, err := testutil.GatherAndCount(m.Registry(), "go_goroutines", "process_start_time_seconds"); err != nil || n == 0 {
		t.Errorf("the Go and process collectors: %d metrics, %v", n, err)
	}
}

// A store that does not answer: the scrape ends after the timeout, with
// the error metric.
func TestUsersTimeout(t *testing.T) {
	m := New()
	if err := m.CollectUsers(&fakeBatches{block: true}, 10*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	want := `# HELP imapmigrate_users_scrape_error 1 if reading the users by status from the database failed at this scrape (imapmigrate_users is then missing), else 0.
# TYPE imapmigrate_users_scrape_error gauge
imapmigrate_users_scrape_error 1
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "imapmigrate_users", "imapmigrate_users_scrape_error"); err != nil {
		t.Error(err)
	}
}

// The handler serves the text format.
func TestHandler(t *testing.T) {
	m := New()
	m.NotificationSent("completed", "sent")
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /metrics: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	for _, want := range []string{`imapmigrate_notifications_total{kind="completed",result="sent"} 1`, "imapmigrate_pass_duration_seconds_bucket",
		"go_goroutines", "promhttp_metric_handler_requests_total"} {
		if !strings.Contains(body, want) {
			t.Errorf("no %q in:\n%s", want, body)
		}
	}
}
