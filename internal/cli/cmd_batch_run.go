package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/imapmigrate/imapmigrate/internal/migration"
	"github.com/imapmigrate/imapmigrate/internal/syncer"
)

func newBatchRunCommand(g *globalOptions) *cobra.Command {
	w := &workerOptions{}
	cmd := &cobra.Command{
		Use:   "run NAME",
		Short: "Do the due work of one batch in the foreground, with progress",
		Long: `Start the batch if it is not running, sync every user that is due (the
endpoints' concurrency limits apply), show progress (a line per active user and
a total on a terminal; periodic lines otherwise), then print the batch and exit.

EXIT STATUS
  0 every user is Synced (or Completed)
  1 some users failed or are still waiting for a retry
  2 the batch could not run`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			a, err := openApp(ctx, g, true)
			if err != nil {
				return err
			}
			defer a.close()
			name := args[0]
			b, err := a.svc.Batch(ctx, name)
			if err != nil {
				return serviceError(err)
			}
			if b.Intent == migration.IntentCreated || b.Intent == migration.IntentStopped {
				if err := a.svc.StartBatch(ctx, name); err != nil {
					return serviceError(err)
				}
			}
			warnings, err := a.svc.CleartextWarnings(ctx, name)
			if err != nil {
				return serviceError(err)
			}
			for _, w := range warnings {
				a.log.Warn(w)
			}
			bar := newBatchProgress(g.stderr)
			s := w.scheduler(a, name, bar.event)
			bar.start(ctx)
			idle := func() bool {
				users, err := a.svc.Users(ctx, name, "")
				if err != nil {
					return true
				}
				now := time.Now()
				for _, u := range users {
					switch u.Status {
					case migration.UserSyncing, migration.UserIncrementalSyncing, migration.UserCompleting, migration.UserStopping:
						return false
					}
					if !u.NextSync.IsZero() && !u.NextSync.After(now) && u.Status != migration.UserStopped {
						return false
					}
				}
				return true
			}
			err = s.Drain(ctx, idle)
			bar.stop()
			if err != nil {
				return withExit(ExitUsage, err)
			}
			b, err = a.svc.Batch(context.WithoutCancel(ctx), name)
			if err != nil {
				return serviceError(err)
			}
			if err := printBatches(g, []migration.Batch{*b}); err != nil {
				return err
			}
			users, _ := a.svc.Users(ctx, name, "")
			bad := 0
			for _, u := range users {
				switch u.Status {
				case migration.UserSynced, migration.UserCompleted, migration.UserCompletedWithWarnings:
				default:
					bad++
					if g.output != "json" {
						fmt.Fprintf(g.stdout, "%s: %s %s\n", u.EmailAddress, u.Status, u.Error)
					}
				}
			}
			if bad > 0 {
				return withExit(ExitPartial, nil)
			}
			return nil
		},
	}
	w.addFlags(cmd)
	return cmd
}

// batchProgress shows one line per active user and a total.
type batchProgress struct {
	w     io.Writer
	tty   bool
	mu    sync.Mutex
	users map[string]*userProgress
	total struct {
		msgs  int
		bytes int64
	}
	started time.Time
	lines   int
	stopCh  chan struct{}
	wg      sync.WaitGroup
}

type userProgress struct {
	msgs, total int
	bytes       int64
	done        bool
}

func newBatchProgress(w io.Writer) *batchProgress {
	p := &batchProgress{w: w, users: make(map[string]*userProgress)}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.tty = true
	}
	return p
}

func (p *batchProgress) event(email string, e syncer.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	u := p.users[email]
	if u == nil {
		u = &userProgress{}
		p.users[email] = u
	}
	switch e.Kind {
	case syncer.FolderStarted:
		u.total += e.Total
		u.done = false
	case syncer.MessagesCopied:
		u.msgs += e.Messages
		u.bytes += e.Bytes
		p.total.msgs += e.Messages
		p.total.bytes += e.Bytes
	}
}

func (p *batchProgress) start(ctx context.Context) {
	p.started = time.Now()
	p.stopCh = make(chan struct{})
	every := 5 * time.Second
	if p.tty {
		every = 300 * time.Millisecond
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				p.draw(false)
			case <-p.stopCh:
				p.draw(true)
				return
			case <-ctx.Done():
				return
			}
		}
	}()
}

func (p *batchProgress) stop() {
	close(p.stopCh)
	p.wg.Wait()
}

func (p *batchProgress) draw(final bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	secs := max(time.Since(p.started).Seconds(), 0.001)
	var lines []string
	var names []string
	for n := range p.users {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		u := p.users[n]
		pct := 100
		if u.total > 0 {
			pct = min(100, 100*u.msgs/u.total)
		}
		lines = append(lines, fmt.Sprintf("  %-32s %s %5d/%-5d %s", n, bar(pct), u.msgs, u.total, humanBytes(u.bytes)))
	}
	total := fmt.Sprintf("total: %d messages, %s, %.0f msg/s, %.1f MiB/s, %d users", p.total.msgs, humanBytes(p.total.bytes),
		float64(p.total.msgs)/secs, float64(p.total.bytes)/(1<<20)/secs, len(p.users))
	if !p.tty {
		if !final || p.total.msgs > 0 {
			fmt.Fprintln(p.w, total)
		}
		return
	}
	if p.lines > 0 {
		fmt.Fprintf(p.w, "\033[%dA", p.lines)
	}
	out := append(lines, total)
	for _, l := range out {
		fmt.Fprint(p.w, "\r\033[K"+l+"\n")
	}
	p.lines = len(out)
}

func bar(pct int) string {
	n := pct / 5
	return "[" + strings.Repeat("#", n) + strings.Repeat(".", 20-n) + "]"
}
