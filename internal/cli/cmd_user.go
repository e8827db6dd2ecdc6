package cli

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/imapmigrate/imapmigrate/internal/migration"
)

func init() { subcommands = append(subcommands, newUserCommand) }

func newUserCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "Show migration users (Get-MigrationUser, Get-MigrationUserStatistics)"}
	var batch, status string
	get := &cobra.Command{
		Use:   "get [--batch B] [--status S]",
		Short: "List migration users and their status",
		Args:  cobra.NoArgs,
		RunE: withApp(g, func(cmd *cobra.Command, a *app, args []string) error {
			var st migration.UserStatus
			if status != "" {
				var err error
				if st, err = migration.ParseUserStatus(status); err != nil {
					return withExit(ExitUsage, err)
				}
			}
			users, err := a.svc.Users(cmd.Context(), batch, st)
			if err != nil {
				return serviceError(err)
			}
			if g.output == "json" {
				if users == nil {
					users = []migration.User{}
				}
				return printJSON(g.stdout, users)
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "EMAIL ADDRESS\tBATCH\tSTATUS\tITEMS SYNCED\tITEMS SKIPPED\tLAST SYNC\tTHIS PASS\tERROR")
			for _, u := range users {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%s\t%s\n", u.EmailAddress, u.Batch, u.Status, u.ItemsSynced, u.ItemsSkipped, when(u.LastSync),
					userPassText(u.Pass), u.Error)
			}
			return tw.Flush()
		}),
	}
	get.Flags().StringVar(&batch, "batch", "", "only this batch")
	get.Flags().StringVar(&status, "status", "", "only this status, in any case (Queued, Syncing, Synced, Failed, …)")
	setFieldFlags(get, map[string]string{"Batch": "--batch", "Status": "--status"})
	var folders, skipped, history bool
	stats := &cobra.Command{
		Use:   "stats EMAIL [--folders] [--skipped] [--history]",
		Short: "Statistics of one migration user: items, skipped with reasons, bytes, syncs, error",
		Args:  cobra.ExactArgs(1),
		RunE: withApp(g, func(cmd *cobra.Command, a *app, args []string) error {
			o := migration.UserStatsOptions{Folders: folders, Skipped: skipped}
			if history {
				o.History = migration.PassHistoryKept
			}
			st, err := a.svc.UserDetails(cmd.Context(), args[0], o)
			if err != nil {
				return serviceError(err)
			}
			if g.output == "json" {
				return printJSON(g.stdout, st)
			}
			u := st.User
			fmt.Fprintf(g.stdout, "EmailAddress:  %s\nBatch:         %s\nStatus:        %s\nItemsSynced:   %d\nItemsSkipped:  %d %v\nBytesSynced:   %s\nFolders:       %d\nFirstSync:     %s\nLastSync:      %s\nNextSync:      %s\nError:         %s\n",
				u.EmailAddress, u.Batch, u.Status, u.ItemsSynced, u.ItemsSkipped, u.SkippedBy, humanBytes(u.BytesSynced), u.Folders,
				when(u.FirstSync), when(u.LastSync), when(u.NextSync), u.Error)
			if p := u.Pass; p != nil {
				fmt.Fprintf(g.stdout, "ThisPass:      %s %s, %s, %s since %s, by %s\n", p.Kind, userPassText(p), p.Folder, humanBytes(p.Bytes), when(p.Started), p.Worker)
			}
			if folders {
				tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "\nSOURCE FOLDER\tTARGET FOLDER\tMESSAGES\tSKIPPED\tLAST SYNC")
				for _, f := range st.Folders {
					fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\n", f.Source, f.Target, f.Messages, f.Skipped, when(f.LastSync))
				}
				tw.Flush()
			}
			if history {
				printPasses(g.stdout, st.Passes)
			}
			if skipped {
				return printSkipped(g.stdout, st.SkippedItems)
			}
			return nil
		}),
	}
	stats.Flags().BoolVar(&folders, "folders", false, "add per-folder detail")
	stats.Flags().BoolVar(&skipped, "skipped", false, "list each skipped item: folder, UID, date received, subject, size, reason (Get-MigrationUserStatistics -IncludeSkippedItems)")
	stats.Flags().BoolVar(&history, "history", false, "list the user's latest passes (at most 100), the newest first: kind, worker, start, duration, status, items synced and skipped, bytes, error")
	cmd.AddCommand(get, stats)
	return cmd
}

func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format(time.DateTime)
}

// printPasses writes the history of a user's passes as a table.
func printPasses(w io.Writer, ps []migration.PassRecord) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nKIND\tWORKER\tSTART\tDURATION\tSTATUS\tITEMS SYNCED\tITEMS SKIPPED\tBYTES\tERROR")
	for _, p := range ps {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\n", p.Kind, p.Worker, when(p.Started), p.Duration, p.Status, p.ItemsSynced,
			p.ItemsSkipped, humanBytes(p.Bytes), p.Error)
	}
	if len(ps) == 0 {
		fmt.Fprintln(tw, "(no pass has ended yet)")
	}
	tw.Flush()
}
