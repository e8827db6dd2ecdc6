package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// waitDelay bounds the wait for a killed process's output pipes to close.
const waitDelay = 5 * time.Second

// outputLimit bounds what is kept of one process's stdout, and of its stderr
// (the end of it).
const outputLimit = 1 << 20

// process is one tool process of a run and, once it ran, what it cost.
type process struct {
	user string
	argv []string
	// check, when set, checks the tool's own report on stdout.
	check func(stdout []byte) error

	stdout tailBuffer
	stderr tailBuffer

	// wall is from start to reaped; cpu is user + system time from wait4's
	// rusage; maxRSS is the peak RSS in KiB (see RSSByTime).
	wall   time.Duration
	maxRSS int64
	cpu    time.Duration
	err    error
}

// How peak RSS is measured. Not wait4's ru_maxrss of the process the
// benchmark starts: Go starts children with clone(CLONE_VM|CLONE_VFORK), so
// until exec the child runs on the parent's memory, and Linux carries that
// memory's high-water mark into the child's ru_maxrss. A child of a
// benchmark that just generated 30 MiB messages would "peak" at the
// benchmark's size. GNU time forks a copy of its own small process instead,
// so its %M is the tool's own peak (plus at most time's ~1 MiB).
const (
	// RSSByTime is GNU time's %M (Debian package time).
	RSSByTime = "GNU time %M"
	// RSSByPolling, without GNU time, reads VmHWM from /proc/<pid>/status
	// every vmhwmInterval: a lower bound that misses a peak in the last
	// interval before exit.
	RSSByPolling = "VmHWM polled every 10 ms"
)

const vmhwmInterval = 10 * time.Millisecond

// runBatch starts every process at once and waits for all of them, as a
// migration batch would run its mailboxes. It returns the batch's wall time:
// from the first start to the last process reaped. A process that cannot be
// started or fails has its err set; ctx kills the processes still running.
// timeBinary is GNU time, or "" to poll VmHWM instead (see RSSByTime).
func runBatch(ctx context.Context, dir, timeBinary string, procs []*process) time.Duration {
	var wg sync.WaitGroup
	began := time.Now()
	for _, p := range procs {
		p.stdout.limit, p.stderr.limit = outputLimit, outputLimit
		argv := p.argv
		rssFile := ""
		if timeBinary != "" {
			rssFile = filepath.Join(dir, "maxrss-"+p.user)
			argv = append([]string{timeBinary, "--format=%M", "--output=" + rssFile}, argv...)
		}
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Dir = dir
		cmd.Stdout, cmd.Stderr = &p.stdout, &p.stderr
		cmd.SysProcAttr = sysProcAttr()
		cmd.Cancel = func() error { return killGroup(cmd.Process.Pid) }
		cmd.WaitDelay = waitDelay
		start := time.Now()
		if err := cmd.Start(); err != nil {
			p.err = fmt.Errorf("start %s: %w", argv[0], err)
			continue
		}
		exited := make(chan struct{})
		var polled int64
		var pollWG sync.WaitGroup
		if timeBinary == "" {
			pollWG.Go(func() { polled = pollVmHWM(cmd.Process.Pid, exited) })
		}
		wg.Go(func() {
			err := cmd.Wait()
			p.wall = time.Since(start)
			close(exited)
			pollWG.Wait()
			if st := cmd.ProcessState; st != nil {
				p.cpu = st.UserTime() + st.SystemTime()
			}
			p.maxRSS = polled
			if rssFile != "" {
				rss, rerr := readTimeOutput(rssFile)
				if rerr != nil && err == nil {
					err = rerr
				}
				p.maxRSS = rss
			}
			p.err = p.result(err)
		})
	}
	wg.Wait()
	return time.Since(began)
}

// pollVmHWM returns the last VmHWM read from pid before exited is closed.
func pollVmHWM(pid int, exited <-chan struct{}) int64 {
	var last int64
	t := time.NewTicker(vmhwmInterval)
	defer t.Stop()
	for {
		if v, err := readVmHWM(pid); err == nil {
			last = max(last, v)
		}
		select {
		case <-exited:
			return last
		case <-t.C:
		}
	}
}

// readTimeOutput reads GNU time's --output file: "Command exited with
// non-zero status N" or "Command terminated by signal N" lines may come
// first; the last line is %M, in KiB.
func readTimeOutput(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("peak RSS: %w", err)
	}
	last := strings.TrimSpace(string(b))
	if i := strings.LastIndexByte(last, '\n'); i >= 0 {
		last = last[i+1:]
	}
	kib, err := strconv.ParseInt(last, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("peak RSS: %s: %q is not a number", path, last)
	}
	return kib, nil
}

// result turns the exit status and the tool's own report into one error.
func (p *process) result(waitErr error) error {
	if waitErr != nil {
		var ee *exec.ExitError
		if errors.As(waitErr, &ee) {
			return fmt.Errorf("%s for %s: %v; stderr: %s", p.argv[0], p.user, waitErr, lastLines(p.stderr.String(), 5))
		}
		return fmt.Errorf("%s for %s: %w", p.argv[0], p.user, waitErr)
	}
	if p.check != nil {
		if err := p.check(p.stdout.Bytes()); err != nil {
			return fmt.Errorf("%s: %w", p.user, err)
		}
	}
	return nil
}

// tailBuffer keeps the last limit bytes written to it, so a chatty process
// cannot fill memory.
type tailBuffer struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	limit int
	lost  bool
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	if over := b.buf.Len() - b.limit; b.limit > 0 && over > 0 {
		b.buf.Next(over)
		b.lost = true
	}
	return len(p), nil
}

// Bytes returns what was kept. Call it once the process is reaped.
func (b *tailBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Bytes()
}

func (b *tailBuffer) String() string { return string(b.Bytes()) }

// lastLines returns the last n non-empty lines of s, joined by " | ".
func lastLines(s string, n int) string {
	var lines []string
	for l := range strings.Lines(s) {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	if len(lines) == 0 {
		return "(empty)"
	}
	return strings.Join(lines, " | ")
}
