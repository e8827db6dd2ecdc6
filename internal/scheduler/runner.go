package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/imapconn"
	"github.com/imapmigrate/imapmigrate/internal/migration"
	"github.com/imapmigrate/imapmigrate/internal/syncer"
)

// StateStore opens a user's sync state.
type StateStore interface {
	UserState(ctx context.Context, userID int64) (syncer.State, error)
}

// SyncedTotals is what a StateStore may also tell: the messages (and
// bytes) a user's sync state maps to the target, and its skipped messages
// by reason. When it does, a pass's outcome counts from it.
type SyncedTotals interface {
	SyncedTotals(ctx context.Context, userID int64) (items int, bytes int64, skipped map[string]int, err error)
}

// SyncRunner is the Runner that runs package syncer for a user.
type SyncRunner struct {
	States StateStore
	Box    migration.Unsealer
	Log    *slog.Logger
	// Conns wraps the connection factories (e.g. to count sessions); nil:
	// use them as they are.
	Conns func(side string, f syncer.Conns) syncer.Conns
	// Options for every user (batch settings override size and exclusions).
	Options syncer.Options
	// OnEvent receives the syncer's progress, per user.
	OnEvent func(email string, e syncer.Event)
	// MaxAttempts of a user whose server fails transiently, before Failed.
	MaxAttempts int
	// RetryBase is the first wait after such a failure (default 30s).
	RetryBase time.Duration
	// Now is the clock that dates outcomes and next passes (default
	// time.Now); it must be the scheduler's, so that tests can drive both.
	Now func() time.Time
}

// Run does one pass and turns its result into the user's next status
// (migration.EndPass decides).
func (r *SyncRunner) Run(ctx context.Context, c *migration.Claim, m *Meter) migration.Outcome {
	now := time.Now()
	if r.Now != nil {
		now = r.Now()
	}
	u := c.User
	o := migration.Outcome{Copied: u.ItemsSynced, Skipped: copyMap(u.SkippedBy), Bytes: u.BytesSynced, Folders: u.Folders,
		Attempts: u.Attempts, At: now}
	res, err := r.sync(ctx, c, m)
	m.Ended(res, err)
	if res != nil {
		o.Copied += res.Copied + res.Matched
		o.Bytes += res.Bytes
		o.Folders = res.FoldersSynced
		for k, v := range res.Skipped {
			if o.Skipped == nil {
				o.Skipped = make(map[string]int)
			}
			o.Skipped[string(k)] += v
		}
		if err == nil && res.FoldersFailed > 0 {
			err = folderErrors(res)
		}
	}
	// The sync state knows what is on the target, including what a pass
	// whose worker was killed committed but never recorded in the user's
	// counters (which the sums above would then miss for good).
	if t, ok := r.States.(SyncedTotals); ok {
		if items, bytes, skipped, terr := t.SyncedTotals(context.WithoutCancel(ctx), u.ID); terr == nil {
			o.Copied, o.Bytes, o.Skipped = items, bytes, skipped
		} else if r.Log != nil {
			r.Log.Warn("read the sync state's totals", "user", u.EmailAddress, "err", terr)
		}
	}
	end := migration.PassEnd{Kind: c.Kind, Err: err, MaxAttempts: r.maxAttempts(), Interval: time.Duration(c.Batch.IncrementalInterval),
		Warnings: sum(o.Skipped) - o.Skipped[string(syncer.SkipFiltered)]}
	if ctx.Err() != nil {
		end.Interrupted = context.Cause(ctx)
		if end.Interrupted == nil || errors.Is(end.Interrupted, context.Canceled) {
			end.Interrupted = context.Canceled
		}
	}
	if err != nil && imapconn.ClassOf(err) == imapconn.Transient {
		end.Transient = true
		end.RetryAt = now.Add(r.backoff(o.Attempts+1, imapconn.SuggestedBackoff(err)))
	}
	return migration.EndPass(end, o)
}

func (r *SyncRunner) sync(ctx context.Context, c *migration.Claim, m *Meter) (*syncer.Result, error) {
	src, err := c.SourceConfig(r.Box)
	if err != nil {
		return nil, err
	}
	tgt, err := c.TargetConfig(ctx, r.Box)
	if err != nil {
		return nil, err
	}
	state, err := r.States.UserState(ctx, c.User.ID)
	if err != nil {
		return nil, err
	}
	log := r.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("batch", c.Batch.Name, "user", c.User.EmailAddress)
	var srcConns, tgtConns syncer.Conns = &imapconn.Factory{Config: src, Log: log}, &imapconn.Factory{Config: tgt, Log: log}
	if r.Conns != nil {
		srcConns, tgtConns = r.Conns("source", srcConns), r.Conns("target", tgtConns)
	}
	opts := r.Options
	opts.UserRoot = c.User.UserRoot
	opts.Exclude = append(append([]string(nil), opts.Exclude...), c.Batch.ExcludeFolders...)
	if c.Batch.MaxMessageSize > 0 {
		opts.MaxMessageSize = c.Batch.MaxMessageSize
	}
	opts.ReceivedAfter = c.Batch.ReceivedAfter
	if opts.Retry.Attempts == 0 {
		opts.Retry.Attempts = 3 // then the scheduler backs off without holding the slot
	}
	s := &syncer.Syncer{Source: srcConns, Target: tgtConns, State: state, Options: opts, Log: log}
	email := c.User.EmailAddress
	s.OnEvent = func(e syncer.Event) {
		if m != nil {
			m.Event(e)
		}
		if r.OnEvent != nil {
			r.OnEvent(email, e)
		}
	}
	return s.Run(ctx)
}

func folderErrors(res *syncer.Result) error {
	var parts []string
	class := imapconn.Fatal
	for _, f := range res.Folders {
		if f.Error != "" {
			parts = append(parts, fmt.Sprintf("%s: %s", f.Source, f.Error))
		}
	}
	if len(parts) > 3 {
		parts = append(parts[:3], fmt.Sprintf("and %d more folders", len(parts)-3))
	}
	return &imapconn.Error{Class: class, Err: errors.New(strings.Join(parts, "; "))}
}

func (r *SyncRunner) maxAttempts() int {
	if r.MaxAttempts > 0 {
		return r.MaxAttempts
	}
	return 6
}

func (r *SyncRunner) backoff(attempt int, suggested time.Duration) time.Duration {
	base := r.RetryBase
	if base <= 0 {
		base = 30 * time.Second
	}
	d := base << min(attempt-1, 10)
	d = d/2 + rand.N(d/2+1)
	return max(d, suggested)
}

func copyMap(m map[string]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
