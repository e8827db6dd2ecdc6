package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/migration"
	"github.com/imapmigrate/imapmigrate/internal/scheduler"
	"github.com/imapmigrate/imapmigrate/internal/server"
	"github.com/imapmigrate/imapmigrate/internal/syncer"
)

// beatStore tells the test of every heartbeat once the store has it, and
// of the end of the pass.
type beatStore struct {
	scheduler.LeaseStore
	beats    chan migration.Progress
	finished chan struct{}
}

func (s *beatStore) Heartbeat(ctx context.Context, id int64, owner string, expiry time.Time, p migration.Progress) (migration.Intent, error) {
	intent, err := s.LeaseStore.Heartbeat(ctx, id, owner, expiry, p)
	if err == nil {
		select {
		case s.beats <- p:
		default: // the next one carries the same counts
		}
	}
	return intent, err
}

func (s *beatStore) Finish(ctx context.Context, id int64, owner string, o migration.Outcome) error {
	err := s.LeaseStore.Finish(ctx, id, owner, o)
	close(s.finished)
	return err
}

// A pass under way, seen by `user get`, `user stats` and `batch get` run
// as other processes would (each its own connection to the data
// directory): the counts grow from one read to the next, with a
// percentage, a rate and an ETA. The pass is a Runner that feeds the
// meter and waits for the test between steps; the test waits for the
// heartbeat that carried each step to the store, not for the clock. The
// scheduler's clock runs an hour behind, so that the pass has been going
// for an hour when read and its rate and ETA are whole numbers of items
// and seconds, on any machine.
func TestUserGetShowsPassUnderWay(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("IMAPMIGRATE_SECRET_KEY", strings.Repeat("cd", 32))
	dataDir := filepath.Join(dir, "data")
	data := []string{"--data-dir", dataDir}
	cli := func(args ...string) string {
		t.Helper()
		code, out, errOut := run(t, append(data, args...), nil)
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s\n%s", args, code, out, errOut)
		}
		return out
	}
	os.WriteFile(filepath.Join(dir, "admin.pw"), []byte("pw"), 0o600)
	os.WriteFile(filepath.Join(dir, "users.csv"), []byte("EmailAddress,UserName,Password\nterry@new.example,terry,pw\n"), 0o600)
	cli("endpoint", "new", "old", "--server", "imap.old.example", "--security", "ssl", "--skip-verify-connection")
	cli("endpoint", "new", "new", "--server", "imap.new.example", "--security", "ssl", "--skip-verify-connection",
		"--mailbox-access", "master", "--admin-user", "admin", "--admin-password-file", filepath.Join(dir, "admin.pw"))
	cli("batch", "new", "Live", "--source", "old", "--target", "new", "--csv", filepath.Join(dir, "users.csv"))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, err := server.Open(ctx, server.Config{DataDir: dataDir, MustExist: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	clock := func() time.Time { return time.Now().Add(-time.Hour) }
	srv.Service.Now = clock
	if err := srv.Service.StartBatch(ctx, "Live"); err != nil {
		t.Fatal(err)
	}

	step := make(chan struct{})
	runner := func(ctx context.Context, c *migration.Claim, m *scheduler.Meter) migration.Outcome {
		m.Event(syncer.Event{Kind: syncer.Planned, Plan: map[string]int{"INBOX": 2000, "Archive": 800}})
		m.Event(syncer.Event{Kind: syncer.FolderStarted, Folder: "INBOX", Total: 2000})
		m.Event(syncer.Event{Kind: syncer.MessagesCopied, Folder: "INBOX", Messages: 340, Bytes: 340 << 10})
		<-step
		m.Event(syncer.Event{Kind: syncer.MessagesCopied, Folder: "INBOX", Messages: 1000, Bytes: 1000 << 10})
		<-step
		// The pass ends half an hour after it started, by its clock.
		at := c.User.Pass.Started.Add(30 * time.Minute)
		return migration.Outcome{Status: migration.UserSynced, Copied: 2800, Bytes: 2800 << 10, Folders: 2, At: at, FirstSync: true, NextDue: at.Add(24 * time.Hour)}
	}
	st := &beatStore{LeaseStore: srv.Store, beats: make(chan migration.Progress, 1), finished: make(chan struct{})}
	sched := &scheduler.Scheduler{Store: st, Run: runner, Workers: 1, Batch: "Live", Now: clock,
		LeaseTTL: time.Hour, Progress: 5 * time.Millisecond, Poll: 10 * time.Millisecond}
	served := make(chan error, 1)
	go func() { served <- sched.Serve(ctx) }()
	defer func() {
		cancel()
		<-served
	}()
	waitBeat := func(items int64) {
		t.Helper()
		timeout := time.After(time.Minute)
		for {
			select {
			case p := <-st.beats:
				if p.Items == items {
					return
				}
			case <-timeout:
				t.Fatalf("no heartbeat with %d items", items)
			}
		}
	}

	type pass struct {
		Kind                   string
		ItemsSyncedThisPass    int64
		BytesSyncedThisPass    int64
		EstimatedItemsThisPass int64
		CurrentFolder          string
		PercentageComplete     int
		ItemsPerSecond         float64
		EstimatedTimeRemaining string
	}
	type user struct {
		EmailAddress string
		BatchId      string
		Status       string
		Pass         *pass
	}
	readUser := func() user {
		t.Helper()
		var us []user
		out := cli("user", "get", "-o", "json")
		if err := json.Unmarshal([]byte(out), &us); err != nil || len(us) != 1 {
			t.Fatalf("user get -o json: %v\n%s", err, out)
		}
		var stats user
		out = cli("user", "stats", "terry@new.example", "-o", "json")
		if err := json.Unmarshal([]byte(out), &stats); err != nil || stats.Pass == nil || stats.Pass.ItemsSyncedThisPass != us[0].Pass.ItemsSyncedThisPass ||
			stats.Pass.EstimatedItemsThisPass != us[0].Pass.EstimatedItemsThisPass {
			t.Errorf("user stats -o json: %v, pass %+v, user get's %+v\n%s", err, stats.Pass, us[0].Pass, out)
		}
		return us[0]
	}
	// An hour in, n items done of 2800: the figures as Rate and ETA make
	// them (the reads take a moment: a second's slack).
	checkPass := func(u user, items int64, pct int) {
		t.Helper()
		p := u.Pass
		if u.Status != "Syncing" || u.BatchId != "Live" || p == nil {
			t.Fatalf("user %+v, want Syncing with a pass", u)
		}
		if p.Kind != "initial" || p.ItemsSyncedThisPass != items || p.BytesSyncedThisPass != items<<10 || p.EstimatedItemsThisPass != 2800 ||
			p.CurrentFolder != "INBOX" || p.PercentageComplete != pct {
			t.Errorf("pass %+v, want %d of 2800 items (%d%%) in INBOX", p, items, pct)
		}
		if rate := float64(items) / 3600; p.ItemsPerSecond > rate || p.ItemsPerSecond < float64(items)/3660 {
			t.Errorf("rate %v/s, want about %v/s", p.ItemsPerSecond, rate)
		}
		eta := time.Duration(float64(2800-items) / float64(items) * float64(time.Hour))
		if got := parseTimeSpan(t, p.EstimatedTimeRemaining); got < eta || got > eta+eta/60 {
			t.Errorf("ETA %s, want about %v", p.EstimatedTimeRemaining, eta)
		}
	}

	waitBeat(340)
	u1 := readUser()
	checkPass(u1, 340, 12)
	if out := cli("user", "get"); !strings.Contains(out, "12% 340/2800 0.09/s ETA 7h") {
		t.Errorf("user get lacks the pass's progress:\n%s", out)
	}
	var bs []struct {
		Identity            string
		Status              string
		TotalCount          int
		PercentageComplete  int
		InitialSyncDuration string
		LastSyncedTime      time.Time
		ActivePasses        *struct {
			ActiveCount            int
			ItemsSyncedThisPass    int64
			EstimatedItemsThisPass int64
			PercentageComplete     int
			EstimatedTimeRemaining string
		}
	}
	out := cli("batch", "get", "Live", "-o", "json")
	if err := json.Unmarshal([]byte(out), &bs); err != nil || len(bs) != 1 {
		t.Fatalf("batch get -o json: %v\n%s", err, out)
	}
	if b := bs[0]; b.Identity != "Live" || b.Status != "Syncing" || b.TotalCount != 1 || b.PercentageComplete != 0 ||
		!strings.HasPrefix(b.InitialSyncDuration, "01:00:") || !b.LastSyncedTime.IsZero() || b.ActivePasses == nil ||
		b.ActivePasses.ActiveCount != 1 || b.ActivePasses.ItemsSyncedThisPass != 340 || b.ActivePasses.PercentageComplete != 12 ||
		b.ActivePasses.EstimatedTimeRemaining == "" {
		t.Errorf("batch under way:\n%s", out)
	}
	if out := cli("batch", "get"); !strings.Contains(out, "1: 12% 340/2800") {
		t.Errorf("batch get lacks the passes' progress:\n%s", out)
	}
	if out := cli("user", "stats", "terry@new.example"); !strings.Contains(out, "ThisPass:      initial 12% 340/2800 0.09/s ETA 7h") {
		t.Errorf("user stats lacks the pass's progress:\n%s", out)
	}

	step <- struct{}{}
	waitBeat(1340)
	u2 := readUser()
	checkPass(u2, 1340, 47)
	if u2.Pass.ItemsSyncedThisPass <= u1.Pass.ItemsSyncedThisPass || parseTimeSpan(t, u2.Pass.EstimatedTimeRemaining) >= parseTimeSpan(t, u1.Pass.EstimatedTimeRemaining) {
		t.Errorf("no progress between two reads: %+v, then %+v", u1.Pass, u2.Pass)
	}

	step <- struct{}{}
	select {
	case <-st.finished:
	case <-time.After(time.Minute):
		t.Fatal("the pass did not end")
	}
	var done []user
	out = cli("user", "get", "-o", "json")
	if err := json.Unmarshal([]byte(out), &done); err != nil || len(done) != 1 || done[0].Status != "Synced" || done[0].Pass != nil {
		t.Errorf("after the pass: %v\n%s", err, out)
	}
	out = cli("batch", "get", "Live", "-o", "json")
	bs = nil
	if err := json.Unmarshal([]byte(out), &bs); err != nil || len(bs) != 1 {
		t.Fatalf("batch get -o json: %v\n%s", err, out)
	}
	if b := bs[0]; b.Status != "Synced" || b.PercentageComplete != 100 || b.InitialSyncDuration != "00:30:00" || b.LastSyncedTime.IsZero() || b.ActivePasses != nil {
		t.Errorf("batch synced:\n%s", out)
	}
}

// parseTimeSpan reads [d.]hh:mm:ss.
func parseTimeSpan(t *testing.T, s string) time.Duration {
	t.Helper()
	var days, h, m, sec int
	rest := s
	if i := strings.IndexByte(s, '.'); i >= 0 {
		if _, err := fmt.Sscan(s[:i], &days); err != nil {
			t.Fatalf("time span %q: %v", s, err)
		}
		rest = s[i+1:]
	}
	d, err := time.Parse("15:04:05", rest)
	if err != nil {
		t.Fatalf("time span %q: %v", s, err)
	}
	h, m, sec = d.Hour(), d.Minute(), d.Second()
	return time.Duration(days)*24*time.Hour + time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(sec)*time.Second
}
