package cli

import (
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/imapmigrate/imapmigrate/internal/migration"
)

// Environment variables that may hold user set's passwords instead of files.
const (
	envUserPassword       = "IMAPMIGRATE_USER_PASSWORD"
	envUserTargetPassword = "IMAPMIGRATE_USER_TARGET_PASSWORD"
)

func init() {
	groupSubcommands["user"] = append(groupSubcommands["user"], newUserSetCommand, newUserRemoveCommand)
}

func newUserSetCommand(g *globalOptions) *cobra.Command {
	var pwFile, tpwFile string
	cmd := &cobra.Command{
		Use:   "set EMAIL --password-file F [--target-password-file F]",
		Short: "Give a migration user new passwords (Set-MigrationUser); a failed user is retried at once",
		Long: `Give a migration user a new source password (the migration file's Password)
and, for a per-user target endpoint, a new TargetPassword. They are sealed like
the migration file's; nothing prints or logs them. A Failed or
IncrementalFailed user of a syncing batch is retried at once.

The passwords come from files (one line; a final line break is dropped) or
from $` + envUserPassword + ` and $` + envUserTargetPassword + `, never from the
command line.

EXAMPLES
  imapmigrate user set terry@new.example --password-file terry.pw

EXIT STATUS
  0 changed; 1 no such user, or a password it cannot take; 2 other errors`,
		Args: cobra.ExactArgs(1),
		RunE: withApp(g, func(cmd *cobra.Command, a *app, args []string) error {
			var sec migration.UserSecrets
			var err error
			if sec.Password, err = secretFrom("--password-file", pwFile, envUserPassword); err != nil {
				return withExit(ExitUsage, err)
			}
			if sec.TargetPassword, err = secretFrom("--target-password-file", tpwFile, envUserTargetPassword); err != nil {
				return withExit(ExitUsage, err)
			}
			u, err := a.svc.SetUser(cmd.Context(), args[0], sec)
			if err != nil {
				return serviceError(err)
			}
			if g.output == "json" {
				return printJSON(g.stdout, u)
			}
			fmt.Fprintf(g.stdout, "Migration user %s: passwords changed.\n", u.EmailAddress)
			return printUserLine(g, u)
		}),
	}
	cmd.Flags().StringVar(&pwFile, "password-file", "", "file holding the new source password (else $"+envUserPassword+")")
	cmd.Flags().StringVar(&tpwFile, "target-password-file", "", "file holding the new target password, for a per-user target (else $"+envUserTargetPassword+")")
	setFieldFlags(cmd, map[string]string{"Password": "--password-file", "TargetPassword": "--target-password-file"})
	return cmd
}

// secretFrom reads a secret from file (flag names it in errors), else from
// the environment variable env; "" when neither gives one.
func secretFrom(flag, file, env string) (string, error) {
	if file == "" {
		return os.Getenv(env), nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("%s: %w", flag, err)
	}
	v := strings.TrimRight(string(b), "\r\n")
	if v == "" {
		return "", fmt.Errorf("%s %s: the file is empty", flag, file)
	}
	return v, nil
}

// printUserLine prints one user as user get does.
func printUserLine(g *globalOptions, u *migration.User) error {
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "EMAIL ADDRESS\tBATCH\tSTATUS\tITEMS SYNCED\tITEMS SKIPPED\tNEXT SYNC\tERROR")
	fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%s\n", u.EmailAddress, u.Batch, u.Status, u.ItemsSynced, u.ItemsSkipped, when(u.NextSync), u.Error)
	return tw.Flush()
}

func newUserRemoveCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "remove EMAIL",
		Short: "Remove a migration user with its sync state and stored passwords (Remove-MigrationUser)",
		Long: `Remove a migration user from its batch: the user, its sync state and its
sealed passwords are deleted. A pass under way for the user stops at its next
heartbeat. What was copied to the target stays there.

With --output json it prints {"EmailAddress", "Batch", "Result": "removed"}.

EXIT STATUS
  0 removed; 1 no such user; 2 other errors`,
		Args: cobra.ExactArgs(1),
		RunE: withApp(g, func(cmd *cobra.Command, a *app, args []string) error {
			u, err := a.svc.RemoveUser(cmd.Context(), args[0])
			if err != nil {
				return serviceError(err)
			}
			if g.output == "json" {
				return printJSON(g.stdout, struct{ EmailAddress, Batch, Result string }{u.EmailAddress, u.Batch, "removed"})
			}
			fmt.Fprintf(g.stdout, "Migration user %s removed from batch %s, with its sync state and stored passwords.\n", u.EmailAddress, u.Batch)
			return nil
		}),
	}
}
