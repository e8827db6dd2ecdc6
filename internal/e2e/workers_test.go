//go:build linux

// Package e2e holds end-to-end tests that run imapmigrate as real
// processes against real servers: Dovecot for mail, PostgreSQL for the
// shared state.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/imapmigrate/imapmigrate/internal/testenv"
)

func TestMain(m *testing.M) {
	useMemoryTempDir()
	os.Exit(testenv.PostgresMain(m))
}

// useMemoryTempDir puts the servers' directories (Dovecot's mail,
// PostgreSQL's cluster) in /dev/shm when TMPDIR is not set and /dev/shm is
// a writable tmpfs with room: these tests write thousands of small files,
// which a loaded machine's disk makes the slowest part of the run.
func useMemoryTempDir() {
	if os.Getenv("TMPDIR") != "" {
		return
	}
	const dir = "/dev/shm"
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil || st.Bavail*uint64(st.Bsize) < 1<<30 || syscall.Access(dir, 0o7) != nil {
		return
	}
	os.Setenv("TMPDIR", dir)
}

const (
	batchName = "Workers"
	nUsers    = 8
	maxMig    = 2 // the endpoints' MaxConcurrentMigrations
	leaseTTL  = 3 * time.Second
	progress  = 500 * time.Millisecond // --progress-interval: also the heartbeat (min(TTL/3, progress))
	// overall bounds every wait of the test: generous, so that a loaded
	// machine is slow rather than failing; each wait ends on an event.
	overall = 5 * time.Minute
	// stopBound is how soon after `batch stop` every running pass must have
	// let go of its user: a few heartbeats, far less than a folder takes.
	stopBound = 10 * progress
)

// The folders every source mailbox has, and how many messages each holds.
var seedFolders = []struct {
	name string
	n    int
}{{"INBOX", 300}, {"Archive", 10}, {"Archive/2023", 140}, {"Sent", 50}}

// Two mailboxes are big, so that their passes last many heartbeats
// whatever the machine's speed: killUser's worker is killed in its pass
// (the first claimed), and stopUser's pass (the last claimed, after the
// takeover) is stopped mid-folder.
const (
	killUser = "user0"
	stopUser = "user7"
)

var bigInbox = map[string]int{killUser: 1200, stopUser: 2000}

// folderSizes are the folders of user's source mailbox and their sizes.
func folderSizes(user string) (names []string, sizes []int) {
	for _, f := range seedFolders {
		n := f.n
		if big, ok := bigInbox[user]; ok && f.name == "INBOX" {
			n = big
		}
		names, sizes = append(names, f.name), append(sizes, n)
	}
	return names, sizes
}

// messages is how many messages user's source mailbox holds.
func messages(user string) int {
	_, sizes := folderSizes(user)
	n := 0
	for _, s := range sizes {
		n += s
	}
	return n
}

// The "done when": several `imapmigrate worker` processes on one
// PostgreSQL database share a batch of eight users within the endpoints'
// MaxConcurrentMigrations (2), sampled from outside all along; a worker
// killed (-9) mid-pass loses its user to another once its lease expires;
// `batch stop` reaches running passes within a few heartbeats and `batch
// start` finishes the batch; every target mailbox ends identical to its
// source, every message exactly once. `batch start` with no live worker
// says so.
func TestWorkersShareOneDatabase(t *testing.T) {
	began := time.Now()
	phase := func(what string, args ...any) {
		t.Helper()
		t.Logf("%5.1fs "+what, append([]any{time.Since(began).Seconds()}, args...)...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), overall)
	defer cancel()
	if dl, ok := t.Deadline(); ok && time.Until(dl) < overall {
		ctx, cancel = context.WithDeadline(ctx, dl.Add(-10*time.Second))
		defer cancel()
	}

	built := buildImapmigrate(t) // while the servers start
	ca := testenv.NewTestCA(t)
	src := testenv.StartDovecot(t, testenv.DovecotOptions{CA: ca})
	tgt := testenv.StartDovecot(t, testenv.DovecotOptions{CA: ca})
	dsn := testenv.PostgresDB(t)
	dir := t.TempDir()
	phase("started Dovecot ×2 and PostgreSQL")

	// Eight users, seeded in parallel.
	var users []string
	var csv strings.Builder
	csv.WriteString("EmailAddress,UserName,Password\n")
	for i := 0; i < nUsers; i++ {
		u := fmt.Sprintf("user%d", i)
		users = append(users, u)
		if err := src.AddUser(u, "pw"); err != nil {
			t.Fatal(err)
		}
		if err := tgt.AddUser(u+"@new.example", "pw"); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&csv, "%s@new.example,%s,%s\n", u, src.MasterLogin(u), src.MasterPassword)
	}
	seedStart := time.Now()
	// Bodies come from a pool of generated messages, each given a
	// Message-ID of its own: every message differs, and generating
	// thousands (1-2 ms each under -race) is not what the test spends its
	// time on.
	rng := rand.New(rand.NewPCG(1, 7))
	var bodies [100][]byte
	for i := range bodies {
		bodies[i] = testenv.GenMessage(rng, 2000+rng.IntN(10000), testenv.WithoutMessageID())
	}
	seedErr := make(chan error, nUsers)
	for i, u := range users {
		go func() {
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			names, sizes := folderSizes(u)
			for k, folder := range names {
				var msgs []testenv.Message
				for j := 0; j < sizes[k]; j++ {
					flags := []imap.Flag{imap.FlagSeen}
					switch j % 7 {
					case 0:
						flags = nil
					case 3:
						flags = append(flags, imap.FlagFlagged, "$Label1")
					case 5:
						flags = append(flags, imap.FlagAnswered)
					}
					body := fmt.Appendf(nil, "Message-ID: <%d.%s.%s@seed.example>\r\n%s", j, strings.ReplaceAll(folder, "/", "."), u, bodies[rng.IntN(len(bodies))])
					msgs = append(msgs, testenv.Message{Body: body, Flags: flags, InternalDate: time.Date(2023, 1, 1+j%28, 0, 0, j, 0, time.UTC)})
				}
				if err := seedMaildir(src, u, folder, msgs); err != nil {
					seedErr <- fmt.Errorf("seed %s %s: %w", u, folder, err)
					return
				}
			}
			seedErr <- nil
		}()
	}
	for range users {
		if err := <-seedErr; err != nil {
			t.Fatal(err)
		}
	}
	phase("seeded %d users × %d messages (%s: %d, %s: %d) in %s", nUsers, messages("user1"), killUser, messages(killUser), stopUser, messages(stopUser),
		time.Since(seedStart).Round(time.Millisecond))

	bin := built()
	phase("built imapmigrate")
	e := &env{t: t, ctx: ctx, bin: bin, dsn: dsn, dir: dir, key: strings.Repeat("5e", 32)}
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	e.pool = pool

	csvPath := filepath.Join(dir, "users.csv")
	adminPw := filepath.Join(dir, "admin.pw")
	os.WriteFile(csvPath, []byte(csv.String()), 0o600)
	os.WriteFile(adminPw, []byte(tgt.MasterPassword), 0o600)
	e.must("endpoint", "new", "old", "--server", src.Host, "--port", strconv.Itoa(src.TLSPort), "--security", "ssl", "--ca-file", ca.CAFile,
		"--max-concurrent-migrations", strconv.Itoa(maxMig))
	e.must("endpoint", "new", "new", "--server", tgt.Host, "--port", strconv.Itoa(tgt.Port), "--security", "tls", "--ca-file", ca.CAFile,
		"--mailbox-access", "master", "--admin-user", tgt.MasterUser, "--admin-password-file", adminPw, "--test-mailbox", "user0@new.example",
		"--max-concurrent-migrations", strconv.Itoa(maxMig))
	if out := e.must("batch", "new", batchName, "--source", "old", "--target", "new", "--csv", csvPath); !strings.Contains(out, fmt.Sprintf("%d users", nUsers)) {
		t.Fatalf("batch new: %s", out)
	}

	// 6. No worker yet: `batch start` starts the batch and says that
	// nothing will sync it until a worker runs.
	out, errOut, err := e.cli("batch", "start", batchName)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.ToLower(out+errOut), "no worker is running") {
		t.Errorf("batch start with no live worker does not say so (want %q):\n%s%s", "No worker is running", out, errOut)
	}

	// 1. Three workers, each with its own (empty) data directory, as on
	// three machines: the key comes from the environment alone.
	var workers []*worker
	for i := 1; i <= 3; i++ {
		workers = append(workers, e.startWorker(fmt.Sprintf("w%d", i)))
	}
	defer func() {
		if t.Failed() {
			e.dumpUsers()
			for _, w := range workers {
				t.Logf("worker %s log tail:\n%s", w.name, tail(w.logPath, 40))
			}
		}
	}()

	// 2. Sampled from outside while the batch runs: never more than
	// MaxConcurrentMigrations users in Syncing, nor live leases.
	samp := e.startSampler()
	defer samp.stop()

	// Every worker registers as it starts.
	e.waitFor("worker list to show w1, w2 and w3", func() (bool, string) {
		out, _, err := e.cli("worker", "list", "-o", "json")
		if err != nil {
			return false, err.Error()
		}
		names := workerNames(t, out)
		return slices.Contains(names, "w1") && slices.Contains(names, "w2") && slices.Contains(names, "w3"), out
	})

	// 3. Kill -9 a worker while it holds a user mid-pass: some of the
	// user's messages copied (its progress, just written with a
	// heartbeat), at most half.
	var victim *worker
	held := e.waitProgress(killUser+"@new.example", func(l lease) bool { return l.items > 0 && l.items <= l.total/2 })
	for _, w := range workers {
		if w.name == workerOf(held.owner) {
			victim = w
		}
	}
	if victim == nil {
		t.Fatalf("user %s is leased to %q, not one of the workers", held.email, held.owner)
	}
	victim.kill()
	lost := e.leasesOf(victim.name)
	if len(lost) == 0 {
		t.Fatalf("killed %s, which held nothing: leases %v", victim.name, e.leases())
	}
	phase("killed %s (-9) holding %v; %s had %d/%d items", victim.name, lost, held.email, held.items, held.total)
	if n, want := targetCount(t, tgt, held.email), messages(localPart(held.email)); n == 0 || n >= want {
		t.Errorf("when %s was killed, the target of %s held %d of %d messages: want some, not all", victim.name, held.email, n, want)
	}
	// Its leases expire and other workers take its users over: not
	// before they expired.
	for _, l := range lost {
		var started time.Time
		e.waitFor(l.email+" taken over by another worker", func() (bool, string) {
			var owner string
			var ps *time.Time
			if err := e.pool.QueryRow(ctx, `SELECT lease_owner, pass_started FROM migration_user WHERE email = $1`, l.email).Scan(&owner, &ps); err != nil {
				t.Fatal(err)
			}
			if owner != "" && workerOf(owner) != victim.name && ps != nil {
				started = *ps
				return true, ""
			}
			// A short pass may be over before this look: its history
			// says who ran it (the killed pass left no row).
			var worker string
			var hs *time.Time
			err := e.pool.QueryRow(ctx, `SELECT h.worker, h.started_at FROM pass_history h JOIN migration_user u ON u.id = h.user_id
				WHERE u.email = $1 ORDER BY h.id DESC LIMIT 1`, l.email).Scan(&worker, &hs)
			if err == nil && workerOf(worker) != victim.name && hs != nil {
				started = *hs
				return true, ""
			}
			return false, fmt.Sprint(e.user(l.email))
		})
		if started.Before(l.expiry) {
			t.Errorf("%s taken over at %s, before the lease of the killed worker expired (%s)", l.email, started.Format(time.StampMicro), l.expiry.Format(time.StampMicro))
		}
	}
	phase("taken over by %v", e.leases())

	// 5. `batch stop` while passes run: each lets go of its user within a
	// few heartbeats, mid-folder: the big mailbox's pass is stopped early
	// in its work, with seconds of copying left.
	big := stopUser + "@new.example"
	running := e.waitProgress(big, func(l lease) bool { return l.items > 0 && l.items <= l.total/2 })
	stopAt := time.Now()
	e.must("batch", "stop", batchName)
	e.waitFor("every user out of Syncing and Stopping", func() (bool, string) {
		var n int
		err := e.pool.QueryRow(ctx, `SELECT count(*) FROM migration_user WHERE status IN ('Syncing', 'Stopping') OR lease_owner != ''`).Scan(&n)
		return err == nil && n == 0, fmt.Sprint(e.users(), err)
	})
	stopTook := time.Since(stopAt)
	phase("batch stop: every pass ended in %s", stopTook.Round(time.Millisecond))
	if stopTook > stopBound {
		t.Errorf("after batch stop, passes took %s to end; want within a few heartbeats (%s)", stopTook, stopBound)
	}
	for _, u := range e.users() {
		if u.status != "Stopped" && u.status != "Synced" {
			t.Errorf("after batch stop, %s is %s; want Stopped (or Synced)", u.email, u.status)
		}
	}
	if o := e.user(big); o.status != "Stopped" {
		t.Errorf("%s was mid-pass at the stop but is %s, not Stopped", big, o.status)
	}
	// The target holds part of a folder: the pass stopped inside it.
	names, sizes := folderSizes(stopUser)
	counts := targetCounts(t, tgt, big)
	partial := false
	for k, name := range names {
		partial = partial || counts[name] > 0 && counts[name] < sizes[k]
	}
	if !partial {
		t.Errorf("%s was stopped at %d/%d items of its pass, but no folder of its target is partly copied: %v (source %v %v)", big, running.items, running.total, counts, names, sizes)
	}
	phase("%s stopped at %d items seen, target %v", big, running.items, counts)

	// And started again: every user Synced.
	e.must("batch", "start", batchName)
	e.waitFor("every user Synced", func() (bool, string) {
		us := e.users()
		for _, u := range us {
			if u.status != "Synced" {
				return false, fmt.Sprint(us)
			}
		}
		return len(us) == nUsers, fmt.Sprint(us)
	})
	phase("every user Synced")
	samp.stop()
	if max := samp.max(); max.syncing > maxMig || max.leased > maxMig {
		t.Errorf("over MaxConcurrentMigrations %d: at most %d users in Syncing and %d leased at once; first excess:\n%s", maxMig, max.syncing, max.leased, samp.excess)
	} else {
		t.Logf("%d samples: at most %d users in Syncing, %d leased at once", samp.n, max.syncing, max.leased)
	}

	// 4. Every target mailbox is its source, every message exactly once
	// (the mailboxes are read at once: under -race reading is the slow part).
	diffs := make([][]string, len(users))
	var wg sync.WaitGroup
	for i, u := range users {
		sc, tc := src.Client(t, u, "pw"), tgt.Client(t, u+"@new.example", "pw")
		wg.Add(1)
		go func() {
			defer wg.Done()
			want, err := testenv.ReadSnapshot(sc)
			if err != nil {
				diffs[i] = []string{"source: " + err.Error()}
				return
			}
			got, err := testenv.ReadSnapshot(tc)
			if err != nil {
				diffs[i] = []string{"target: " + err.Error()}
				return
			}
			diffs[i] = testenv.DiffSnapshots(want, got)
			if len(want) != len(seedFolders) {
				diffs[i] = append(diffs[i], fmt.Sprintf("the source has %d folders, want %d", len(want), len(seedFolders)))
			}
		}()
	}
	wg.Wait()
	for i, d := range diffs {
		if len(d) > 0 {
			t.Errorf("%s: the target differs from the source:\n%s", users[i], strings.Join(d[:min(len(d), 20)], "\n"))
		}
	}
	// Counted from what is on the target, even what the killed worker
	// copied.
	if o, want := e.user(held.email), messages(localPart(held.email)); o.items != want {
		t.Errorf("%s (taken over): ItemsSynced %d, want %d", held.email, o.items, want)
	}

	phase("compared every mailbox")

	// The survivors stop gracefully and leave the registry.
	for _, w := range workers {
		if w != victim {
			w.term()
		}
	}
	out, _, err = e.cli("worker", "list", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range workers {
		if w != victim && slices.Contains(workerNames(t, out), w.name) {
			t.Errorf("worker %s stopped but is still listed:\n%s", w.name, out)
		}
	}
	phase("done")
}

// buildImapmigrate is testenv.BuildImapmigrate in the background: the
// returned function waits for the binary and returns its path.
func buildImapmigrate(t *testing.T) func() string {
	bin := filepath.Join(t.TempDir(), "imapmigrate")
	done := make(chan error, 1)
	go func() {
		cmd := exec.Command("go", "build", "-o", bin, "github.com/imapmigrate/imapmigrate/cmd/imapmigrate")
		out, err := cmd.CombinedOutput()
		if err != nil {
			err = fmt.Errorf("build imapmigrate: %w\n%s", err, out)
		}
		done <- err
	}()
	return func() string {
		t.Helper()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		return bin
	}
}

// env runs the binary against the test's database.
type env struct {
	t    *testing.T
	ctx  context.Context
	bin  string
	dsn  string
	dir  string
	key  string
	pool *pgxpool.Pool
}

func (e *env) environ(dataDir string) []string {
	return append(os.Environ(), "IMAPMIGRATE_SECRET_KEY="+e.key, "IMAPMIGRATE_DATA_DIR="+dataDir, "IMAPMIGRATE_DB=")
}

// cli runs one command and returns its stdout; err tells a non-zero exit,
// with stderr.
func (e *env) cli(args ...string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(e.ctx, time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.bin, append([]string{"--db", e.dsn}, args...)...)
	cmd.Env = e.environ(filepath.Join(e.dir, "cli"))
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	if err != nil {
		err = fmt.Errorf("imapmigrate %s: %w\n%s%s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String(), errb.String(), err
}

func (e *env) must(args ...string) string {
	e.t.Helper()
	out, _, err := e.cli(args...)
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

// waitFor polls cond until it holds or the test's overall deadline; then
// it fails with cond's last word on the state.
func (e *env) waitFor(what string, cond func() (bool, string)) {
	e.t.Helper()
	start := time.Now()
	for {
		ok, state := cond()
		if ok {
			return
		}
		select {
		case <-e.ctx.Done():
			e.t.Fatalf("waited %s for %s; last state: %s", time.Since(start).Round(time.Millisecond), what, state)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// worker is one `imapmigrate worker` process.
type worker struct {
	t       *testing.T
	name    string
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{}
	err     error
}

func (e *env) startWorker(name string) *worker {
	e.t.Helper()
	w := &worker{t: e.t, name: name, logPath: filepath.Join(e.dir, name+".log"), exited: make(chan struct{})}
	log, err := os.Create(w.logPath)
	if err != nil {
		e.t.Fatal(err)
	}
	w.cmd = exec.Command(e.bin, "worker", "--db", e.dsn, "--name", name, "--workers", "4", "--lease-ttl", leaseTTL.String(),
		"--progress-interval", progress.String(), "--poll", "200ms", "--parallel-folders", "1", "--log-level", "info")
	w.cmd.Env = e.environ(filepath.Join(e.dir, "data-"+name))
	w.cmd.Stdout, w.cmd.Stderr = log, log
	if err := w.cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	go func() {
		w.err = w.cmd.Wait()
		log.Close()
		close(w.exited)
	}()
	e.t.Cleanup(func() {
		select {
		case <-w.exited:
		default:
			w.cmd.Process.Kill()
			<-w.exited
		}
	})
	return w
}

func (w *worker) kill() {
	w.cmd.Process.Signal(syscall.SIGKILL)
	<-w.exited
}

// term stops the worker gracefully and expects a clean exit.
func (w *worker) term() {
	w.t.Helper()
	w.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-w.exited:
	case <-time.After(time.Minute):
		w.t.Errorf("worker %s: no exit within a minute of SIGTERM", w.name)
		w.cmd.Process.Kill()
		<-w.exited
	}
	if w.err != nil {
		w.t.Errorf("worker %s: %v after SIGTERM:\n%s", w.name, w.err, tail(w.logPath, 20))
	}
}

// lease is a user's row as the test reads it from the database.
type lease struct {
	email, status, owner string
	items, total         int64
	expiry               time.Time
	at                   *time.Time // progress written
}

func (l lease) String() string {
	if l.owner == "" {
		return fmt.Sprintf("%s:%s(%d)", l.email, l.status, l.items)
	}
	return fmt.Sprintf("%s:%s@%s(%d/%d)", l.email, l.status, l.owner, l.items, l.total)
}

type userRow struct {
	email, status, owner string
	items                int
	err                  string
}

func (u userRow) String() string {
	s := u.email + ":" + u.status
	if u.owner != "" {
		s += "@" + u.owner
	}
	if u.err != "" {
		s += " (" + u.err + ")"
	}
	return s
}

// leases are the users some worker holds.
func (e *env) leases() []lease {
	rows, err := e.pool.Query(e.ctx, `SELECT email, status, lease_owner, progress_items, progress_total, lease_expiry, progress_at FROM migration_user
		WHERE lease_owner != '' ORDER BY id`)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	var out []lease
	for rows.Next() {
		var l lease
		if err := rows.Scan(&l.email, &l.status, &l.owner, &l.items, &l.total, &l.expiry, &l.at); err != nil {
			e.t.Fatal(err)
		}
		out = append(out, l)
	}
	return out
}

// leasesOf are the users the worker named name holds, under any of its
// slots' names (name#N).
func (e *env) leasesOf(name string) []lease {
	var out []lease
	for _, l := range e.leases() {
		if workerOf(l.owner) == name {
			out = append(out, l)
		}
	}
	return out
}

func (e *env) users() []userRow {
	rows, err := e.pool.Query(e.ctx, `SELECT email, status, lease_owner, items_synced, error FROM migration_user ORDER BY id`)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	var out []userRow
	for rows.Next() {
		var u userRow
		if err := rows.Scan(&u.email, &u.status, &u.owner, &u.items, &u.err); err != nil {
			e.t.Fatal(err)
		}
		out = append(out, u)
	}
	return out
}

func (e *env) user(email string) userRow {
	for _, u := range e.users() {
		if u.email == email {
			return u
		}
	}
	e.t.Fatalf("no user %s", email)
	return userRow{}
}

// waitProgress waits for a heartbeat of email's pass, seen as it is
// written (the progress of an older one may be a heartbeat behind the
// work), whose progress satisfies ok; it fails the test if the user is done
// first.
func (e *env) waitProgress(email string, ok func(lease) bool) lease {
	e.t.Helper()
	var last *time.Time
	var got lease
	e.waitFor("a heartbeat of the pass of "+email+" early in its work", func() (bool, string) {
		if u := e.user(email); u.status != "Queued" && u.status != "Syncing" {
			e.t.Fatalf("%s is %s: its pass ended before a heartbeat early in its work was seen (mailbox too small for this machine?)", email, u.status)
		}
		for _, l := range e.leases() {
			if l.email != email || l.at == nil {
				continue
			}
			fresh := last != nil && !l.at.Equal(*last)
			last = l.at
			if fresh && l.status == "Syncing" && ok(l) {
				got = l
				return true, ""
			}
		}
		return false, fmt.Sprint(e.leases())
	})
	return got
}

func (e *env) dumpUsers() {
	out, _, err := e.cli("user", "get", "-o", "json")
	e.t.Logf("user get -o json (%v):\n%s", err, out)
}

// sampler counts, as often as it can, the users in Syncing and the live
// leases.
type sampler struct {
	mu      sync.Mutex
	n       int
	top     counts
	excess  string
	cancel  context.CancelFunc
	done    chan struct{}
	stopped sync.Once
}

type counts struct{ syncing, leased int }

func (e *env) startSampler() *sampler {
	ctx, cancel := context.WithCancel(e.ctx)
	s := &sampler{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for ctx.Err() == nil {
			var c counts
			// clock_timestamp, not now(): a lease that expired before a
			// claim this snapshot sees must not count as live.
			err := e.pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE status = 'Syncing'),
				count(*) FILTER (WHERE kind = 'initial' AND lease_owner != '' AND lease_expiry >= clock_timestamp()) FROM migration_user`).Scan(&c.syncing, &c.leased)
			if err != nil {
				continue
			}
			s.mu.Lock()
			s.n++
			if c.syncing > maxMig || c.leased > maxMig {
				if s.excess == "" {
					s.excess = fmt.Sprintf("%+v: %v", c, e.allRows(ctx))
				}
			}
			s.top.syncing, s.top.leased = max(s.top.syncing, c.syncing), max(s.top.leased, c.leased)
			s.mu.Unlock()
			select {
			case <-ctx.Done():
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	return s
}

func (e *env) allRows(ctx context.Context) string {
	rows, err := e.pool.Query(ctx, `SELECT email, status, lease_owner, lease_expiry, clock_timestamp() FROM migration_user ORDER BY id`)
	if err != nil {
		return err.Error()
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var email, status, owner string
		var exp *time.Time
		var now time.Time
		rows.Scan(&email, &status, &owner, &exp, &now)
		fmt.Fprintf(&b, "\n  %s %s %s", email, status, owner)
		if exp != nil {
			fmt.Fprintf(&b, " expires in %s", exp.Sub(now))
		}
	}
	return b.String()
}

func (s *sampler) stop() {
	s.stopped.Do(func() {
		s.cancel()
		<-s.done
	})
}

func (s *sampler) max() counts {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.top
}

// workerOf is the worker whose goroutine holds a lease: each leases as
// "name#N".
func workerOf(owner string) string {
	name, _, _ := strings.Cut(owner, "#")
	return name
}

// workerNames reads the names in `worker list -o json` whatever the case
// of its keys (they are being renamed).
func workerNames(t *testing.T, out string) []string {
	var ws []map[string]any
	if err := json.Unmarshal([]byte(out), &ws); err != nil {
		t.Fatalf("worker list -o json: %v\n%s", err, out)
	}
	var names []string
	for _, w := range ws {
		for k, v := range w {
			if strings.EqualFold(k, "name") {
				if s, ok := v.(string); ok {
					names = append(names, s)
				}
			}
		}
	}
	return names
}

// targetCounts are the messages of each folder of email's target mailbox.
func targetCounts(t *testing.T, tgt *testenv.Dovecot, email string) map[string]int {
	c := tgt.Client(t, email, "pw")
	defer c.Close()
	list, err := c.List("", "*", &imap.ListOptions{ReturnStatus: &imap.StatusOptions{NumMessages: true}}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, mb := range list {
		if mb.Status != nil && mb.Status.NumMessages != nil {
			out[mb.Mailbox] = int(*mb.Status.NumMessages)
		}
	}
	return out
}

// targetCount is how many messages the target mailbox of email holds, over
// all its folders.
func targetCount(t *testing.T, tgt *testenv.Dovecot, email string) int {
	n := 0
	for _, c := range targetCounts(t, tgt, email) {
		n += c
	}
	return n
}

func localPart(email string) string {
	u, _, _ := strings.Cut(email, "@")
	return u
}

// seedMaildir writes msgs straight into the maildir of user's folder (Maildir++,
// as testenv's Dovecot has it), as a delivery agent would, with their flags
// in the file names and their INTERNALDATE as the files' mtime: Dovecot
// indexes them on first access. APPEND costs Dovecot a transaction a
// message: thousands of them would take most of the test's time.
func seedMaildir(d *testenv.Dovecot, user, folder string, msgs []testenv.Message) error {
	root := d.MailDir(user)
	dir := root
	if !strings.EqualFold(folder, "INBOX") {
		dir = filepath.Join(root, "."+strings.ReplaceAll(folder, "/", "."))
	}
	// The files belong to whoever owns the mail root (the mail user when
	// Dovecot runs as root, else us).
	fi, err := os.Stat(filepath.Dir(root))
	if err != nil {
		return err
	}
	st := fi.Sys().(*syscall.Stat_t)
	own := func(p string) error { return os.Lchown(p, int(st.Uid), int(st.Gid)) }
	write := func(p string, b []byte) error {
		if err := os.WriteFile(p, b, 0o600); err != nil {
			return err
		}
		return own(p)
	}
	for _, p := range []string{root, filepath.Join(root, "cur"), filepath.Join(root, "new"), filepath.Join(root, "tmp"),
		dir, filepath.Join(dir, "cur"), filepath.Join(dir, "new"), filepath.Join(dir, "tmp")} {
		if err := os.MkdirAll(p, 0o700); err != nil {
			return err
		}
		if err := own(p); err != nil {
			return err
		}
	}
	if dir != root {
		if err := write(filepath.Join(dir, "maildirfolder"), nil); err != nil {
			return err
		}
	}
	system := map[imap.Flag]byte{imap.FlagDraft: 'D', imap.FlagFlagged: 'F', imap.FlagAnswered: 'R', imap.FlagSeen: 'S', imap.FlagDeleted: 'T'}
	keywords := map[imap.Flag]byte{}
	var kwFile strings.Builder
	for i, m := range msgs {
		var letters []byte
		for _, f := range m.Flags {
			if c, ok := system[f]; ok {
				letters = append(letters, c)
				continue
			}
			c, ok := keywords[f]
			if !ok {
				if len(keywords) == 26 {
					return fmt.Errorf("more than 26 keywords")
				}
				c = byte('a' + len(keywords))
				keywords[f] = c
				fmt.Fprintf(&kwFile, "%d %s\n", len(keywords)-1, f)
			}
			letters = append(letters, c)
		}
		slices.Sort(letters) // upper case (system flags) before keywords
		name := fmt.Sprintf("%d.M%dP%d.seed,S=%d:2,%s", m.InternalDate.Unix(), i, os.Getpid(), len(m.Body), letters)
		p := filepath.Join(dir, "cur", name)
		if err := write(p, m.Body); err != nil {
			return err
		}
		if err := os.Chtimes(p, m.InternalDate, m.InternalDate); err != nil {
			return err
		}
	}
	if kwFile.Len() > 0 {
		return write(filepath.Join(dir, "dovecot-keywords"), []byte(kwFile.String()))
	}
	return nil
}

func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
