package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/imapmigrate/imapmigrate/internal/csvfile"
	"github.com/imapmigrate/imapmigrate/internal/migration"
)

func init() { groupSubcommands["batch"] = append(groupSubcommands["batch"], newBatchAddCommand) }

func newBatchAddCommand(g *globalOptions) *cobra.Command {
	var csvPath, encoding string
	cmd := &cobra.Command{
		Use:   "add NAME --csv FILE [--csv-encoding E]",
		Short: "Add the users of a migration file to an existing batch",
		Long: `Add the rows of a migration file to an existing batch. The file is checked
as batch new checks it: if anything is wrong, every problem is listed and
nothing is added; addresses already in another batch that is not completed
are refused. Users added to a syncing batch are due at once; those added to
a batch not started yet start with it. A completing or completed batch takes
no new users.

With --output json it prints the batch after the addition, with "Added" (the
number of users added) and what reading the file noticed.

EXAMPLES
  imapmigrate batch add IMAPBatch1 --csv more-users.csv

EXIT STATUS
  0 added; 1 invalid input (listed) or a batch that takes no users; 2 other errors`,
		Args: cobra.ExactArgs(1),
		RunE: withApp(g, func(cmd *cobra.Command, a *app, args []string) error {
			f, err := os.Open(csvPath)
			if err != nil {
				return withExit(ExitUsage, fmt.Errorf("--csv: %w", err))
			}
			defer f.Close()
			b, file, err := a.svc.AddUsers(cmd.Context(), args[0], f, csvfile.Options{Encoding: encoding})
			if err != nil {
				return serviceError(err)
			}
			if g.output == "json" {
				return printJSON(g.stdout, struct {
					*migration.Batch
					Added    int               `json:"Added"`
					Notices  []string          `json:"Notices,omitempty"`
					Warnings []csvfile.Problem `json:"Warnings,omitempty"`
				}{b, len(file.Rows), file.Notices, file.Warnings})
			}
			for _, n := range file.Notices {
				fmt.Fprintln(g.stdout, "Notice:", n)
			}
			for _, w := range file.Warnings {
				fmt.Fprintln(g.stdout, "Warning:", w.String())
			}
			fmt.Fprintf(g.stdout, "%d %s added to batch %s (now %d). Status: %s.\n", len(file.Rows), pluralS(len(file.Rows), "user"), b.Name, b.Users, b.Status)
			return nil
		}),
	}
	fs := cmd.Flags()
	fs.StringVar(&csvPath, "csv", "", "the migration file (EmailAddress,UserName,Password[,UserRoot])")
	fs.StringVar(&encoding, "csv-encoding", "", "the file's encoding when not UTF-8/UTF-16 (e.g. windows-1252, gbk, big5)")
	cmd.MarkFlagRequired("csv")
	setFieldFlags(cmd, map[string]string{"Name": "NAME", "CSV": "--csv", "CSVOptions": "--csv-encoding"})
	return cmd
}
