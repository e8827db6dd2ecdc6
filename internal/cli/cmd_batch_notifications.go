package cli

import (
	"fmt"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/imapmigrate/imapmigrate/internal/migration"
)

func newBatchNotificationsCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "notifications [NAME]",
		Short: "List the report e-mails of a batch (or of all): sent, waiting, failed and why",
		Long: `List the report e-mails of a batch, or of every batch, the newest first:
what each told (InitialSyncCompleted, Completed, Report), its status
(Pending, Sending, Retrying, Sent, Failed), its attempts, when it was sent,
and the last error of a failed attempt. They are sent by serve or worker
given an SMTP server (--smtp-host), each once whatever the number of
processes; a failed one is tried again later.

EXIT STATUS
  0 listed; 2 errors`,
		Args: cobra.MaximumNArgs(1),
		RunE: withApp(g, func(cmd *cobra.Command, a *app, args []string) error {
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			list, err := a.svc.Notifications(cmd.Context(), name)
			if err != nil {
				return serviceError(err)
			}
			if g.output == "json" {
				if list == nil {
					list = []migration.Notification{}
				}
				return printJSON(g.stdout, list)
			}
			if len(list) == 0 {
				fmt.Fprintln(g.stdout, "No report e-mails yet (batch new/set --notify sets who gets them).")
				return nil
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "BATCH\tKIND\tSTATUS\tATTEMPTS\tCREATED\tSENT\tTO\tSUBJECT\tLAST ERROR")
			for _, n := range list {
				last := n.LastError
				if last == "" {
					last = "-"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", n.Batch, n.Kind, n.Status, strconv.Itoa(n.Attempts), when(n.CreatedAt),
					when(n.SentAt), len(n.Recipients), n.Subject, last)
			}
			return tw.Flush()
		}),
	}
}
