// Package scheduler runs migration users' sync passes: workers claim due
// users with a lease (owner, expiry, heartbeat) through the store, which
// enforces each endpoint's MaxConcurrentMigrations and
// MaxConcurrentIncrementalSyncs across every worker of every process. A
// worker that dies stops heartbeating; its leases expire and another worker
// resumes the user from its committed sync state. A user that is Synced is
// due again after its batch's incremental interval.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/migration"
)

// LeaseStore is the part of the store the scheduler uses.
type LeaseStore interface {
	Claim(ctx context.Context, owner, batch string, now time.Time, ttl time.Duration) (*migration.Claim, error)
	Heartbeat(ctx context.Context, userID int64, owner string, expiry time.Time, p migration.Progress) (migration.Intent, error)
	Finish(ctx context.Context, userID int64, owner string, o migration.Outcome) error
	ReleaseAll(ctx context.Context, owner string) error
	FinishRemovals(ctx context.Context) error
	PutWorker(ctx context.Context, w migration.Worker) error
	RemoveWorker(ctx context.Context, name string, before time.Time) error
}

// Runner does one pass for a claimed user and says what happened, telling
// the meter its progress as it goes. ctx is cancelled when the batch is
// stopped or removed, or the scheduler stops: the runner must then return
// promptly with its state committed.
type Runner func(ctx context.Context, c *migration.Claim, m *Meter) migration.Outcome

// Scheduler claims and runs due work.
type Scheduler struct {
	Store    LeaseStore
	Run      Runner
	Owner    string        // this worker's name, unique among workers: host/pid by default
	Workers  int           // passes at once in this process (default 4)
	LeaseTTL time.Duration // default 60s; heartbeats every TTL/3 at most
	Poll     time.Duration // how often idle workers look for work (default 2s)
	// Progress is how often a pass's progress reaches the store (with a
	// heartbeat), for every process to see (default 5s).
	Progress time.Duration
	// Version is recorded with the worker (worker list).
	Version string
	Log     *slog.Logger
	// Batch, when set, limits claims to users of this batch (batch run).
	Batch string
	// Now is the clock (tests).
	Now func() time.Time
	// Observer, when set, is told of claims, passes and their events
	// (metrics).
	Observer Observer

	wake chan struct{}
	busy atomic.Int32
}

func (s *Scheduler) defaults() {
	if s.Workers <= 0 {
		s.Workers = 4
	}
	if s.LeaseTTL <= 0 {
		s.LeaseTTL = 60 * time.Second
	}
	if s.Poll <= 0 {
		s.Poll = 2 * time.Second
	}
	if s.Log == nil {
		s.Log = slog.New(slog.DiscardHandler)
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.Progress <= 0 {
		s.Progress = 5 * time.Second
	}
	if s.Owner == "" {
		s.Owner = DefaultName()
	}
	s.wake = make(chan struct{}, s.Workers)
}

// DefaultName names a worker by its host and process: "host/pid".
func DefaultName() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s/%d", host, os.Getpid())
}

// register records this worker, and then its sign of life every
// migration.WorkerSeenEvery, until ctx is done; then it is forgotten.
func (s *Scheduler) register(ctx context.Context) (stop func()) {
	host, _ := os.Hostname()
	w := migration.Worker{Name: s.Owner, Host: host, PID: os.Getpid(), Slots: s.Workers, Version: s.Version, Started: s.Now(), Seen: s.Now()}
	if err := s.Store.PutWorker(ctx, w); err != nil {
		s.Log.Warn("record worker", "err", err)
	}
	regCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(migration.WorkerSeenEvery)
		defer t.Stop()
		for {
			select {
			case <-regCtx.Done():
				return
			case <-t.C:
				w.Seen, w.Busy = s.Now(), int(s.busy.Load())
				if err := s.Store.PutWorker(regCtx, w); err != nil && regCtx.Err() == nil {
					s.Log.Warn("record worker", "err", err)
				}
			}
		}
	}()
	return func() {
		cancel()
		<-done
		s.Store.RemoveWorker(context.WithoutCancel(ctx), s.Owner, s.Now().Add(-24*time.Hour))
	}
}

// Serve runs workers until ctx is done, then releases its leases. Passes
// under way are cancelled and commit what they did.
func (s *Scheduler) Serve(ctx context.Context) error {
	return s.run(ctx, func() bool { return false })
}

// Drain runs workers until no claim succeeds for a whole idle poll while
// idle() reports true (nothing due, nothing leased): `batch run`.
func (s *Scheduler) Drain(ctx context.Context, idle func() bool) error {
	err := s.run(ctx, idle)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// run runs s.Workers workers until ctx is done or done() says so. Each
// worker holds its leases under its own name (the scheduler's, "#" and its
// number), so that a lease one of them lost (a pause longer than the TTL)
// and another reclaimed is never taken for the same pass's.
func (s *Scheduler) run(ctx context.Context, done func() bool) error {
	s.defaults()
	defer s.register(ctx)()
	var wg sync.WaitGroup
	errs := make([]error, s.Workers)
	for i := range s.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			owner := fmt.Sprintf("%s#%d", s.Owner, i+1)
			s.worker(ctx, owner, done)
			errs[i] = s.Store.ReleaseAll(context.WithoutCancel(ctx), owner)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (s *Scheduler) worker(ctx context.Context, owner string, done func() bool) {
	for ctx.Err() == nil {
		s.Store.FinishRemovals(ctx)
		c, err := s.Store.Claim(ctx, owner, s.Batch, s.Now(), s.LeaseTTL)
		if err != nil && ctx.Err() == nil {
			s.Log.Error("claim work", "err", err)
		}
		if c != nil {
			s.busy.Add(1)
			s.pass(ctx, c, owner)
			s.busy.Add(-1)
			s.nudge()
			continue
		}
		if done() {
			return
		}
		select {
		case <-ctx.Done():
		case <-s.wake:
		case <-time.After(s.Poll):
		}
	}
}

func (s *Scheduler) nudge() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// pass runs one claimed user with a heartbeat; the pass is cancelled when
// the lease is lost or the batch no longer wants it to run.
func (s *Scheduler) pass(ctx context.Context, c *migration.Claim, owner string) {
	log := s.Log.With("batch", c.Batch.Name, "user", c.User.EmailAddress, "kind", c.Kind)
	passCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	meter := &Meter{claim: c, obs: s.Observer}
	var report PassReport // what the Observer is told once the outcome is recorded
	if s.Observer != nil {
		start := s.Now()
		s.Observer.Claimed(c)
		defer func() {
			report.Result, report.Err = meter.ended()
			report.Duration = s.Now().Sub(start)
			s.Observer.PassEnded(c, report)
		}()
	}
	hbDone := make(chan struct{})
	go func() {
		defer close(hbDone)
		t := time.NewTicker(min(s.LeaseTTL/3, s.Progress))
		defer t.Stop()
		for {
			select {
			case <-passCtx.Done():
				return
			case <-t.C:
				intent, err := s.Store.Heartbeat(context.WithoutCancel(ctx), c.User.ID, owner, s.Now().Add(s.LeaseTTL), meter.Progress(s.Now()))
				switch {
				case errors.Is(err, migration.ErrNotFound):
					cancel(errLeaseLost)
					return
				case err != nil:
					log.Warn("heartbeat", "err", err)
				case intent == migration.IntentStopped:
					cancel(migration.ErrStopped)
					return
				case intent == migration.IntentRemoving:
					cancel(migration.ErrRemoved)
					return
				}
			}
		}
	}()
	log.Info("pass starting")
	o := s.runContained(passCtx, c, meter, log)
	cancel(nil)
	<-hbDone
	report.Outcome = o
	if errors.Is(context.Cause(passCtx), errLeaseLost) {
		report.LeaseLost = true
		log.Warn("lease lost: another worker owns this user now")
		return
	}
	if err := s.Store.Finish(context.WithoutCancel(ctx), c.User.ID, owner, o); err != nil {
		log.Error("record outcome", "err", err)
		return
	}
	if o.Error != "" {
		log.Warn("pass failed", "status", o.Status, "attempts", o.Attempts, "next", o.NextDue, "error", o.Error)
		return
	}
	log.Info("pass done", "status", o.Status, "copied", o.Copied)
}

// runContained runs a pass, and turns a panic in it into a failure of that
// user alone: the process and every other pass go on.
func (s *Scheduler) runContained(ctx context.Context, c *migration.Claim, m *Meter, log *slog.Logger) (o migration.Outcome) {
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		log.Error("internal error in a pass", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
		u := c.User
		o = migration.Outcome{Copied: u.ItemsSynced, Skipped: u.SkippedBy, Bytes: u.BytesSynced, Folders: u.Folders, Attempts: u.Attempts, At: s.Now()}
		o = migration.EndPass(migration.PassEnd{Kind: c.Kind, Err: fmt.Errorf("internal error: panic: %v", v), Interval: time.Duration(c.Batch.IncrementalInterval)}, o)
	}()
	return s.Run(ctx, c, m)
}

// Causes of a pass's cancellation, for the Runner to tell apart.
var (
	ErrStopped   = migration.ErrStopped
	ErrRemoved   = migration.ErrRemoved
	errLeaseLost = errors.New("lease lost")
)
