package cli

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/imapmigrate/imapmigrate/internal/csvfile"
	"github.com/imapmigrate/imapmigrate/internal/migration"
)

func init() { subcommands = append(subcommands, newBatchCommand) }

func newBatchCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "batch",
		Short: "Manage migration batches: a migration file's users between two endpoints",
	}
	cmd.AddCommand(newBatchNewCommand(g), newBatchSetCommand(g), newBatchGetCommand(g), newBatchReportCommand(g), newBatchRunCommand(g),
		newBatchNotificationsCommand(g))
	for _, v := range []struct {
		verb, short string
		// do returns the result ("started") and, for text, what it means.
		do func(a *app, cmd *cobra.Command, name string) (result, note string, err error)
	}{
		{"start", "Start or resume a batch; failed users are retried (Start-MigrationBatch)", func(a *app, cmd *cobra.Command, name string) (string, string, error) {
			return "started", "", a.svc.StartBatch(cmd.Context(), name)
		}},
		{"stop", "Stop a batch; running users stop at a safe point (Stop-MigrationBatch)", func(a *app, cmd *cobra.Command, name string) (string, string, error) {
			return "stopping", "", a.svc.StopBatch(cmd.Context(), name)
		}},
		{"complete", "Run a last incremental sync, then stop syncing for good (Complete-MigrationBatch)", func(a *app, cmd *cobra.Command, name string) (string, string, error) {
			return "completing", "", a.svc.CompleteBatch(cmd.Context(), name)
		}},
		{"remove", "Stop and delete a batch, its sync state and its stored passwords (Remove-MigrationBatch)", func(a *app, cmd *cobra.Command, name string) (string, string, error) {
			gone, err := a.svc.RemoveBatch(cmd.Context(), name)
			if gone {
				return "removed", "", err
			}
			return "removing", " (a worker is finishing; it will be gone shortly)", err
		}},
	} {
		cmd.AddCommand(&cobra.Command{
			Use:   v.verb + " NAME",
			Short: v.short,
			Long: v.short + `.

With --output json it prints {"Name", "Result", "Batch"}: Result is started,
stopping, completing, removed or removing, Batch the batch as it is after the
command (none once it is removed), and Warning when start or complete was
recorded but no worker is running to act on it (the same sentence is on
stderr in text).

EXIT STATUS
  0 done; 1 the batch cannot be ` + v.verb + `ed in its state, or does not exist; 2 other errors`,
			Args: cobra.ExactArgs(1),
			RunE: withApp(g, func(cmd *cobra.Command, a *app, args []string) error {
				name := args[0]
				result, note, err := v.do(a, cmd, name)
				if err != nil {
					return serviceError(err)
				}
				warning := noWorkerWarning(cmd, a.svc, v.verb)
				if g.output == "json" {
					r := batchResult{Name: name, Result: result, Warning: warning}
					if result != "removed" {
						if r.Batch, err = a.svc.Batch(cmd.Context(), name); err != nil {
							var ve *migration.ValidationError
							if !errors.As(err, &ve) { // not removed meanwhile
								return withExit(ExitUsage, err)
							}
						}
					}
					return printJSON(g.stdout, r)
				}
				fmt.Fprintf(g.stdout, "Batch %s %s%s.\n", name, result, note)
				if warning != "" {
					fmt.Fprintln(g.stderr, warning)
				}
				return nil
			}),
		})
	}
	return cmd
}

// batchResult is the --output json answer of batch start, stop, complete
// and remove.
type batchResult struct {
	Name   string
	Result string           // started, stopping, completing, removed or removing
	Batch  *migration.Batch `json:",omitempty"` // after the command; none once removed
	// Warning: start and complete were recorded, but no worker is live
	// to act on them (noWorkerHint).
	Warning string `json:",omitempty"`
}

func newBatchNewCommand(g *globalOptions) *cobra.Command {
	var p migration.BatchParams
	var csvPath, encoding, maxSize, after string
	cmd := &cobra.Command{
		Use:   "new NAME --source EP --target EP --csv FILE [flags]",
		Short: "Create a migration batch from a migration file (New-MigrationBatch)",
		Long: `Create a migration batch. The name, both endpoints, the whole migration file
and the exclusions are checked first; if anything is wrong, every problem is
listed and nothing is created. Addresses already in another batch that is not
completed are refused.

EXAMPLES
  imapmigrate batch new IMAPBatch1 --source old-imap --target new-dovecot \
    --csv users.csv --exclude-folder 'Deleted Messages' --exclude-folder '#JunkEmail#' --autostart

  # Report e-mails to two admins (sent by serve or worker, given --smtp-host):
  imapmigrate batch new IMAPBatch2 --source old-imap --target new-dovecot \
    --csv users.csv --notify admin@example.com,helpdesk@example.com --report-interval 12h

EXIT STATUS
  0 created; 1 invalid input (listed); 2 other errors`,
		Args: cobra.ExactArgs(1),
		RunE: withApp(g, func(cmd *cobra.Command, a *app, args []string) error {
			f, err := os.Open(csvPath)
			if err != nil {
				return withExit(ExitUsage, fmt.Errorf("--csv: %w", err))
			}
			defer f.Close()
			p.Name, p.CSV = args[0], f
			p.CSVOptions = csvfile.Options{Encoding: encoding}
			if maxSize != "" {
				if p.MaxMessageSize, err = parseSize(maxSize); err != nil {
					return withExit(ExitUsage, fmt.Errorf("--max-message-size: %w", err))
				}
			}
			if after != "" {
				if p.ReceivedAfter, err = parseDate(after); err != nil {
					return withExit(ExitUsage, fmt.Errorf("--received-after: %w", err))
				}
			}
			b, file, err := a.svc.NewBatch(cmd.Context(), p)
			if err != nil {
				return serviceError(err)
			}
			if g.output == "json" {
				// The batch, and what reading the file noticed.
				return printJSON(g.stdout, struct {
					*migration.Batch
					Notices  []string          `json:"Notices,omitempty"`
					Warnings []csvfile.Problem `json:"Warnings,omitempty"`
				}{b, file.Notices, file.Warnings})
			}
			for _, n := range file.Notices {
				fmt.Fprintln(g.stdout, "Notice:", n)
			}
			for _, w := range file.Warnings {
				fmt.Fprintln(g.stdout, "Warning:", w.String())
			}
			forms := file.Forms()
			var parts []string
			for form, n := range forms {
				parts = append(parts, fmt.Sprintf("%d %s", n, form))
			}
			sort.Strings(parts)
			fmt.Fprintf(g.stdout, "Batch %s created with %d users (logins: %s). Status: %s.\n", b.Name, b.Users, strings.Join(parts, ", "), b.Status)
			if b.Status == migration.BatchCreated {
				fmt.Fprintf(g.stdout, "Start it with: imapmigrate batch start %s\n", b.Name)
			}
			return nil
		}),
	}
	fs := cmd.Flags()
	fs.StringVar(&p.Source, "source", "", "source endpoint")
	fs.StringVar(&p.Target, "target", "", "target endpoint")
	fs.StringVar(&csvPath, "csv", "", "the migration file (EmailAddress,UserName,Password[,UserRoot])")
	fs.StringVar(&encoding, "csv-encoding", "", "the file's encoding when not UTF-8/UTF-16 (e.g. windows-1252, gbk, big5)")
	fs.StringArrayVar(&p.ExcludeFolders, "exclude-folder", nil, "folder not to migrate (case-insensitive; 'Name/*' for a subtree; #Inbox#, #SentItems#, #DeletedItems#, #JunkEmail#, #Drafts#, #Archive#); repeatable")
	fs.BoolVar(&p.AutoStart, "autostart", false, "start the batch at once")
	fs.DurationVar(&p.IncrementalInterval, "incremental-interval", migration.DefaultIncrementalInterval, "time between incremental syncs")
	fs.StringVar(&maxSize, "max-message-size", "35MB", "larger messages are skipped and reported")
	fs.StringVar(&after, "received-after", "", "only messages that arrived after this date (2006-01-02 or RFC 3339); older ones are reported as filtered")
	fs.StringSliceVar(&p.NotificationEmails, "notify", nil, "addresses to send the batch's report e-mails to (initial sync done, completed, every --report-interval); comma-separated or repeatable")
	fs.DurationVar(&p.ReportInterval, "report-interval", migration.DefaultReportInterval, "time between report e-mails while the batch syncs (at least 1h)")
	cmd.MarkFlagRequired("source")
	cmd.MarkFlagRequired("target")
	cmd.MarkFlagRequired("csv")
	setFieldFlags(cmd, map[string]string{
		"Name": "NAME", "Source": "--source", "Target": "--target", "CSV": "--csv", "CSVOptions": "--csv-encoding",
		"ExcludeFolders": "--exclude-folder", "IncrementalInterval": "--incremental-interval",
		"MaxMessageSize": "--max-message-size", "ReceivedAfter": "--received-after",
		"NotificationEmails": "--notify", "ReportInterval": "--report-interval",
	})
	return cmd
}

func newBatchGetCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "get [NAME]",
		Short: "Show batches and their status (Get-MigrationBatch)",
		Long: `Show batches and their status (Get-MigrationBatch), as every process sees
them: TotalCount; SyncedCount (synced, syncing on), FinalizedCount
(completed), FailedCount; PercentageComplete (users whose initial sync is
done); InitialSyncDuration (from the start until the last user's first
sync, or until now while it runs); LastSyncedTime; and the passes under
way added up (IN PASS: "2: 12% 340/2800 5.1/s ETA 8m", ActivePasses in
JSON).`,
		Args: cobra.MaximumNArgs(1),
		RunE: withApp(g, func(cmd *cobra.Command, a *app, args []string) error {
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			bs, err := a.svc.Batches(cmd.Context(), name)
			if err != nil {
				return serviceError(err)
			}
			return printBatches(g, bs)
		}),
	}
}

func printBatches(g *globalOptions, bs []migration.Batch) error {
	if g.output == "json" {
		if bs == nil {
			bs = []migration.Batch{}
		}
		return printJSON(g.stdout, bs)
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTATUS\tTOTAL\tSYNCED\tFINALIZED\tFAILED\tCOMPLETE\tINITIAL SYNC\tLAST SYNCED\tIN PASS\tSOURCE\tTARGET\tCREATED\tNOTIFY")
	for _, b := range bs {
		initial := "-"
		if b.InitialSyncDuration > 0 {
			initial = b.InitialSyncDuration.String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d%%\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", b.Name, b.Status, b.Users, b.SyncedCount, b.FinalizedCount, b.FailedCount,
			b.PercentComplete, initial, when(b.LastSynced), batchPassText(b.ActivePasses), b.SourceEndpoint, b.TargetEndpoint, b.CreatedAt.Local().Format(time.DateTime),
			notifyText(b))
	}
	return tw.Flush()
}

// notifyText is who gets the batch's report e-mails, and how often.
func notifyText(b migration.Batch) string {
	if len(b.NotificationEmails) == 0 {
		return "-"
	}
	return strings.Join(b.NotificationEmails, ",") + " every " + b.ReportInterval.String()
}

// parseDate reads 2006-01-02 (midnight UTC) or an RFC 3339 time.
func parseDate(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a date: write 2024-01-31 or 2024-01-31T08:00:00Z", s)
	}
	return t, nil
}

func newBatchSetCommand(g *globalOptions) *cobra.Command {
	var exclude, notify []string
	var interval, reportInterval time.Duration
	var maxSize, after string
	cmd := &cobra.Command{
		Use:   "set NAME [--exclude-folder F]... [--incremental-interval D] [--max-message-size S] [--received-after DATE] [--notify A,B] [--report-interval D]",
		Short: "Change a batch's settings (Set-MigrationBatch)",
		Long: `Change a batch's settings. How it syncs (--exclude-folder,
--incremental-interval, --max-message-size, --received-after) can be changed
only while it is Created; who gets its report e-mails (--notify, replacing
the addresses; --notify '' for none) and how often (--report-interval) at any
time.

EXAMPLES
  imapmigrate batch set IMAPBatch1 --notify admin@example.com,helpdesk@example.com
  imapmigrate batch set IMAPBatch1 --report-interval 6h

EXIT STATUS
  0 changed; 1 invalid input (listed); 2 other errors`,
		Args: cobra.ExactArgs(1),
		RunE: withApp(g, func(cmd *cobra.Command, a *app, args []string) error {
			var set migration.BatchSettings
			fs := cmd.Flags()
			if fs.Changed("exclude-folder") {
				set.ExcludeFolders = &exclude
			}
			if fs.Changed("incremental-interval") {
				set.IncrementalInterval = &interval
			}
			if fs.Changed("notify") {
				set.NotificationEmails = &notify
			}
			if fs.Changed("report-interval") {
				set.ReportInterval = &reportInterval
			}
			if fs.Changed("max-message-size") {
				n, err := parseSize(maxSize)
				if err != nil {
					return withExit(ExitUsage, fmt.Errorf("--max-message-size: %w", err))
				}
				set.MaxMessageSize = &n
			}
			if fs.Changed("received-after") {
				t, err := parseDate(after)
				if err != nil {
					return withExit(ExitUsage, fmt.Errorf("--received-after: %w", err))
				}
				set.ReceivedAfter = &t
			}
			b, err := a.svc.SetBatch(cmd.Context(), args[0], set)
			if err != nil {
				return serviceError(err)
			}
			return printBatches(g, []migration.Batch{*b})
		}),
	}
	fs := cmd.Flags()
	fs.StringArrayVar(&exclude, "exclude-folder", nil, "replaces the batch's excluded folders; repeatable")
	fs.DurationVar(&interval, "incremental-interval", migration.DefaultIncrementalInterval, "time between incremental syncs")
	fs.StringVar(&maxSize, "max-message-size", "35MB", "larger messages are skipped and reported")
	fs.StringVar(&after, "received-after", "", "only messages that arrived after this date")
	fs.StringSliceVar(&notify, "notify", nil, "replaces the addresses of the report e-mails; comma-separated or repeatable; '' for none")
	fs.DurationVar(&reportInterval, "report-interval", migration.DefaultReportInterval, "time between report e-mails while the batch syncs (at least 1h)")
	setFieldFlags(cmd, map[string]string{
		"Name": "NAME", "ExcludeFolders": "--exclude-folder", "IncrementalInterval": "--incremental-interval",
		"MaxMessageSize": "--max-message-size", "ReceivedAfter": "--received-after",
		"NotificationEmails": "--notify", "ReportInterval": "--report-interval",
	})
	return cmd
}
