package scheduler_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/imapconn"
	"github.com/imapmigrate/imapmigrate/internal/migration"
	"github.com/imapmigrate/imapmigrate/internal/scheduler"
	"github.com/imapmigrate/imapmigrate/internal/store"
	"github.com/imapmigrate/imapmigrate/internal/syncer"
)

// recorder is an Observer that writes down what it is told.
type recorder struct {
	svc *migration.Service
	mu  sync.Mutex
	log []string
	// by user: the claim's TakenOver, the events, the report and the
	// user's status in the store when PassEnded came.
	takenOver map[string]string
	events    map[string][]syncer.EventKind
	reports   map[string]scheduler.PassReport
	stored    map[string]migration.UserStatus
}

func (r *recorder) Claimed(c *migration.Claim) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.log = append(r.log, "claimed "+c.User.EmailAddress)
	r.takenOver[c.User.EmailAddress] = c.TakenOver
}

func (r *recorder) PassEvent(c *migration.Claim, e syncer.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events[c.User.EmailAddress] = append(r.events[c.User.EmailAddress], e.Kind)
}

func (r *recorder) PassEnded(c *migration.Claim, rep scheduler.PassReport) {
	u, err := r.svc.User(context.Background(), c.User.EmailAddress)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.log = append(r.log, "ended "+c.User.EmailAddress)
	r.reports[c.User.EmailAddress] = rep
	if err == nil {
		r.stored[c.User.EmailAddress] = u.Status
	}
}

// The Observer is told of each claim (with the expired lease it took over),
// of the events the runner gives the Meter, and of each pass's end once its
// outcome is recorded, with the result the runner told the Meter and the
// duration on the scheduler's clock; a panicking pass too.
func TestObserver(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "imapmigrate.db"), store.Options{})
	ok(t, err)
	defer st.Close()
	clk := &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	svc := &migration.Service{Store: st, Box: plainBox{}, Now: clk.Now}
	for _, name := range []string{"old", "new"} {
		_, err := svc.NewEndpoint(ctx, migration.EndpointParams{Endpoint: migration.Endpoint{Name: name, Server: "imap.example", Port: 993,
			Security: imapconn.SecuritySSL, MailboxAccess: migration.AccessMaster, AdminUser: "admin"}, AdminPassword: "pw", SkipVerify: true})
		ok(t, err)
	}
	csv := "EmailAddress,UserName,Password\na@new.example,a,pw\nbad@new.example,bad,pw\nc@new.example,c,pw\n"
	_, _, err = svc.NewBatch(ctx, migration.BatchParams{Name: "B", Source: "old", Target: "new", CSV: strings.NewReader(csv), AutoStart: true})
	ok(t, err)
	// A worker died holding the first user's lease, expired now.
	dead, err := st.Claim(ctx, "dead#1", "B", clk.Now(), -time.Second)
	ok(t, err)

	run := func(ctx context.Context, c *migration.Claim, m *scheduler.Meter) migration.Outcome {
		clk.Advance(time.Minute)
		if c.User.EmailAddress == "bad@new.example" {
			var m map[string]int
			m["boom"]++ // a nil map: a bug in a pass
		}
		m.Event(syncer.Event{Kind: syncer.FolderStarted, Folder: "INBOX", Total: 2})
		m.Event(syncer.Event{Kind: syncer.MessagesCopied, Folder: "INBOX", Messages: 2, Bytes: 100})
		m.Ended(&syncer.Result{Copied: 2, Bytes: 100}, nil)
		return migration.Outcome{Status: migration.UserSynced, Copied: 2, Bytes: 100, At: clk.Now(), FirstSync: true, NextDue: clk.Now().Add(time.Hour)}
	}
	rec := &recorder{svc: svc, takenOver: map[string]string{}, events: map[string][]syncer.EventKind{},
		reports: map[string]scheduler.PassReport{}, stored: map[string]migration.UserStatus{}}
	s := &scheduler.Scheduler{Store: st, Run: run, Owner: "test", Workers: 1, Poll: 10 * time.Millisecond, Batch: "B", Now: clk.Now, Observer: rec}
	err = s.Drain(ctx, func() bool {
		users, _ := svc.Users(ctx, "B", "")
		for _, u := range users {
			if u.Status == migration.UserSyncing || (!u.NextSync.IsZero() && !u.NextSync.After(clk.Now())) {
				return false
			}
		}
		return true
	})
	ok(t, err)

	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.log) != 6 {
		t.Fatalf("calls: %v, want a claim and an end for each of 3 users", rec.log)
	}
	for i := 0; i < len(rec.log); i += 2 { // one worker: each end follows its claim
		if u := strings.TrimPrefix(rec.log[i], "claimed "); rec.log[i+1] != "ended "+u {
			t.Errorf("calls: %v", rec.log)
		}
	}
	for _, email := range []string{"a@new.example", "bad@new.example", "c@new.example"} {
		want := ""
		if email == dead.User.EmailAddress {
			want = "dead#1"
		}
		if got := rec.takenOver[email]; got != want {
			t.Errorf("%s: TakenOver %q, want %q", email, got, want)
		}
		r := rec.reports[email]
		if r.Duration != time.Minute || r.LeaseLost {
			t.Errorf("%s: duration %s, lease lost %v; want 1m0s, false", email, r.Duration, r.LeaseLost)
		}
		if email == "bad@new.example" {
			if r.Result != nil || !strings.Contains(r.Outcome.Error, "internal error: panic") || rec.stored[email] != migration.UserFailed {
				t.Errorf("the panicking pass: result %+v, outcome %+v, stored %s", r.Result, r.Outcome, rec.stored[email])
			}
			if len(rec.events[email]) != 0 {
				t.Errorf("the panicking pass: events %v", rec.events[email])
			}
			continue
		}
		if r.Result == nil || r.Result.Copied != 2 || r.Err != nil || r.Outcome.Status != migration.UserSynced {
			t.Errorf("%s: result %+v, err %v, outcome %+v", email, r.Result, r.Err, r.Outcome)
		}
		if rec.stored[email] != migration.UserSynced {
			t.Errorf("%s: %s in the store at PassEnded, want the recorded Synced", email, rec.stored[email])
		}
		if ev := rec.events[email]; len(ev) != 2 || ev[0] != syncer.FolderStarted || ev[1] != syncer.MessagesCopied {
			t.Errorf("%s: events %v", email, ev)
		}
	}
}
