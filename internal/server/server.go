// Package server builds the service once: the store, the key that seals
// its secrets, the use cases (migration.Service) and the scheduler that
// runs passes. serve, worker, batch run and demo all start from Open.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/auth"
	"github.com/imapmigrate/imapmigrate/internal/imapconn"
	"github.com/imapmigrate/imapmigrate/internal/metrics"
	"github.com/imapmigrate/imapmigrate/internal/migration"
	"github.com/imapmigrate/imapmigrate/internal/scheduler"
	"github.com/imapmigrate/imapmigrate/internal/secret"
	"github.com/imapmigrate/imapmigrate/internal/store"
	"github.com/imapmigrate/imapmigrate/internal/syncer"
)

// Config says where the state is.
type Config struct {
	// DataDir holds the SQLite database (unless DB names one) and the
	// secret key file (unless IMAPMIGRATE_SECRET_KEY is set).
	DataDir string
	// DB is the database: a file path or postgres://…; "" is
	// DataDir/imapmigrate.db.
	DB string
	// MustExist refuses a missing SQLite database instead of creating it.
	MustExist bool
	Log       *slog.Logger
	// Now is the clock (tests); nil is time.Now.
	Now func() time.Time
}

// Server is the opened service.
type Server struct {
	Store   store.Store
	Box     *secret.Box
	Service *migration.Service
	// Auth is the dashboard's accounts, API tokens, sessions and audit log.
	Auth *auth.Service
	Log  *slog.Logger
	// Metrics counts what the process's schedulers do and reads the users
	// by status from the store at each scrape (Metrics.Handler: /metrics).
	Metrics *metrics.Metrics
	// Database names the database, without a password (logs).
	Database string

	closeOnce sync.Once
}

// DatabaseDSN is the database a Config names.
func (c *Config) DatabaseDSN() string {
	if c.DB != "" {
		return c.DB
	}
	return filepath.Join(c.DataDir, "imapmigrate.db")
}

// ErrNoDatabase: see Config.MustExist.
var ErrNoDatabase = store.ErrNoDatabase

// Open opens the store and the key and builds the service.
func Open(ctx context.Context, cfg Config) (*Server, error) {
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dsn := cfg.DatabaseDSN()
	kind, _, err := store.Kind(dsn)
	if err != nil {
		return nil, err
	}
	if kind == "sqlite" && !cfg.MustExist {
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("data directory: %w", err)
		}
	}
	st, err := store.Open(ctx, dsn, store.Options{MustExist: cfg.MustExist})
	if errors.Is(err, store.ErrNoDatabase) {
		return nil, fmt.Errorf("%w: use --data-dir or IMAPMIGRATE_DATA_DIR (or --db / IMAPMIGRATE_DB) to name the directory where `imapmigrate endpoint new` created it", err)
	}
	if err != nil {
		return nil, err
	}
	// The key must be the one that sealed the database's passwords: a
	// missing or other key is refused, not replaced.
	box, err := secret.OpenFor(ctx, cfg.DataDir, st)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("database %s: %w", store.Describe(dsn), err)
	}
	svc := &migration.Service{Store: st, Box: box, Now: cfg.Now, Probe: func(ctx context.Context, cfg *imapconn.Config) error {
		// With a user: log in and list the folders, as a pass begins.
		r := imapconn.Probe(ctx, cfg, cfg.User != "", log)
		if f := r.FirstFailure(); f != nil {
			return &migration.ProbeError{Step: f.Name, Detail: f.Detail, Fix: f.Fix}
		}
		return nil
	}}
	m := metrics.New()
	if err := m.CollectUsers(st, 0); err != nil {
		st.Close()
		return nil, err
	}
	return &Server{Store: st, Box: box, Service: svc, Auth: &auth.Service{Store: st, Now: cfg.Now, Log: log}, Log: log, Metrics: m, Database: store.Describe(dsn)}, nil
}

// Close closes the store; it is safe to call twice.
func (s *Server) Close() error {
	var err error
	s.closeOnce.Do(func() { err = s.Store.Close() })
	return err
}

// WorkerOptions tune the scheduler of serve, worker and batch run.
type WorkerOptions struct {
	Name            string // the worker's name ("" is host/pid)
	Workers         int
	LeaseTTL        time.Duration
	Poll            time.Duration
	Progress        time.Duration
	ParallelFolders int
	RetryBase       time.Duration
	MaxAttempts     int
	Version         string
	// Conns wraps connection factories (tests, the demo).
	Conns func(side string, f syncer.Conns) syncer.Conns
	Now   func() time.Time
}

// Scheduler is a scheduler running passes with package syncer; batch, when
// set, limits it to that batch; onEvent (optional) sees every event.
func (s *Server) Scheduler(o WorkerOptions, batch string, onEvent func(email string, e syncer.Event)) *scheduler.Scheduler {
	runner := &scheduler.SyncRunner{States: s.Store, Box: s.Box, Log: s.Log, OnEvent: onEvent, RetryBase: o.RetryBase, MaxAttempts: o.MaxAttempts,
		Conns: o.Conns, Now: o.Now, Options: syncer.Options{ParallelFolders: o.ParallelFolders, Retry: syncer.Retry{Base: time.Second}}}
	return &scheduler.Scheduler{Store: s.Store, Run: runner.Run, Owner: o.Name, Workers: o.Workers, LeaseTTL: o.LeaseTTL,
		Poll: o.Poll, Progress: o.Progress, Log: s.Log, Batch: batch, Version: o.Version, Now: o.Now, Observer: s.Metrics}
}

// Runner runs a scheduler in the background: Stop stops it claiming,
// cancels the passes under way (they commit their state and their users
// are released) and waits; Stop is safe to call twice, and from several
// goroutines.
type Runner struct {
	cancel context.CancelFunc
	done   chan struct{}
	err    error
	once   sync.Once
}

// Start runs sched.Serve until Stop or ctx's end.
func Start(ctx context.Context, sched *scheduler.Scheduler) *Runner {
	ctx, cancel := context.WithCancel(ctx)
	r := &Runner{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.err = sched.Serve(ctx)
	}()
	return r
}

// Done is closed when the scheduler has stopped.
func (r *Runner) Done() <-chan struct{} { return r.done }

// Stop stops the scheduler and returns its error.
func (r *Runner) Stop() error {
	r.once.Do(r.cancel)
	<-r.done
	return r.err
}
