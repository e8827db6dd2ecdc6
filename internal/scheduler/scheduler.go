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
	"runtime/debug"
	"sync"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/migration"
)

// LeaseStore is the part of the store the scheduler uses.
type LeaseStore interface {
	Claim(ctx context.Context, owner, batch string, now time.Time, ttl time.Duration) (*migration.Claim, error)
	Heartbeat(ctx context.Context, userID int64, owner string, expiry time.Time) (migration.Intent, error)
	Finish(ctx context.Context, userID int64, owner string, o migration.Outcome) error
	ReleaseAll(ctx context.Context, owner string) error
	FinishRemovals(ctx context.Context) error
}

// Runner does one pass for a claimed user and says what happened. ctx is
// cancelled when the batch is stopped or removed, or the scheduler stops:
// the runner must then return promptly with its state committed.
type Runner func(ctx context.Context, c *migration.Claim) migration.Outcome

// Scheduler claims and runs due work.
type Scheduler struct {
	Store    LeaseStore
	Run      Runner
	Owner    string        // unique per process: host/pid/random
	Workers  int           // passes at once in this process (default 4)
	LeaseTTL time.Duration // default 60s; heartbeats every TTL/3
	Poll     time.Duration // how often idle workers look for work (default 2s)
	Log      *slog.Logger
	// Batch, when set, limits claims to users of this batch (batch run).
	Batch string
	// Now is the clock (tests).
	Now func() time.Time

	wake chan struct{}
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
	s.wake = make(chan struct{}, s.Workers)
}

// Serve runs workers until ctx is done, then releases its leases. Passes
// under way are cancelled and commit what they did.
func (s *Scheduler) Serve(ctx context.Context) error {
	s.defaults()
	var wg sync.WaitGroup
	for i := 0; i < s.Workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.worker(ctx, func() bool { return false })
		}()
	}
	wg.Wait()
	return s.Store.ReleaseAll(context.WithoutCancel(ctx), s.Owner)
}

// Drain runs workers until no claim succeeds for a whole idle poll while
// idle() reports true (nothing due, nothing leased): `batch run`.
func (s *Scheduler) Drain(ctx context.Context, idle func() bool) error {
	s.defaults()
	var wg sync.WaitGroup
	for i := 0; i < s.Workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.worker(ctx, idle)
		}()
	}
	wg.Wait()
	err := s.Store.ReleaseAll(context.WithoutCancel(ctx), s.Owner)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

func (s *Scheduler) worker(ctx context.Context, done func() bool) {
	for ctx.Err() == nil {
		s.Store.FinishRemovals(ctx)
		c, err := s.Store.Claim(ctx, s.Owner, s.Batch, s.Now(), s.LeaseTTL)
		if err != nil && ctx.Err() == nil {
			s.Log.Error("claim work", "err", err)
		}
		if c != nil {
			s.pass(ctx, c)
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
func (s *Scheduler) pass(ctx context.Context, c *migration.Claim) {
	log := s.Log.With("batch", c.Batch.Name, "user", c.User.EmailAddress, "kind", c.Kind)
	passCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	hbDone := make(chan struct{})
	go func() {
		defer close(hbDone)
		t := time.NewTicker(s.LeaseTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-passCtx.Done():
				return
			case <-t.C:
				intent, err := s.Store.Heartbeat(context.WithoutCancel(ctx), c.User.ID, s.Owner, s.Now().Add(s.LeaseTTL))
				switch {
				case errors.Is(err, migration.ErrNotFound):
					cancel(errLeaseLost)
					return
				case err != nil:
					log.Warn("heartbeat", "err", err)
				case intent == migration.IntentStopped:
					cancel(ErrStopped)
					return
				case intent == migration.IntentRemoving:
					cancel(ErrRemoved)
					return
				}
			}
		}
	}()
	log.Info("pass starting")
	o := s.runContained(passCtx, c, log)
	cancel(nil)
	<-hbDone
	if errors.Is(context.Cause(passCtx), errLeaseLost) {
		log.Warn("lease lost: another worker owns this user now")
		return
	}
	if err := s.Store.Finish(context.WithoutCancel(ctx), c.User.ID, s.Owner, o); err != nil {
		log.Error("record outcome", "err", err)
		return
	}
	log.Info("pass done", "status", o.Status, "copied", o.Copied, "error", o.Error)
}

// runContained runs a pass, and turns a panic in it into a failure of that
// user alone: the process and every other pass go on.
func (s *Scheduler) runContained(ctx context.Context, c *migration.Claim, log *slog.Logger) (o migration.Outcome) {
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		log.Error("internal error in a pass", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
		u := c.User
		now := s.Now()
		o = migration.Outcome{Status: migration.UserIncrementalFailed, Error: fmt.Sprintf("internal error: panic: %v", v),
			Copied: u.ItemsSynced, Skipped: u.SkippedBy, Bytes: u.BytesSynced, Folders: u.Folders, Attempts: u.Attempts + 1, At: now}
		switch c.Kind {
		case "initial":
			o.Status = migration.UserFailed
		case "incremental":
			o.NextDue = now.Add(c.Batch.IncrementalInterval)
		}
	}()
	return s.Run(ctx, c)
}

// Causes of a pass's cancellation, for the Runner to tell apart.
var (
	ErrStopped   = errors.New("batch stopped")
	ErrRemoved   = errors.New("batch removed")
	errLeaseLost = errors.New("lease lost")
)
