package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/testenv"
)

// Two syncs on one state (a double start, an overlapping cron job): the
// second is refused with exit 2, naming the state file and the process
// that holds it, and nothing is copied twice.
func TestSyncRefusesASecondWriter(t *testing.T) {
	e := newCLIEnv(t)
	// The first sync is held in its first body FETCH until the second has
	// been refused: no timing involved.
	inFetch := make(chan struct{})
	resume := make(chan struct{})
	var once sync.Once
	h := testenv.StartHostile(t, testenv.HostileOptions{Upstream: e.src.Addr(), Intercept: func(c *testenv.HostileConn, cmd testenv.HostileCommand) bool {
		if cmd.Name == "UID FETCH" && strings.Contains(cmd.Args, "BODY.PEEK[]") {
			once.Do(func() { close(inFetch) })
			<-resume
		}
		return false
	}})
	state := filepath.Join(e.dir, "state.db")
	args := func() []string {
		a := e.args("--state", state, "--log-level", "error")
		for i, s := range a {
			switch s {
			case "--source-port":
				a[i+1] = strconv.Itoa(h.Port())
			case "--source-security":
				a[i+1] = "none"
			}
		}
		return a
	}
	first := exec.Command(testenv.BuildImapmigrate(t), args()...)
	first.Env = append(os.Environ(), "IMAPMIGRATE_TARGET_PASSWORD="+tgtSecret)
	var firstOut strings.Builder
	first.Stdout, first.Stderr = &firstOut, &firstOut
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	<-inFetch

	code, _, errOut := run(t, args(), map[string]string{"IMAPMIGRATE_TARGET_PASSWORD": tgtSecret})
	if code != ExitUsage || !strings.Contains(errOut, state) || !strings.Contains(errOut, "process "+strconv.Itoa(first.Process.Pid)) {
		t.Errorf("second sync: exit %d, want %d with a message naming %s and process %d:\n%s", code, ExitUsage, state, first.Process.Pid, errOut)
	}
	close(resume)
	if err := first.Wait(); err != nil {
		t.Fatalf("first sync: %v\n%s", err, firstOut.String())
	}
	src := testenv.Snapshot(t, testenv.Login(t, e.src.Addr(), "terry", "x"))
	tgt := testenv.Snapshot(t, testenv.Login(t, e.tgt.Addr(), "terry@new.example", tgtSecret))
	if d := testenv.DiffSnapshots(src, tgt); len(d) > 0 {
		t.Errorf("target differs from the source:\n%s", strings.Join(d, "\n"))
	}
}

// SIGTERM ends a sync that waits on a server which stopped answering, at
// once rather than after its command timeout (2 minutes).
func TestSyncEndsOnSIGTERM(t *testing.T) {
	e := newCLIEnv(t)
	swallowed := make(chan struct{})
	var once sync.Once
	h := testenv.StartHostile(t, testenv.HostileOptions{Upstream: e.src.Addr(), Intercept: func(c *testenv.HostileConn, cmd testenv.HostileCommand) bool {
		if cmd.Name == "UID SEARCH" {
			once.Do(func() { close(swallowed) })
			return true // never answered
		}
		return false
	}})
	a := e.args("--state", filepath.Join(e.dir, "state.db"))
	for i, s := range a {
		switch s {
		case "--source-port":
			a[i+1] = strconv.Itoa(h.Port())
		case "--source-security":
			a[i+1] = "none"
		}
	}
	cmd := exec.Command(testenv.BuildImapmigrate(t), a...)
	cmd.Env = append(os.Environ(), "IMAPMIGRATE_TARGET_PASSWORD="+tgtSecret)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	<-swallowed
	start := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	took := time.Since(start)
	t.Logf("exited %v after SIGTERM in %s:\n%s", err, took, out.String())
	if took > 30*time.Second {
		t.Errorf("sync took %s to end after SIGTERM", took)
	}
	if cmd.ProcessState.ExitCode() == 0 {
		t.Error("an interrupted sync exited 0")
	}
}
