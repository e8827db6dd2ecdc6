package scheduler

import (
	"time"

	"github.com/imapmigrate/imapmigrate/internal/migration"
	"github.com/imapmigrate/imapmigrate/internal/syncer"
)

// Observer is told what the scheduler's workers do (package metrics counts
// it). Scheduler.Observer may be nil. The methods are called from every
// worker and from the syncer's goroutines of every pass, so they must be
// safe for concurrent use and quick: they run on the passes' path.
type Observer interface {
	// Claimed: a worker leased c's user for a pass; c.TakenOver names the
	// owner whose expired lease it took over.
	Claimed(c *migration.Claim)
	// PassEvent: an event of c's pass, as the syncer reported it.
	PassEvent(c *migration.Claim, e syncer.Event)
	// PassEnded: c's pass is over (every Claimed is followed by one
	// PassEnded, recorded in the store or not).
	PassEnded(c *migration.Claim, r PassReport)
}

// PassReport is how a pass ended.
type PassReport struct {
	// Outcome is what the runner returned; Finish then settles it with
	// the batch's intent (migration.Settle).
	Outcome migration.Outcome
	// Result is this pass's own counts, and Err the error the sync ended
	// with, as the runner told the Meter (Meter.Ended); Result is nil when
	// it did not (a runner other than SyncRunner, a panic, a pass that
	// failed before it reached the servers).
	Result *syncer.Result
	Err    error
	// Duration is the pass's, on the scheduler's clock.
	Duration time.Duration
	// LeaseLost: another worker took the user over; the outcome was not
	// recorded.
	LeaseLost bool
}
