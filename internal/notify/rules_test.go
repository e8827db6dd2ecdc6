package notify

import (
	"reflect"
	"testing"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/migration"
)

func TestEvents(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	last := t0.Add(90 * time.Minute)
	batch := func(st migration.BatchStatus, interval time.Duration) *migration.Batch {
		return &migration.Batch{Name: "B", Status: st, StartedAt: t0, LastSynced: last, NotificationEmails: []string{"a@x.example"},
			ReportInterval: migration.TimeSpan(interval)}
	}
	initial := Event{Kind: migration.NotifyInitialSyncCompleted, At: last}
	report := func(end time.Duration) Event {
		return Event{Kind: migration.NotifyReport, Seq: int(end / time.Second), At: t0.Add(end)}
	}
	tests := []struct {
		name string
		b    *migration.Batch
		now  time.Time
		want []Event
	}{
		{"no addresses", &migration.Batch{Status: migration.BatchSynced, StartedAt: t0}, t0.Add(48 * time.Hour), nil},
		{"never started", &migration.Batch{Status: migration.BatchCreated, NotificationEmails: []string{"a@x.example"}}, t0.Add(48 * time.Hour), nil},
		{"syncing, first interval", batch(migration.BatchSyncing, time.Hour), t0.Add(59 * time.Minute), nil},
		{"syncing, after one interval", batch(migration.BatchSyncing, time.Hour), t0.Add(61 * time.Minute), []Event{report(time.Hour)}},
		{"syncing, the latest interval only", batch(migration.BatchSyncing, time.Hour), t0.Add(5*time.Hour + time.Minute), []Event{report(5 * time.Hour)}},
		{"default interval", batch(migration.BatchSyncing, 0), t0.Add(25 * time.Hour), []Event{report(24 * time.Hour)}},
		{"synced", batch(migration.BatchSynced, time.Hour), t0.Add(30 * time.Minute), []Event{initial}},
		{"synced with errors, and a report", batch(migration.BatchSyncedWithErrors, time.Hour), t0.Add(2 * time.Hour), []Event{initial, report(2 * time.Hour)}},
		{"incremental syncing", batch(migration.BatchIncrementalSyncing, 24*time.Hour), t0.Add(time.Hour), []Event{initial}},
		{"completing: reports go on", batch(migration.BatchCompleting, time.Hour), t0.Add(3 * time.Hour), []Event{report(3 * time.Hour)}},
		{"completed: that alone", batch(migration.BatchCompleted, time.Hour), t0.Add(3 * time.Hour), []Event{{Kind: migration.NotifyCompleted, At: last}}},
		{"completed with errors", batch(migration.BatchCompletedWithErrors, time.Hour), t0.Add(3 * time.Hour), []Event{{Kind: migration.NotifyCompleted, At: last}}},
		{"completed with warnings", batch(migration.BatchCompletedWithWarnings, time.Hour), t0.Add(3 * time.Hour), []Event{{Kind: migration.NotifyCompleted, At: last}}},
		{"stopped: nothing", batch(migration.BatchStopped, time.Hour), t0.Add(3 * time.Hour), nil},
		{"failed: nothing", batch(migration.BatchFailed, time.Hour), t0.Add(3 * time.Hour), nil},
		{"removing: nothing", batch(migration.BatchRemoving, time.Hour), t0.Add(3 * time.Hour), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Events(tt.b, tt.now); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Events = %+v, want %+v", got, tt.want)
			}
		})
	}

	// A changed interval neither repeats a report nor skips one: the
	// seq is the interval's end, in seconds since the start.
	b := batch(migration.BatchSyncing, time.Hour)
	seen := map[int]bool{}
	for h := 1; h <= 72; h++ {
		for _, e := range Events(b, t0.Add(time.Duration(h)*time.Hour)) {
			seen[e.Seq] = true
		}
	}
	b.ReportInterval = migration.TimeSpan(24 * time.Hour)
	got := Events(b, t0.Add(96*time.Hour+time.Minute))
	if len(got) != 1 || seen[got[0].Seq] || got[0].Seq != 96*3600 {
		t.Errorf("after the interval grew: %+v (seq already used: %v)", got, len(got) == 1 && seen[got[0].Seq])
	}
}
