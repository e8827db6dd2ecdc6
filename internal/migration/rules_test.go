package migration

import (
	"errors"
	"testing"
	"time"
)

var (
	t0    = time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)
	later = t0.Add(time.Hour)
)

func TestCommand(t *testing.T) {
	tests := []struct {
		name   string
		intent Intent
		in     Standing
		want   Standing
	}{
		// Start.
		{"start queued", IntentRunning, Standing{Status: UserQueued}, Standing{Status: UserQueued, NextDue: t0}},
		{"start retries a failed user", IntentRunning, Standing{Status: UserFailed, Attempts: 6, Error: "auth"},
			Standing{Status: UserQueued, NextDue: t0}},
		{"start retries a failed incremental as Synced", IntentRunning, Standing{Status: UserIncrementalFailed, Synced: true, Attempts: 2, Error: "x", NextDue: later},
			Standing{Status: UserSynced, Synced: true, NextDue: t0}},
		{"start resumes a stopped synced user", IntentRunning, Standing{Status: UserStopped, Synced: true}, Standing{Status: UserSynced, Synced: true, NextDue: t0}},
		{"start resumes Stopping left by a dead worker", IntentRunning, Standing{Status: UserStopping}, Standing{Status: UserQueued, NextDue: t0}},
		{"start keeps a synced user's schedule", IntentRunning, Standing{Status: UserSynced, Synced: true, NextDue: later},
			Standing{Status: UserSynced, Synced: true, NextDue: later}},
		{"start schedules a synced user without one", IntentRunning, Standing{Status: UserSynced, Synced: true},
			Standing{Status: UserSynced, Synced: true, NextDue: t0}},
		{"start leaves a leased user to its pass", IntentRunning, Standing{Status: UserStopping, Leased: true},
			Standing{Status: UserStopping, Leased: true}},
		{"start leaves a completed user", IntentRunning, Standing{Status: UserCompleted, Synced: true}, Standing{Status: UserCompleted, Synced: true}},
		// Stop.
		{"stop a leased user: Stopping", IntentStopped, Standing{Status: UserSyncing, Leased: true, NextDue: t0},
			Standing{Status: UserStopping, Leased: true, NextDue: t0}},
		{"stop a waiting user: Stopped, nothing due", IntentStopped, Standing{Status: UserSynced, Synced: true, NextDue: later},
			Standing{Status: UserStopped, Synced: true}},
		{"stop keeps a completed user", IntentStopped, Standing{Status: UserCompletedWithWarnings}, Standing{Status: UserCompletedWithWarnings}},
		// Complete.
		{"complete: due at once, attempts reset", IntentCompleting, Standing{Status: UserIncrementalFailed, Synced: true, Attempts: 3, NextDue: later},
			Standing{Status: UserIncrementalFailed, Synced: true, NextDue: t0}},
		{"complete leaves a completed user", IntentCompleting, Standing{Status: UserCompleted}, Standing{Status: UserCompleted}},
		// Remove.
		{"remove", IntentRemoving, Standing{Status: UserSyncing, Leased: true, NextDue: t0}, Standing{Status: UserRemoving, Leased: true}},
		// Nothing else moves users.
		{"created", IntentCreated, Standing{Status: UserQueued}, Standing{Status: UserQueued}},
	}
	for _, tt := range tests {
		if got := Command(tt.intent, tt.in, t0); got != tt.want {
			t.Errorf("%s: Command(%s, %+v) = %+v, want %+v", tt.name, tt.intent, tt.in, got, tt.want)
		}
	}
}

func TestDue(t *testing.T) {
	tests := []struct {
		intent Intent
		in     Standing
		kind   PassKind
		ok     bool
	}{
		{IntentRunning, Standing{NextDue: t0}, PassInitial, true},
		{IntentRunning, Standing{NextDue: t0, Synced: true}, PassIncremental, true},
		{IntentCompleting, Standing{NextDue: t0, Synced: true}, PassFinal, true},
		{IntentCompleting, Standing{NextDue: t0}, PassFinal, true}, // never synced: the final pass is its first
		{IntentRunning, Standing{NextDue: later}, "", false},       // not yet
		{IntentRunning, Standing{}, "", false},                     // nothing due
		{IntentRunning, Standing{NextDue: t0, Leased: true}, "", false},
		{IntentStopped, Standing{NextDue: t0}, "", false},
		{IntentCreated, Standing{NextDue: t0}, "", false},
		{IntentRemoving, Standing{NextDue: t0}, "", false},
	}
	for _, tt := range tests {
		kind, ok := Due(tt.intent, tt.in, t0)
		if kind != tt.kind || ok != tt.ok {
			t.Errorf("Due(%s, %+v) = %s %v, want %s %v", tt.intent, tt.in, kind, ok, tt.kind, tt.ok)
		}
	}
}

func TestPassKind(t *testing.T) {
	e := &Endpoint{MaxConcurrentMigrations: 7, MaxConcurrentIncrementalSyncs: 3}
	for _, tt := range []struct {
		kind   PassKind
		status UserStatus
		limit  int
	}{
		{PassInitial, UserSyncing, 7},
		{PassIncremental, UserIncrementalSyncing, 3},
		{PassFinal, UserCompleting, 3}, // a final pass counts as incremental
	} {
		if tt.kind.Status() != tt.status || e.Limit(tt.kind) != tt.limit {
			t.Errorf("%s: status %s limit %d", tt.kind, tt.kind.Status(), e.Limit(tt.kind))
		}
	}
}

func TestSettle(t *testing.T) {
	synced := Outcome{Status: UserSynced, At: t0, NextDue: later, FirstSync: true}
	tests := []struct {
		name   string
		intent Intent
		kind   PassKind
		in     Outcome
		want   Outcome
	}{
		{"running: the pass decides", IntentRunning, PassIncremental, synced, synced},
		{"stopped meanwhile", IntentStopped, PassInitial, synced, Outcome{Status: UserStopped, At: t0, FirstSync: true}},
		{"removed meanwhile", IntentRemoving, PassInitial, synced, Outcome{Status: UserRemoving, At: t0, FirstSync: true}},
		{"completed meanwhile: due at once for the final pass", IntentCompleting, PassIncremental, synced,
			Outcome{Status: UserSynced, At: t0, NextDue: t0, FirstSync: true}},
		{"the final pass itself", IntentCompleting, PassFinal, Outcome{Status: UserCompleted, At: t0}, Outcome{Status: UserCompleted, At: t0}},
		{"a failed final pass is retried by complete only", IntentCompleting, PassFinal, Outcome{Status: UserIncrementalFailed, At: t0},
			Outcome{Status: UserIncrementalFailed, At: t0}},
	}
	for _, tt := range tests {
		got := Settle(tt.intent, tt.kind, tt.in)
		if got.Status != tt.want.Status || !got.NextDue.Equal(tt.want.NextDue) || got.FirstSync != tt.want.FirstSync {
			t.Errorf("%s: Settle = %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestEndPass(t *testing.T) {
	boom := errors.New("boom")
	base := Outcome{At: t0, Attempts: 1, Copied: 5}
	tests := []struct {
		name     string
		end      PassEnd
		status   UserStatus
		next     time.Time
		attempts int
		err      string
		first    bool
	}{
		{"initial done", PassEnd{Kind: PassInitial, Interval: time.Hour}, UserSynced, later, 0, "", true},
		{"incremental done", PassEnd{Kind: PassIncremental, Interval: time.Hour}, UserSynced, later, 0, "", true},
		{"final done", PassEnd{Kind: PassFinal, Interval: time.Hour}, UserCompleted, time.Time{}, 0, "", true},
		{"final done with skipped items", PassEnd{Kind: PassFinal, Warnings: 2}, UserCompletedWithWarnings, time.Time{}, 0, "", true},
		{"stopped", PassEnd{Kind: PassInitial, Interrupted: ErrStopped}, UserStopped, time.Time{}, 1, "", false},
		{"removed", PassEnd{Kind: PassIncremental, Interrupted: ErrRemoved}, UserRemoving, time.Time{}, 1, "", false},
		{"shut down: due again at once, elsewhere", PassEnd{Kind: PassInitial, Interrupted: errors.New("shutdown")}, UserQueued, t0, 1, "", false},
		{"shut down, synced user", PassEnd{Kind: PassIncremental, Interrupted: errors.New("shutdown")}, UserSynced, t0, 1, "", false},
		{"transient: retried later", PassEnd{Kind: PassInitial, Err: boom, Transient: true, RetryAt: later, MaxAttempts: 6}, UserQueued, later, 2, "boom", false},
		{"transient, attempts used up", PassEnd{Kind: PassInitial, Err: boom, Transient: true, RetryAt: later, MaxAttempts: 2}, UserFailed, time.Time{}, 2, "boom", false},
		{"fatal initial", PassEnd{Kind: PassInitial, Err: boom, MaxAttempts: 6}, UserFailed, time.Time{}, 2, "boom", false},
		{"fatal incremental: tried again every interval", PassEnd{Kind: PassIncremental, Err: boom, Interval: 24 * time.Hour}, UserIncrementalFailed,
			t0.Add(24 * time.Hour), 2, "boom", false},
		{"fatal final: complete retries it", PassEnd{Kind: PassFinal, Err: boom, Interval: time.Hour}, UserIncrementalFailed, time.Time{}, 2, "boom", false},
	}
	for _, tt := range tests {
		got := EndPass(tt.end, base)
		if got.Status != tt.status || !got.NextDue.Equal(tt.next) || got.Attempts != tt.attempts || got.Error != tt.err || got.FirstSync != tt.first {
			t.Errorf("%s: EndPass = %+v\nwant status %s next %v attempts %d error %q first %v", tt.name, got, tt.status, tt.next, tt.attempts, tt.err, tt.first)
		}
		if got.Copied != 5 || !got.At.Equal(t0) {
			t.Errorf("%s: the counters changed: %+v", tt.name, got)
		}
	}
}
