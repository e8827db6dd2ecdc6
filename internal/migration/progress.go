package migration

import (
	"fmt"
	"math"
	"time"
)

// The arithmetic of progress: pure functions of what the store holds and
// the time of reading, so that every process (the worker, `user get` in
// another shell, the dashboard) shows the same numbers.

// Percent is how much of the pass's estimate is done, from 0 to 100: 0
// while the estimate is not known, 100 once the pass has done at least its
// estimate, and below 100 as long as any item of the estimate is left.
func (p *PassProgress) Percent() int {
	if p == nil {
		return 0
	}
	return percent(p.Items, p.ItemsTotal)
}

// Rate is the pass's speed in items a second since it started, at now: 0
// when it has done nothing yet or no time has passed (or the clocks
// disagree).
func (p *PassProgress) Rate(now time.Time) float64 {
	if p == nil || p.Started.IsZero() || p.Items <= 0 {
		return 0
	}
	secs := now.Sub(p.Started).Seconds()
	if secs <= 0 {
		return 0
	}
	return float64(p.Items) / secs
}

// ETA is how long the pass will take still at the rate it has had, at
// now; 0 when that is not known (no estimate, no rate yet) or nothing is
// left.
func (p *PassProgress) ETA(now time.Time) time.Duration {
	if p == nil {
		return 0
	}
	return eta(p.ItemsTotal-p.Items, p.Rate(now))
}

// Derive fills the fields shown with a pass (PercentageComplete,
// ItemsPerSecond, EstimatedTimeRemaining) from its counts, at now.
func (p *PassProgress) Derive(now time.Time) {
	if p == nil {
		return
	}
	p.PercentComplete = p.Percent()
	p.ItemsPerSecond = p.Rate(now)
	p.TimeRemaining = TimeSpan(p.ETA(now))
}

// percent is done of total in whole percent, 0 to 100.
func percent(done, total int64) int {
	switch {
	case total <= 0 || done <= 0:
		return 0
	case done >= total:
		return 100
	}
	// In floating point: done*100 may not fit in an int64.
	return min(int(float64(done)*100/float64(total)), 99)
}

// maxETA bounds an estimate (a rate of one item a year for a million items
// is no estimate at all, and time.Duration ends at 292 years).
const maxETA = 100 * 365 * 24 * time.Hour

// eta is how long left items take at rate items a second, rounded up to a
// whole second; 0 when unknown or nothing is left.
func eta(left int64, rate float64) time.Duration {
	if left <= 0 || !(rate > 0) || math.IsInf(rate, 1) {
		return 0
	}
	secs := math.Ceil(float64(left) / rate)
	if secs >= maxETA.Seconds() {
		return maxETA
	}
	return time.Duration(secs) * time.Second
}

// PassesProgress is the passes under way in a batch, added up: what the
// batch has done in them so far, the rate of all of them together, and
// when the last of them will be done.
type PassesProgress struct {
	Passes          int      `json:"ActiveCount"`
	Items           int64    `json:"ItemsSyncedThisPass"`
	Bytes           int64    `json:"BytesSyncedThisPass"`
	ItemsTotal      int64    `json:"EstimatedItemsThisPass"`
	PercentComplete int      `json:"PercentageComplete"`
	ItemsPerSecond  float64  `json:"ItemsPerSecond"`
	TimeRemaining   TimeSpan `json:"EstimatedTimeRemaining,omitzero"`
}

// SumPasses adds up passes at now. The rate is the sum of the passes'
// rates, the time remaining that of the pass that will end last.
func SumPasses(passes []PassProgress, now time.Time) PassesProgress {
	var s PassesProgress
	for i := range passes {
		p := &passes[i]
		s.Passes++
		s.Items += max(p.Items, 0)
		s.Bytes += max(p.Bytes, 0)
		s.ItemsTotal += max(p.ItemsTotal, p.Items, 0)
		s.ItemsPerSecond += p.Rate(now)
		s.TimeRemaining = max(s.TimeRemaining, TimeSpan(p.ETA(now)))
	}
	s.PercentComplete = percent(s.Items, s.ItemsTotal)
	return s
}

// TimeSpan is a duration as Exchange shows one: [d.]hh:mm:ss, in JSON and
// in text ("00:08:20", "1.02:03:04").
type TimeSpan time.Duration

func (d TimeSpan) String() string {
	sign := ""
	if d < 0 {
		sign, d = "-", -d
	}
	secs := int64(time.Duration(d) / time.Second)
	days, secs := secs/86400, secs%86400
	s := fmt.Sprintf("%02d:%02d:%02d", secs/3600, secs/60%60, secs%60)
	if days > 0 {
		s = fmt.Sprintf("%d.%s", days, s)
	}
	return sign + s
}

// MarshalText makes a TimeSpan a JSON string.
func (d TimeSpan) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// BatchSyncs is what a batch's users' syncs add up to, as the store reads
// them (Store.BatchSyncs).
type BatchSyncs struct {
	FirstSynced  int            // users whose initial sync is done
	FirstSyncMax time.Time      // the latest of their first syncs
	LastSyncMax  time.Time      // the latest sync of any user
	Passes       []PassProgress // the passes under way
}

// Summarize fills a batch's status and the figures Get-MigrationBatch
// shows from its users' statuses and syncs, at now:
//
//   - TotalCount: its users; SyncedCount: those synced and syncing on
//     (Synced, IncrementalSyncing, Completing); FinalizedCount: those
//     completed; FailedCount: those failed (initial or incremental).
//   - PercentageComplete: the share of its users whose initial sync is
//     done.
//   - InitialSyncDuration: from its start until the last user's first
//     sync, or until now while some user has not had one and the batch
//     runs; nothing for a batch not started, or stopped before that.
//   - LastSyncedTime: the latest sync of any user.
//   - ActivePasses: the passes under way, added up.
func (b *Batch) Summarize(statuses []UserStatus, s BatchSyncs, now time.Time) {
	b.Status = BatchStatusOf(b.Intent, statuses)
	b.Users = len(statuses)
	b.Counts = make(map[UserStatus]int)
	for _, st := range statuses {
		b.Counts[st]++
	}
	b.SyncedCount = b.Counts[UserSynced] + b.Counts[UserIncrementalSyncing] + b.Counts[UserCompleting]
	b.FinalizedCount = b.Counts[UserCompleted] + b.Counts[UserCompletedWithWarnings]
	b.FailedCount = b.Counts[UserFailed] + b.Counts[UserIncrementalFailed]
	b.PercentComplete = percent(int64(s.FirstSynced), int64(b.Users))
	b.LastSynced = s.LastSyncMax
	b.InitialSyncDuration = 0
	switch {
	case b.StartedAt.IsZero():
	case b.Users > 0 && s.FirstSynced >= b.Users:
		b.InitialSyncDuration = TimeSpan(max(s.FirstSyncMax.Sub(b.StartedAt), 0))
	case b.Intent == IntentRunning || b.Intent == IntentCompleting:
		b.InitialSyncDuration = TimeSpan(max(now.Sub(b.StartedAt), 0))
	}
	b.ActivePasses = nil
	if len(s.Passes) > 0 {
		sum := SumPasses(s.Passes, now)
		b.ActivePasses = &sum
	}
}
