package scheduler_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/imapmigrate/imapmigrate/internal/imapconn"
	"github.com/imapmigrate/imapmigrate/internal/migration"
	"github.com/imapmigrate/imapmigrate/internal/scheduler"
	"github.com/imapmigrate/imapmigrate/internal/secret"
	"github.com/imapmigrate/imapmigrate/internal/store"
	"github.com/imapmigrate/imapmigrate/internal/syncer"
	"github.com/imapmigrate/imapmigrate/internal/testenv"
)

// plainBox "seals" by prefixing: the tests here are about scheduling;
// package secret has its own tests.
type plainBox struct{}

func (plainBox) Seal(s string, _ secret.Place) (string, error) { return "sealed:" + s, nil }
func (plainBox) Open(s string, _ secret.Place) (string, error) {
	return strings.TrimPrefix(s, "sealed:"), nil
}

// countingProxy forwards to upstream and records the most connections
// open at once.
type countingProxy struct {
	ln       net.Listener
	open     atomic.Int32
	maxOpen  atomic.Int32
	upstream string
}

func newCountingProxy(t *testing.T, upstream string) *countingProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &countingProxy{ln: ln, upstream: upstream}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.handle(c)
		}
	}()
	return p
}

func (p *countingProxy) handle(c net.Conn) {
	u, err := net.Dial("tcp", p.upstream)
	if err != nil {
		c.Close()
		return
	}
	n := p.open.Add(1)
	for {
		m := p.maxOpen.Load()
		if n <= m || p.maxOpen.CompareAndSwap(m, n) {
			break
		}
	}
	var once sync.Once
	done := func() { once.Do(func() { p.open.Add(-1) }); c.Close(); u.Close() }
	go func() { io.Copy(u, c); done() }()
	io.Copy(c, u)
	done()
}

func (p *countingProxy) port() int { return p.ln.Addr().(*net.TCPAddr).Port }

// clock is the tests' time: it moves only when a test advances it, so
// that when a user is due never depends on how fast the machine is.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type env struct {
	t        *testing.T
	clock    *clock
	src, tgt *testenv.Dovecot
	proxy    *countingProxy
	st       store.Store
	svc      *migration.Service
	users    []string

	// Users in a pass at once, by kind: initial, and incremental or final.
	running, maxRunning         atomic.Int32
	runningIncr, maxRunningIncr atomic.Int32
}

const userPW = "user-pw"

func newEnv(t *testing.T, nUsers, perUser int) *env {
	ca := testenv.NewTestCA(t)
	e := &env{t: t, clock: &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}}
	e.src = testenv.StartDovecot(t, testenv.DovecotOptions{CA: ca, MaxUserIPConnections: 50})
	e.tgt = testenv.StartDovecot(t, testenv.DovecotOptions{CA: ca, MaxUserIPConnections: 50})
	e.proxy = newCountingProxy(t, e.src.TLSAddr())
	rng := rand.New(rand.NewPCG(11, 12))
	for i := 0; i < nUsers; i++ {
		u := fmt.Sprintf("user%02d", i)
		e.users = append(e.users, u)
		if err := e.src.AddUser(u, userPW); err != nil {
			t.Fatal(err)
		}
		if err := e.tgt.AddUser(u+"@new.example", userPW); err != nil {
			t.Fatal(err)
		}
		c := e.src.Client(t, u, userPW)
		for _, f := range []string{"INBOX", "Archive/2024"} {
			var msgs []testenv.Message
			for j := 0; j < perUser; j++ {
				msgs = append(msgs, testenv.Message{Body: testenv.GenMessage(rng, 1000+rng.IntN(8000)), Flags: []imap.Flag{imap.FlagSeen},
					InternalDate: time.Date(2024, 5, 1, 0, 0, j, 0, time.UTC)})
			}
			testenv.Seed(t, c, f, msgs...)
		}
		c.Close()
	}
	ctx := context.Background()
	var err error
	e.st, err = store.Open(ctx, filepath.Join(t.TempDir(), "imapmigrate.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.st.Close() })
	e.svc = &migration.Service{Store: e.st, Box: plainBox{}, Now: e.clock.Now}
	_, err = e.svc.NewEndpoint(ctx, migration.EndpointParams{Endpoint: migration.Endpoint{Name: "old", Server: e.src.Host, Port: e.proxy.port(),
		Security: imapconn.SecuritySSL, CAFile: ca.CAFile, MaxConcurrentMigrations: 3, MaxConcurrentIncrementalSyncs: 1}, SkipVerify: true})
	ok(t, err)
	_, err = e.svc.NewEndpoint(ctx, migration.EndpointParams{Endpoint: migration.Endpoint{Name: "new", Server: e.tgt.Host, Port: e.tgt.Port,
		Security: imapconn.SecurityStartTLS, CAFile: ca.CAFile, MailboxAccess: migration.AccessMaster, AdminUser: e.tgt.MasterUser},
		AdminPassword: e.tgt.MasterPassword, SkipVerify: true})
	ok(t, err)
	return e
}

func ok(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (e *env) user(email string) *migration.User {
	e.t.Helper()
	u, err := e.svc.User(context.Background(), email)
	ok(e.t, err)
	return u
}

func (e *env) usersOf(batch string, status migration.UserStatus) []migration.User {
	e.t.Helper()
	users, err := e.svc.Users(context.Background(), batch, status)
	ok(e.t, err)
	return users
}

// csv is a migration file in the Dovecot admin format; bad names users
// whose password is wrong.
func (e *env) csv(bad ...string) io.Reader {
	var sb strings.Builder
	sb.WriteString("EmailAddress,UserName,Password\n")
	for _, u := range e.users {
		pw := e.src.MasterPassword
		if slices.Contains(bad, u) {
			pw = "wrong-password"
		}
		fmt.Fprintf(&sb, "%s@new.example,%s*%s,%s\n", u, u, e.src.MasterUser, pw)
	}
	return strings.NewReader(sb.String())
}

func (e *env) scheduler(batch string) *scheduler.Scheduler {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	r := &scheduler.SyncRunner{States: e.st, Box: plainBox{}, Log: log, RetryBase: 20 * time.Millisecond, MaxAttempts: 2, Now: e.clock.Now,
		Options: syncer.Options{Retry: syncer.Retry{Base: 10 * time.Millisecond, Attempts: 2}}}
	run := func(ctx context.Context, c *migration.Claim, m *scheduler.Meter) migration.Outcome {
		cur, peak := &e.running, &e.maxRunning
		if c.Kind != "initial" {
			cur, peak = &e.runningIncr, &e.maxRunningIncr
		}
		n := cur.Add(1)
		defer cur.Add(-1)
		for {
			m := peak.Load()
			if n <= m || peak.CompareAndSwap(m, n) {
				break
			}
		}
		return r.Run(ctx, c, m)
	}
	return &scheduler.Scheduler{Store: e.st, Run: run, Owner: "test-" + batch, Workers: 6, LeaseTTL: 10 * time.Second,
		Poll: 20 * time.Millisecond, Log: log, Batch: batch, Now: e.clock.Now}
}

// drain runs the batch until no user is running or due. Time stands still
// meanwhile (e.clock), so this ends when the work due now is done, however
// long it takes.
func (e *env) drain(batch string) {
	ctx := context.Background()
	err := e.scheduler(batch).Drain(ctx, func() bool {
		users, _ := e.svc.Users(ctx, batch, "")
		now := e.clock.Now()
		for _, u := range users {
			switch u.Status {
			case migration.UserSyncing, migration.UserIncrementalSyncing, migration.UserCompleting:
				return false
			}
			if !u.NextSync.IsZero() && !u.NextSync.After(now) && u.Status != migration.UserStopped {
				return false
			}
		}
		return true
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

// assertCopied checks, for each user, that the target holds exactly the
// source's messages (bytes, flags, dates), each once.
func (e *env) assertCopied(users ...string) {
	e.t.Helper()
	for _, u := range users {
		src := testenv.Snapshot(e.t, e.src.Client(e.t, u, userPW))
		tgt := testenv.Snapshot(e.t, e.tgt.Client(e.t, u+"@new.example", userPW))
		if diff := testenv.DiffSnapshots(src, tgt); len(diff) > 0 {
			e.t.Errorf("%s differs on the target:\n%s", u, strings.Join(diff, "\n"))
		}
	}
}

func (e *env) status(batch string) migration.BatchStatus {
	b, err := e.svc.Batch(context.Background(), batch)
	ok(e.t, err)
	return b.Status
}

func TestBatchEndToEnd(t *testing.T) {
	e := newEnv(t, 10, 30)
	ctx := context.Background()

	// A file with errors creates nothing.
	bad := strings.NewReader("EmailAddress,UserName,Password\nnot-an-address,u,p\nuser00@new.example,,p\n")
	if _, _, err := e.svc.NewBatch(ctx, migration.BatchParams{Name: "Bad", Source: "old", Target: "new", CSV: bad}); err == nil {
		t.Fatal("a bad migration file was accepted")
	}
	if bs, _ := e.svc.Batches(ctx, ""); len(bs) != 0 {
		t.Fatalf("a bad file created %d batches", len(bs))
	}

	b, _, err := e.svc.NewBatch(ctx, migration.BatchParams{Name: "Batch1", Source: "old", Target: "new", CSV: e.csv("user07"),
		IncrementalInterval: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if b.Status != migration.BatchCreated || b.Users != 10 {
		t.Fatalf("new batch: %s with %d users", b.Status, b.Users)
	}
	// The same addresses cannot go into a second batch meanwhile.
	if _, _, err := e.svc.NewBatch(ctx, migration.BatchParams{Name: "Batch2", Source: "old", Target: "new", CSV: e.csv()}); err == nil ||
		!strings.Contains(err.Error(), "already in batch Batch1") {
		t.Fatalf("duplicate addresses: %v", err)
	}

	// Settings change only while Created.
	iv := 2 * time.Second
	if _, err := e.svc.SetBatch(ctx, "Batch1", migration.BatchSettings{IncrementalInterval: &iv}); err != nil {
		t.Fatalf("set while Created: %v", err)
	}
	ok(t, e.svc.StartBatch(ctx, "Batch1"))
	if _, err := e.svc.SetBatch(ctx, "Batch1", migration.BatchSettings{IncrementalInterval: &iv}); err == nil {
		t.Error("a started batch's settings were changed")
	}
	e.drain("Batch1")
	// MaxConcurrentMigrations 3: ten users, three initial syncs at once. A
	// user holds at most 2 source sessions (2 folders in parallel, the first
	// over the control connection). No time passes, so no incremental sync
	// is due yet.
	t.Logf("max users at once: %d initial; max source sessions %d", e.maxRunning.Load(), e.proxy.maxOpen.Load())
	if got := e.maxRunning.Load(); got != 3 {
		t.Errorf("MaxConcurrentMigrations 3: %d users in initial sync at once", got)
	}
	if got := e.maxRunningIncr.Load(); got != 0 {
		t.Errorf("%d incremental syncs before the interval passed", got)
	}
	if got := e.proxy.maxOpen.Load(); got > 3*2 || got < 2 {
		t.Errorf("saw %d source sessions at once, want 2..6", got)
	}
	if st := e.status("Batch1"); st != migration.BatchSyncedWithErrors {
		t.Errorf("batch status %s, want SyncedWithErrors", st)
	}
	bad07 := e.user("user07@new.example")
	if bad07.Status != migration.UserFailed || !strings.Contains(bad07.Error, "user07*mailadmin") || strings.Contains(bad07.Error, "wrong-password") {
		t.Errorf("user07: %s %q", bad07.Status, bad07.Error)
	}
	good := slices.DeleteFunc(slices.Clone(e.users), func(u string) bool { return u == "user07" })
	e.assertCopied(good...)
	for _, u := range e.usersOf("Batch1", migration.UserSynced) {
		if u.ItemsSynced != 60 || u.FirstSync.IsZero() || !u.NextSync.Equal(e.clock.Now().Add(iv)) {
			t.Errorf("%s: items %d, first %v, next %v", u.EmailAddress, u.ItemsSynced, u.FirstSync, u.NextSync)
		}
	}

	// New mail after Synced arrives once the incremental interval has
	// passed; then the nine synced users are due at once, and
	// MaxConcurrentIncrementalSyncs 1 lets them run one at a time.
	c := e.src.Client(t, "user01", userPW)
	testenv.Seed(t, c, "INBOX", testenv.Message{Body: testenv.GenMessage(rand.New(rand.NewPCG(1, 1)), 3000), InternalDate: time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)})
	e.drain("Batch1")
	if u := e.user("user01@new.example"); u.ItemsSynced != 60 {
		t.Errorf("before the interval user01 has %d items, want 60", u.ItemsSynced)
	}
	e.clock.Advance(iv)
	e.drain("Batch1")
	e.assertCopied("user01")
	if u := e.user("user01@new.example"); u.ItemsSynced != 61 {
		t.Errorf("after the incremental sync user01 has %d items, want 61", u.ItemsSynced)
	}
	if got := e.maxRunningIncr.Load(); got != 1 {
		t.Errorf("MaxConcurrentIncrementalSyncs 1: %d users in incremental sync at once, want 1", got)
	}

	// Complete: a final pass, then Completed (the failed user keeps the batch with errors).
	ok(t, e.svc.CompleteBatch(ctx, "Batch1"))
	e.drain("Batch1")
	if st := e.status("Batch1"); st != migration.BatchCompletedWithErrors {
		t.Errorf("after complete: %s, want CompletedWithErrors", st)
	}
	if u := e.user("user02@new.example"); u.Status != migration.UserCompleted {
		t.Errorf("user02 after complete: %s", u.Status)
	}

	// Remove: the batch, its users and their sync state are gone.
	removed, err := e.svc.RemoveBatch(ctx, "Batch1")
	if err != nil || !removed {
		t.Fatalf("remove: %v %v", removed, err)
	}
	if _, err := e.svc.Batch(ctx, "Batch1"); err == nil {
		t.Error("the batch survived remove")
	}
	if users, _ := e.svc.Users(ctx, "Batch1", ""); len(users) != 0 {
		t.Errorf("%d users survived remove", len(users))
	}
	if fs, _ := e.st.FolderStats(ctx, bad07.ID-1); len(fs) != 0 {
		t.Error("sync state survived remove")
	}
}

// stop mid-run, then start: resumes with no duplicate.
func TestBatchStopAndStart(t *testing.T) {
	e := newEnv(t, 4, 300)
	ctx := context.Background()
	_, _, err := e.svc.NewBatch(ctx, migration.BatchParams{Name: "B", Source: "old", Target: "new", CSV: e.csv(), AutoStart: true})
	ok(t, err)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- e.scheduler("B").Serve(runCtx) }()
	// Stop once some messages are on the target.
	for targetCount(t, e, "user00") <= 20 {
		time.Sleep(20 * time.Millisecond)
	}
	ok(t, e.svc.StopBatch(ctx, "B"))
	for e.status("B") != migration.BatchStopped {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	if st := e.status("B"); st != migration.BatchStopped {
		t.Fatalf("after stop: %s", st)
	}
	stopped := 0
	for _, u := range e.usersOf("B", "") {
		if u.Status == migration.UserStopped {
			stopped++
		}
	}
	if stopped == 0 {
		t.Error("no user was stopped mid-run")
	}
	ok(t, e.svc.StartBatch(ctx, "B"))
	e.drain("B")
	if st := e.status("B"); st != migration.BatchSynced {
		t.Errorf("after start: %s", st)
	}
	e.assertCopied(e.users...)
}

func targetCount(t *testing.T, e *env, user string) int {
	c, err := testenv.DialLogin(e.tgt.Addr(), user+"@new.example", userPW, nil)
	if err != nil {
		return 0
	}
	defer c.Close()
	st, err := c.Status("INBOX", &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil || st.NumMessages == nil {
		return 0
	}
	return int(*st.NumMessages)
}

// Target access per user (TargetUserName/TargetPassword columns) and by
// SASL PLAIN authzid, each for its own batch.
func TestTargetAccessForms(t *testing.T) {
	e := newEnv(t, 4, 10)
	ctx := context.Background()
	for _, ep := range []migration.EndpointParams{
		{Endpoint: migration.Endpoint{Name: "per-user", Server: e.tgt.Host, Port: e.tgt.Port, Security: imapconn.SecurityStartTLS,
			CAFile: e.tgt.CA.CAFile, MailboxAccess: migration.AccessPerUser}, SkipVerify: true},
		{Endpoint: migration.Endpoint{Name: "authzid", Server: e.tgt.Host, Port: e.tgt.TLSPort, Security: imapconn.SecuritySSL,
			CAFile: e.tgt.CA.CAFile, MailboxAccess: migration.AccessAuthzid, AdminUser: e.tgt.MasterUser}, AdminPassword: e.tgt.MasterPassword, SkipVerify: true},
	} {
		_, err := e.svc.NewEndpoint(ctx, ep)
		ok(t, err)
	}
	perUser := "EmailAddress,UserName,Password,TargetUserName,TargetPassword\n"
	authz := "EmailAddress,UserName,Password\n"
	for i, u := range e.users {
		row := fmt.Sprintf("%s@new.example,%s*%s,%s", u, u, e.src.MasterUser, e.src.MasterPassword)
		if i < 2 {
			perUser += fmt.Sprintf("%s,%s@new.example,%s\n", row, u, userPW)
		} else {
			authz += row + "\n"
		}
	}
	// A per-user endpoint refuses rows without target credentials.
	if _, _, err := e.svc.NewBatch(ctx, migration.BatchParams{Name: "NoCreds", Source: "old", Target: "per-user", CSV: strings.NewReader(authz)}); err == nil ||
		!strings.Contains(err.Error(), "TargetUserName") {
		t.Errorf("per-user without the columns: %v", err)
	}
	for name, spec := range map[string][2]string{"A": {"per-user", perUser}, "B": {"authzid", authz}} {
		_, _, err := e.svc.NewBatch(ctx, migration.BatchParams{Name: name, Source: "old", Target: spec[0], CSV: strings.NewReader(spec[1]), AutoStart: true})
		ok(t, err)
		e.drain(name)
		if st := e.status(name); st != migration.BatchSynced {
			t.Errorf("batch %s: %s", name, st)
			for _, u := range e.usersOf(name, "") {
				t.Logf("%s %s %s", u.EmailAddress, u.Status, u.Error)
			}
		}
	}
	e.assertCopied(e.users...)
}
