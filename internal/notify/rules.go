package notify

import (
	"time"

	"github.com/imapmigrate/imapmigrate/internal/migration"
)

// Event is a report e-mail a batch is due, as Events decides.
type Event struct {
	Kind migration.NotificationKind
	Seq  int
	// At is when it became due: the batch's last sync for the initial
	// sync and completion, the end of the interval for a report.
	At time.Time
}

// Events are the report e-mails batch b (its status derived, as
// Service.Batch returns it) is due at now, as Exchange Online sends them:
//
//   - InitialSyncCompleted (Seq 0) once every user has had its initial
//     sync, or failed it: the batch is Synced, SyncedWithErrors or
//     IncrementalSyncing. Not for a batch already completed (Completed
//     says it all).
//   - Completed (Seq 0) once the batch is Completed, CompletedWithErrors
//     or CompletedWithWarnings.
//   - Report while the batch syncs (started, neither stopped nor
//     completed), at the end of each ReportInterval since it was started:
//     its Seq is that end, in seconds since the start (so that a changed
//     interval neither repeats nor skips a report). Only the latest is
//     due: a notifier that was down for days sends one report, not one
//     per missed interval.
//
// Nothing is due for a batch without NotificationEmails, or never started.
// Events is a pure function: whichever process calls it decides the same,
// and the outbox's (batch, kind, seq) makes each mail one row.
func Events(b *migration.Batch, now time.Time) []Event {
	if len(b.NotificationEmails) == 0 || b.StartedAt.IsZero() {
		return nil
	}
	var out []Event
	at := b.LastSynced
	if at.IsZero() {
		at = now
	}
	switch b.Status {
	case migration.BatchCompleted, migration.BatchCompletedWithErrors, migration.BatchCompletedWithWarnings:
		return []Event{{Kind: migration.NotifyCompleted, At: at}}
	case migration.BatchSynced, migration.BatchSyncedWithErrors, migration.BatchIncrementalSyncing:
		out = append(out, Event{Kind: migration.NotifyInitialSyncCompleted, At: at})
	}
	switch b.Status {
	case migration.BatchSyncing, migration.BatchSynced, migration.BatchSyncedWithErrors, migration.BatchIncrementalSyncing, migration.BatchCompleting:
		interval := time.Duration(b.ReportInterval)
		if interval <= 0 {
			interval = migration.DefaultReportInterval
		}
		if k := now.Sub(b.StartedAt) / interval; k >= 1 {
			end := k * interval
			out = append(out, Event{Kind: migration.NotifyReport, Seq: int(end / time.Second), At: b.StartedAt.Add(end)})
		}
	}
	return out
}
