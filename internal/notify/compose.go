package notify

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/migration"
	"github.com/imapmigrate/imapmigrate/internal/report"
)

// The attachments of every report e-mail.
const (
	StatisticsFile = "MigrationStatistics.csv"
	ErrorsFile     = "MigrationErrors.csv"
)

// StatisticsColumns and ErrorsColumns are the attachments' columns.
var (
	StatisticsColumns = []string{"EmailAddress", "Status", "ItemsMigrated", "ItemsSkipped"}
	ErrorsColumns     = []string{"EmailAddress", "Error"}
)

// maxSkippedRows bounds the skipped items MigrationErrors.csv lists (the
// rest are counted in one last row); the users' errors are all listed.
const maxSkippedRows = 5000

// facts is what a report e-mail tells of a batch.
type facts struct {
	Batch     *migration.Batch
	Users     []migration.User
	Skipped   map[string][]migration.SkippedItem // by address, the users with skipped items (bounded)
	StartedBy string                             // "" when not known
	Now       time.Time
	Process   string
}

// composed is a notification's mail, before it goes in the outbox.
type composed struct {
	Subject     string
	Body        string
	Attachments []migration.Attachment
}

// counts are a batch's figures as the mails give them.
type counts struct {
	total, synced, finalized, failed, skippedItems int
	byReason                                       map[string]int
}

func countUsers(b *migration.Batch, users []migration.User) counts {
	c := counts{total: b.Users, synced: b.SyncedCount, finalized: b.FinalizedCount, failed: b.FailedCount, byReason: map[string]int{}}
	for _, u := range users {
		c.skippedItems += u.ItemsSkipped
		for r, n := range u.SkippedBy {
			c.byReason[r] += n
		}
	}
	return c
}

// compose writes the mail of event e about f.Batch: its subject, body and
// the two CSV attachments.
func compose(e Event, f facts) composed {
	b := f.Batch
	c := countUsers(b, f.Users)
	done := c.synced + c.finalized
	var subject, headline string
	switch e.Kind {
	case migration.NotifyInitialSyncCompleted:
		subject = fmt.Sprintf("Migration batch %s finished its initial sync: %d of %d synced, %d failed", b.Name, done, c.total, c.failed)
		headline = fmt.Sprintf("Migration batch %s has finished its initial sync (%s): every user has had a first sync or failed it. "+
			"Incremental syncs go on every %s until the batch is completed.", b.Name, b.Status, incremental(b))
	case migration.NotifyCompleted:
		subject = fmt.Sprintf("Migration batch %s is %s: %d of %d finalized, %d failed", b.Name, completedWord(b.Status), c.finalized, c.total, c.failed)
		headline = fmt.Sprintf("Migration batch %s is %s: its last incremental sync is done and no more syncs follow.", b.Name, b.Status)
	default:
		subject = fmt.Sprintf("Migration batch %s report: %s, %d of %d synced, %d failed", b.Name, b.Status, done, c.total, c.failed)
		headline = fmt.Sprintf("Migration batch %s is %s. This report is sent every %s while the batch syncs.", b.Name, b.Status,
			migration.TimeSpan(reportInterval(b)))
	}
	if c.skippedItems > 0 {
		subject += fmt.Sprintf(", %d %s skipped", c.skippedItems, plural(c.skippedItems, "item", "items"))
	}

	var body strings.Builder
	body.WriteString(headline + "\n\n")
	row := func(name, value string) { fmt.Fprintf(&body, "  %-22s %s\n", name+":", value) }
	startedBy := f.StartedBy
	if startedBy == "" {
		startedBy = "—"
	}
	row("Batch", b.Name)
	row("Status", string(b.Status))
	row("Started by", startedBy)
	row("Started", stamp(b.StartedAt))
	row("Run time", migration.TimeSpan(runTime(b, f.Now)).String())
	if b.InitialSyncDuration > 0 {
		row("Initial sync duration", b.InitialSyncDuration.String())
	}
	if !b.LastSynced.IsZero() {
		row("Last synced", stamp(b.LastSynced))
	}
	row("Total", strconv.Itoa(c.total))
	row("Synced", strconv.Itoa(c.synced))
	row("Finalized", strconv.Itoa(c.finalized))
	row("Failed", strconv.Itoa(c.failed))
	row("Skipped items", skippedText(c))
	row("Source endpoint", b.SourceEndpoint)
	row("Target endpoint", b.TargetEndpoint)

	var failed []migration.User
	for _, u := range f.Users {
		if u.Status == migration.UserFailed || u.Status == migration.UserIncrementalFailed {
			failed = append(failed, u)
		}
	}
	if len(failed) > 0 {
		const show = 10
		fmt.Fprintf(&body, "\nFailed users")
		if len(failed) > show {
			fmt.Fprintf(&body, " (the first %d of %d; all in %s)", show, len(failed), ErrorsFile)
		}
		body.WriteString(":\n")
		for _, u := range failed[:min(len(failed), show)] {
			fmt.Fprintf(&body, "  %s (%s): %s\n", u.EmailAddress, u.Status, oneLine(u.Error))
		}
	}
	fmt.Fprintf(&body, "\nAttached: %s (each user: %s) and %s (each user's error, and the items not migrated: %s).\n",
		StatisticsFile, strings.Join(StatisticsColumns, ", "), ErrorsFile, strings.Join(ErrorsColumns, ", "))
	fmt.Fprintf(&body, "The whole report: imapmigrate batch report %s (and --skipped for every item not migrated).\n", b.Name)
	fmt.Fprintf(&body, "\n-- \nSent by imapmigrate (%s) at %s.\n", f.Process, stamp(f.Now))

	return composed{Subject: subject, Body: body.String(), Attachments: []migration.Attachment{
		{Name: StatisticsFile, ContentType: "text/csv", Content: statisticsCSV(f.Users)},
		{Name: ErrorsFile, ContentType: "text/csv", Content: errorsCSV(b, f.Users, f.Skipped)},
	}}
}

// statisticsCSV is one row per user: EmailAddress, Status, ItemsMigrated,
// ItemsSkipped.
func statisticsCSV(users []migration.User) []byte {
	var buf bytes.Buffer
	w := report.NewCSVWriter(&buf)
	w.UseCRLF = true
	w.Write(StatisticsColumns)
	for _, u := range users {
		w.Write([]string{u.EmailAddress, string(u.Status), strconv.Itoa(u.ItemsSynced), strconv.Itoa(u.ItemsSkipped)})
	}
	w.Flush()
	return buf.Bytes()
}

// errorsCSV is one row per user with an error, then one per item not
// migrated (at most maxSkippedRows, then a row that counts the rest).
func errorsCSV(b *migration.Batch, users []migration.User, skipped map[string][]migration.SkippedItem) []byte {
	var buf bytes.Buffer
	w := report.NewCSVWriter(&buf)
	w.UseCRLF = true
	w.Write(ErrorsColumns)
	for _, u := range users {
		if u.Error != "" {
			w.Write([]string{u.EmailAddress, oneLine(u.Error)})
		}
	}
	rows, more := 0, 0
	for _, u := range users {
		for _, it := range skipped[u.EmailAddress] {
			if rows == maxSkippedRows {
				more++
				continue
			}
			w.Write([]string{u.EmailAddress, skippedItemText(it)})
			rows++
		}
		if n := u.ItemsSkipped - len(skipped[u.EmailAddress]); n > 0 {
			more += n // not read (the bound) or not itemised
		}
	}
	if more > 0 {
		w.Write([]string{"", fmt.Sprintf("%d more skipped %s not listed: imapmigrate batch report %s --skipped lists them all",
			more, plural(more, "item", "items"), b.Name)})
	}
	w.Flush()
	return buf.Bytes()
}

// skippedItemText says which message was not migrated and why:
// `skipped (too_large): "Subject" of 2024-01-02 in INBOX, UID 17, 52428800 bytes: detail`.
func skippedItemText(it migration.SkippedItem) string {
	var s strings.Builder
	fmt.Fprintf(&s, "skipped (%s): %q", it.Reason, it.Subject)
	if !it.Date.IsZero() {
		s.WriteString(" of " + it.Date.UTC().Format(time.DateOnly))
	}
	fmt.Fprintf(&s, " in %s, UID %d, %d bytes", it.Folder, it.UID, it.Size)
	if it.Detail != "" {
		s.WriteString(": " + oneLine(it.Detail))
	}
	return s.String()
}

func skippedText(c counts) string {
	if c.skippedItems == 0 {
		return "0"
	}
	var parts []string
	for r, n := range c.byReason {
		parts = append(parts, fmt.Sprintf("%s %d", r, n))
	}
	sort.Strings(parts)
	return fmt.Sprintf("%d (%s)", c.skippedItems, strings.Join(parts, ", "))
}

// runTime is from the start until the last sync of a completed batch, or
// until now.
func runTime(b *migration.Batch, now time.Time) time.Duration {
	end := now
	switch b.Status {
	case migration.BatchCompleted, migration.BatchCompletedWithErrors, migration.BatchCompletedWithWarnings:
		if !b.LastSynced.IsZero() {
			end = b.LastSynced
		}
	}
	return max(end.Sub(b.StartedAt), 0)
}

func reportInterval(b *migration.Batch) time.Duration {
	if b.ReportInterval <= 0 {
		return migration.DefaultReportInterval
	}
	return time.Duration(b.ReportInterval)
}

func incremental(b *migration.Batch) string {
	if b.IncrementalInterval <= 0 {
		return migration.TimeSpan(migration.DefaultIncrementalInterval).String()
	}
	return migration.TimeSpan(b.IncrementalInterval).String()
}

func completedWord(s migration.BatchStatus) string {
	switch s {
	case migration.BatchCompletedWithErrors:
		return "completed with errors"
	case migration.BatchCompletedWithWarnings:
		return "completed with warnings"
	}
	return "completed"
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// oneLine keeps an error on one line of a mail or a CSV cell.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
