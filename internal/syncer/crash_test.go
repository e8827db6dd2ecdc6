package syncer_test

import (
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
	res := p.sync(t, syncer.Options{})
	if res.Copied != 0 || res.Matched != 120 {
		t.Errorf("with a lost state: copied %d, matched %d; want 0 and 120", res.Copied, res.Matched)
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

// kill -9 of a real `imapmigrate sync` at random instants, then the same
// command again: every message ends up on the target exactly once.
func TestKill9AtRandomInstants(t *testing.T) {
	if testing.Short() {
		t.Skip("long: skipped with -short")
	}
	p := newPair(t, '/', '.')
	seedCorpus(t, p, 1500, "INBOX", "Archive/2024", "Projects")
	bin := testenv.BuildImapmigrate(t)
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

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	kills := 0
	for i := 0; i < 15; i++ {
		cmd := exec.Command(bin, args...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		delay := time.Duration(20+rng.IntN(400)) * time.Millisecond
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			t.Logf("run %d finished before its kill at %v (err %v)", i, delay, err)
			if err == nil {
				i = 100 // all copied
			}
		case <-time.After(delay):
			cmd.Process.Signal(syscall.SIGKILL)
			<-done
			kills++
		}
	}
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("final run: %v\n%s", err, out)
	}
	t.Logf("%d kills; final run:\n%s", kills, out)
	if kills < 3 {
		t.Fatalf("only %d runs were killed: the corpus copies too fast for this test", kills)
	}
	p.assertIdentical(t)
}
