package syncer_test

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/imapmigrate/imapmigrate/internal/syncer"
	"github.com/imapmigrate/imapmigrate/internal/testenv"
)

// failingState makes the n-th Commit fail, as if the process died after
// an APPEND succeeded and before its outcome was recorded.
type failingState struct {
	syncer.State
	mu      sync.Mutex
	commits int
	failAt  int
}

var errCrash = errors.New("simulated crash before the commit")

func (s *failingState) Commit(ctx context.Context, f *syncer.FolderState, c syncer.Commit) error {
	s.mu.Lock()
	s.commits++
	n := s.commits
	s.mu.Unlock()
	if n == s.failAt && len(c.Copied) > 0 {
		return errCrash
	}
	return s.State.Commit(ctx, f, c)
}

func seedCorpus(t *testing.T, p *pair, perFolder int, folders ...string) {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 9))
	src := p.srcClient(t)
	for _, f := range folders {
		var msgs []testenv.Message
		for i := 0; i < perFolder; i++ {
			var flags []imap.Flag
			if i%3 == 0 {
				flags = []imap.Flag{imap.FlagSeen}
			}
			var opts []testenv.GenOption
			if i%50 == 7 {
				opts = append(opts, testenv.WithoutMessageID())
			}
			if i%40 == 5 {
				opts = append(opts, testenv.WithMessageID("<dup@example.com>"))
			}
			msgs = append(msgs, msg(rng, 1000+rng.IntN(20000), flags, opts...))
		}
		testenv.Seed(t, src, f, msgs...)
	}
}

func (p *pair) assertIdentical(t *testing.T) {
	t.Helper()
	tgt := p.tgtClient(t)
	sep, err := testenv.Delimiter(tgt)
	if err != nil {
		t.Fatal(err)
	}
	diffViews(t, view(testenv.Snapshot(t, p.srcClient(t)), p.src.Separator, nil), view(testenv.Snapshot(t, tgt), sep, nil))
}

// An APPEND that succeeded but was not recorded is found on the target by
// the next pass, not appended again.
func TestCrashBetweenAppendAndRecord(t *testing.T) {
	p := newPair(t, '/', '/')
	seedCorpus(t, p, 150, "INBOX", "Work")
	for _, failAt := range []int{1, 3} {
		res, err := p.trySyncState(t, syncer.Options{ParallelFolders: 1}, func(s syncer.State) syncer.State { return &failingState{State: s, failAt: failAt} })
		if err != nil {
			t.Fatalf("sync: %v", err)
		}
		if res.FoldersFailed == 0 {
			t.Fatalf("the simulated crash did not fail a folder")
		}
	}
	res := p.sync(t, syncer.Options{})
	if res.Matched == 0 {
		t.Errorf("the resumed pass found no interrupted append on the target (matched 0)")
	}
	p.assertIdentical(t)
	if res := p.sync(t, syncer.Options{}); res.Copied+res.Matched != 0 {
		t.Errorf("a pass after a complete sync copied %d, matched %d", res.Copied, res.Matched)
	}
}

// A lost state file, and a source folder recreated with a new UIDVALIDITY,
// are rebuilt by signature: nothing is copied twice.
func TestRebuildBySignature(t *testing.T) {
	p := newPair(t, '/', '/')
	seedCorpus(t, p, 60, "INBOX", "Old")
	p.sync(t, syncer.Options{})

	os.Remove(p.statePath)
	// The rebuild is interrupted (its first record fails, as in a crash):
	// the next pass goes on rebuilding rather than copying the rest.
	if _, err := p.trySyncState(t, syncer.Options{ParallelFolders: 1}, func(s syncer.State) syncer.State { return &failingState{State: s, failAt: 1} }); err != nil {
		t.Fatal(err)
	}
	// The interrupted pass rebuilt one folder; this one rebuilds the other.
	res := p.sync(t, syncer.Options{})
	if res.Copied != 0 || res.Matched != 60 {
		t.Errorf("with a lost state, after an interrupted rebuild: copied %d, matched %d; want 0 and 60", res.Copied, res.Matched)
	}
	p.assertIdentical(t)

	// Recreate "Old" on the source: same messages, new UIDVALIDITY, plus one.
	src := p.srcClient(t)
	snap := testenv.Snapshot(t, src)["Old"]
	if _, err := src.Select("Old", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	var msgs []testenv.Message
	all, err := src.Fetch(imap.UIDSet{imap.UIDRange{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true, Flags: true, InternalDate: true,
		BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range all {
		var flags []imap.Flag
		for _, f := range m.Flags {
			if f != `\Recent` {
				flags = append(flags, f)
			}
		}
		msgs = append(msgs, testenv.Message{Body: m.FindBodySection(&imap.FetchItemBodySection{Peek: true}), Flags: flags, InternalDate: m.InternalDate})
	}
	if len(msgs) != len(snap) {
		t.Fatalf("read %d messages of %d", len(msgs), len(snap))
	}
	src.Unselect().Wait()
	if err := src.Delete("Old").Wait(); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	testenv.Seed(t, src, "Old", append(msgs, msg(rng, 1234, nil))...)
	res = p.sync(t, syncer.Options{})
	if res.Copied != 1 || res.Matched != 60 {
		t.Errorf("after UIDVALIDITY change: copied %d, matched %d; want 1 and 60", res.Copied, res.Matched)
	}
	p.assertIdentical(t)
}

// kill -9 of a real `imapmigrate sync` at random points, then the same
// command again: every message ends up on the target exactly once.
func TestKill9AtRandomInstants(t *testing.T) {
	if testing.Short() {
		t.Skip("long: skipped with -short")
	}
	p := newPair(t, '/', '.')
	folders := []string{"INBOX", "Archive/2024", "Projects"}
	seedCorpus(t, p, 1500, folders...)
	dir := t.TempDir()
	srcPw := filepath.Join(dir, "src.pw")
	tgtPw := filepath.Join(dir, "tgt.pw")
	os.WriteFile(srcPw, []byte(p.src.MasterPassword+"\n"), 0o600)
	os.WriteFile(tgtPw, []byte("new-pass\n"), 0o600)
	args := []string{"sync", "--log-level", "error", "--state", p.statePath, "--ca-file", p.src.CA.CAFile,
		"--source-host", p.src.Host, "--source-port", strconv.Itoa(p.src.TLSPort), "--source-security", "ssl",
		"--source-user", p.src.MasterLogin(p.srcUser), "--source-password-file", srcPw,
		"--target-host", p.tgt.Host, "--target-port", strconv.Itoa(p.tgt.Port), "--target-security", "tls",
		"--target-user", p.tgtUser, "--target-password-file", tgtPw,
		"--parallel-folders", "3"}
	watch := p.tgtClient(t)
	onTarget := func() int {
		n := 0
		for _, f := range []string{"INBOX", "Archive.2024", "Projects"} {
			if st, err := watch.Status(f, &imap.StatusOptions{NumMessages: true}).Wait(); err == nil && st.NumMessages != nil {
				n += int(*st.NumMessages)
			}
		}
		return n
	}
	total := 3 * 1500
	more := func() {
		seedCorpus(t, p, 300, "Projects")
		total += 300
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	killAndFinish(t, rng, args, onTarget, func() int { return total }, more)
	p.assertIdentical(t)
}

// killAndFinish runs the CLI with args again and again, killing it with
// SIGKILL each time: at a random instant while it starts (logging in,
// listing, reconciling), or once the target holds a random number of
// further messages (onTarget: a point of the work, not of the clock); a
// run that finishes first gets more work (more). After four kills a last
// run must finish cleanly.
func killAndFinish(t *testing.T, rng *rand.Rand, args []string, onTarget, total func() int, more func()) {
	t.Helper()
	bin := testenv.BuildImapmigrate(t)
	kills, runs := 0, 0
	for ; kills < 4 && runs < 20; runs++ {
		cmd := exec.Command(bin, args...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		finished := func() bool {
			select {
			case err := <-done:
				done <- err
				return true
			default:
				return false
			}
		}
		if runs%3 == 0 {
			select {
			case <-done:
				done <- nil
			case <-time.After(time.Duration(rng.IntN(150)) * time.Millisecond):
			}
		} else {
			// A MULTIAPPEND adds up to 32 at once: leave room for one more.
			have := onTarget()
			at := have + 1 + rng.IntN(max(1, total()-have-33))
			for !finished() && onTarget() < at {
				time.Sleep(2 * time.Millisecond)
			}
		}
		if !finished() {
			cmd.Process.Signal(syscall.SIGKILL)
			<-done
			kills++
			continue
		}
		if err := <-done; err != nil {
			t.Fatalf("run %d: %v\n%s", runs, err, out.String())
		}
		more() // it finished first: more work to kill
	}
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("final run: %v\n%s", err, out)
	}
	t.Logf("%d runs, %d killed, then a clean run", runs, kills)
	if kills < 4 {
		t.Errorf("only %d of %d runs were killed", kills, runs)
	}
}
