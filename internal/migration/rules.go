package migration

import "time"

// The rules that move a migration user from one status to the next live
// here, as pure functions; the stores only load what the rules need, call
// them and persist what they decide, under their own locking. BatchStatusOf
// (status.go) is the one rule for a batch.

// PassKind is the kind of a sync pass.
type PassKind string

const (
	PassInitial     PassKind = "initial"     // until the user's first complete pass
	PassIncremental PassKind = "incremental" // every IncrementalInterval after it
	PassFinal       PassKind = "final"       // the last one, asked by complete
)

// Status is what a user in a pass of this kind shows.
func (k PassKind) Status() UserStatus {
	switch k {
	case PassInitial:
		return UserSyncing
	case PassFinal:
		return UserCompleting
	}
	return UserIncrementalSyncing
}

// Slot is the endpoint limit a pass of this kind counts against: initial
// passes against MaxConcurrentMigrations, the others against
// MaxConcurrentIncrementalSyncs.
func (k PassKind) Slot() PassKind {
	if k == PassInitial {
		return PassInitial
	}
	return PassIncremental
}

// Limit is how many passes of kind k the endpoint allows at once, over
// every worker of every process.
func (e *Endpoint) Limit(k PassKind) int {
	if k.Slot() == PassInitial {
		return e.MaxConcurrentMigrations
	}
	return e.MaxConcurrentIncrementalSyncs
}

// Standing is the part of a migration user that the rules read and decide.
type Standing struct {
	Status   UserStatus
	NextDue  time.Time // zero: nothing due
	Attempts int
	Error    string

	// Read only: facts the rules go by.
	Synced bool // a first pass has completed (FirstSync is set)
	Leased bool // a worker holds the user now
}

func (s Standing) completed() bool {
	return s.Status == UserCompleted || s.Status == UserCompletedWithWarnings
}

// Command is what a batch command (the batch's new intent) does to one of
// its users at now. A user that a worker holds keeps its pass; the worker
// learns of the command at its next heartbeat and Settle applies it.
func Command(intent Intent, s Standing, now time.Time) Standing {
	switch intent {
	case IntentRunning:
		// Start (again): waiting, stopped and failed users are retried.
		if s.Leased {
			return s
		}
		switch s.Status {
		case UserQueued, UserStopping, UserStopped, UserFailed, UserIncrementalFailed:
			s.Status = UserQueued
			if s.Synced {
				s.Status = UserSynced
			}
			s.NextDue, s.Attempts, s.Error = now, 0, ""
		case UserSynced:
			if s.NextDue.IsZero() {
				s.NextDue = now
			}
		}
	case IntentStopped:
		switch {
		case s.Leased:
			s.Status = UserStopping
		case !s.completed():
			s.Status, s.NextDue = UserStopped, time.Time{}
		}
	case IntentCompleting:
		if !s.completed() {
			s.NextDue, s.Attempts = now, 0
		}
	case IntentRemoving:
		s.Status, s.NextDue = UserRemoving, time.Time{}
	}
	return s
}

// Due says whether a user of a batch with this intent may be claimed at
// now, and for which kind of pass.
func Due(intent Intent, s Standing, now time.Time) (PassKind, bool) {
	if s.Leased || s.NextDue.IsZero() || s.NextDue.After(now) {
		return "", false
	}
	switch intent {
	case IntentCompleting:
		return PassFinal, true
	case IntentRunning:
		if !s.Synced {
			return PassInitial, true
		}
		return PassIncremental, true
	}
	return "", false
}

// Settle is the outcome recorded for a pass of kind that ended with o,
// given what was asked of the batch meanwhile (intent), which wins over the
// pass's own view: a pass that ended normally after a stop leaves the user
// Stopped, and one that ended after a complete (but was not the final
// pass) makes the user due at once for it.
func Settle(intent Intent, kind PassKind, o Outcome) Outcome {
	switch {
	case intent == IntentStopped:
		o.Status, o.NextDue = UserStopped, time.Time{}
	case intent == IntentRemoving:
		o.Status, o.NextDue = UserRemoving, time.Time{}
	case intent == IntentCompleting && kind != PassFinal && o.Status != UserCompleted && o.Status != UserCompletedWithWarnings:
		o.NextDue = o.At
	}
	return o
}

// PassEnd is how a pass ended, as its runner saw it.
type PassEnd struct {
	Kind PassKind
	// Cause is why the pass was cut short, or nil: ErrStopped or
	// ErrRemoved (the batch), or any other error (the process is shutting
	// down).
	Interrupted error
	Err         error // the pass failed
	Transient   bool  // …in a way that another attempt may cure
	// RetryAt is when a transient failure is retried, unless the user has
	// had MaxAttempts already.
	RetryAt     time.Time
	MaxAttempts int
	// Warnings: items skipped for a reason other than the batch's own
	// filters (too large, unreadable…); a final pass with any ends
	// CompletedWithWarnings.
	Warnings int
	Interval time.Duration // the batch's IncrementalInterval
}

// Causes of a pass's interruption that come from the batch.
var (
	ErrStopped = errorString("batch stopped")
	ErrRemoved = errorString("batch removed")
)

type errorString string

func (e errorString) Error() string { return string(e) }

// EndPass decides the outcome of a pass: o carries the counters (and the
// user's Attempts before the pass, and At); the status, error, next due
// time and attempts are set here.
func EndPass(p PassEnd, o Outcome) Outcome {
	waiting, failed := UserSynced, UserIncrementalFailed
	if p.Kind == PassInitial {
		waiting, failed = UserQueued, UserFailed
	}
	switch {
	case p.Interrupted == ErrStopped:
		o.Status, o.NextDue = UserStopped, time.Time{}
		return o
	case p.Interrupted == ErrRemoved:
		o.Status, o.NextDue = UserRemoving, time.Time{}
		return o
	case p.Interrupted != nil:
		// The process is shutting down: due again at once, elsewhere.
		o.Status, o.NextDue = waiting, o.At
		return o
	}
	if p.Err != nil {
		o.Error = p.Err.Error()
		o.Attempts++
		if p.Transient && o.Attempts < max(p.MaxAttempts, 1) {
			o.Status, o.NextDue = waiting, p.RetryAt
			return o
		}
		o.Status, o.NextDue = failed, time.Time{}
		if p.Kind == PassIncremental {
			o.NextDue = o.At.Add(p.Interval) // keep trying every interval
		}
		return o
	}
	o.Error, o.Attempts, o.FirstSync = "", 0, true
	if p.Kind == PassFinal {
		o.Status, o.NextDue = UserCompleted, time.Time{}
		if p.Warnings > 0 {
			o.Status = UserCompletedWithWarnings
		}
		return o
	}
	o.Status, o.NextDue = UserSynced, o.At.Add(p.Interval)
	return o
}

// A worker records its sign of life every WorkerSeenEvery; one not seen
// for WorkerTimeout is gone.
const (
	WorkerSeenEvery = 15 * time.Second
	WorkerTimeout   = 4 * WorkerSeenEvery
)
