package cli

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/imapmigrate/imapmigrate/internal/report"
)

func newBatchReportCommand(g *globalOptions) *cobra.Command {
	var format, out string
	var skipped bool
	cmd := &cobra.Command{
		Use:   "report NAME [--format csv|json] [-f FILE] [--skipped]",
		Short: "The migration users status report of a batch: one row per user",
		Long: `One row per migration user: EmailAddress, Status, ItemsSynced, ItemsSkipped
(with the reasons), BytesSynced, Folders, FirstSyncTime, LastSyncedTime,
NextSyncTime, Error. No password appears in it.

With --skipped, the skipped item details instead: one row per message not
migrated, with EmailAddress, FolderName, SourceUid, DateReceived, Subject,
MessageSize, Kind (too_large, filtered, rejected…) and Failure.`,
		Args: cobra.ExactArgs(1),
		RunE: withApp(g, func(cmd *cobra.Command, a *app, args []string) error {
			if _, err := a.svc.Batch(cmd.Context(), args[0]); err != nil {
				return serviceError(err)
			}
			if skipped {
				return writeSkippedReport(cmd, g, a, args[0], format, out)
			}
			users, err := a.svc.Users(cmd.Context(), args[0], "")
			if err != nil {
				return serviceError(err)
			}
			var w io.Writer = g.stdout
			if out != "" {
				f, err := os.Create(out)
				if err != nil {
					return withExit(ExitUsage, err)
				}
				defer f.Close()
				w = f
			}
			if err := report.Write(w, format, users); err != nil {
				return withExit(ExitUsage, err)
			}
			if out != "" {
				fmt.Fprintf(g.stdout, "Report of %d users written to %s\n", len(users), out)
			}
			return nil
		}),
	}
	cmd.Flags().StringVar(&format, "format", "csv", "csv or json")
	cmd.Flags().StringVarP(&out, "file", "f", "", "write the report to this file")
	cmd.Flags().BoolVar(&skipped, "skipped", false, "report the skipped items, one row per message, instead of the users")
	return cmd
}
