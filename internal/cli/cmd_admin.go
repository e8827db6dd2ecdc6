package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/imapmigrate/imapmigrate/internal/auth"
)

func init() { subcommands = append(subcommands, newAdminCommand) }

func newAdminCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{Use: "admin", Short: "Dashboard accounts: add, remove, list"}
	cmd.AddCommand(newAdminAddCommand(g), newAdminRemoveCommand(g), newAdminListCommand(g))
	return cmd
}

func newAdminAddCommand(g *globalOptions) *cobra.Command {
	var pwFile string
	var pwStdin bool
	cmd := &cobra.Command{
		Use:   "add NAME (--password-file F | --password-stdin)",
		Short: "Create a dashboard account",
		Long: `Create an account to log in to the dashboard of imapmigrate serve. NAME is 1 to
64 letters, digits, '.', '-', '_' or '@', case-insensitive (kept in
lowercase). The password has at least 12 characters; it is stored only as an
argon2id hash, and is never taken from the command line: it comes from a
file (one line; a final line break is dropped) or from standard input
(--password-stdin: asked twice, without echo, on a terminal).

EXAMPLES
  imapmigrate admin add alice --password-file alice.pw
  pass show imapmigrate/alice | imapmigrate admin add alice --password-stdin

EXIT STATUS
  0 created; 1 a bad name or password, or the name is taken (nothing was
  created); 2 other errors`,
		Args:        cobra.ExactArgs(1),
		Annotations: map[string]string{createsDatabase: ""},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := g.validateOutput(); err != nil {
				return err
			}
			flag := "--password-file"
			if pwStdin {
				flag = "--password-stdin"
			}
			setFieldFlags(cmd, map[string]string{"Name": "NAME", "Password": flag})
			password, err := readNewPassword(g, pwFile, pwStdin)
			if err != nil {
				return withExit(ExitUsage, err)
			}
			// Checked before the database is opened (or created): bad
			// input changes nothing.
			if err := auth.ValidateAdmin(args[0], password); err != nil {
				return serviceError(err)
			}
			return withApp(g, func(cmd *cobra.Command, a *app, args []string) error {
				adm, err := a.Auth.AddAdmin(cmd.Context(), args[0], password)
				if err != nil {
					return serviceError(err)
				}
				cliAudit(cmd.Context(), a, "admin add", adm.Name)
				if g.output == "json" {
					return printJSON(g.stdout, adm)
				}
				fmt.Fprintf(g.stdout, "Account %s created: it can log in to the dashboard of `imapmigrate serve`.\n", adm.Name)
				return nil
			})(cmd, args)
		},
	}
	cmd.Flags().StringVar(&pwFile, "password-file", "", "file holding the password (one line)")
	cmd.Flags().BoolVar(&pwStdin, "password-stdin", false, "read the password from standard input")
	setFieldFlags(cmd, map[string]string{"Name": "NAME", "Password": "--password-file"}) // RunE names the flag given
	return cmd
}

// maxPasswordInput bounds what is read as a password.
const maxPasswordInput = 4096

// readNewPassword reads a new password from file or standard input; on a
// terminal it asks twice, without echo.
func readNewPassword(g *globalOptions, file string, stdin bool) (string, error) {
	switch {
	case file != "" && stdin:
		return "", errors.New("--password-file and --password-stdin: give one of them, not both")
	case file != "":
		return secretFrom("--password-file", file, "")
	case !stdin:
		return "", errors.New("no password given: use --password-file F or --password-stdin (a password is never taken from the command line)")
	}
	if f, ok := g.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(g.stderr, "Password: ")
		p1, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(g.stderr)
		if err != nil {
			return "", fmt.Errorf("--password-stdin: %w", err)
		}
		fmt.Fprint(g.stderr, "Password again: ")
		p2, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(g.stderr)
		if err != nil {
			return "", fmt.Errorf("--password-stdin: %w", err)
		}
		if string(p1) != string(p2) {
			return "", errors.New("--password-stdin: the two passwords differ: nothing was created, try again")
		}
		return string(p1), nil
	}
	if g.stdin == nil {
		return "", errors.New("--password-stdin: no standard input")
	}
	b, err := io.ReadAll(io.LimitReader(bufio.NewReader(g.stdin), maxPasswordInput+1))
	if err != nil {
		return "", fmt.Errorf("--password-stdin: %w", err)
	}
	if len(b) > maxPasswordInput {
		return "", fmt.Errorf("--password-stdin: more than %d bytes: give the password alone, on one line", maxPasswordInput)
	}
	v := strings.TrimRight(string(b), "\r\n")
	switch {
	case v == "":
		return "", errors.New("--password-stdin: standard input is empty")
	case strings.ContainsAny(v, "\r\n"):
		return "", errors.New("--password-stdin: more than one line: give the password alone, on one line")
	}
	return v, nil
}

// cliAudit records a change made from the command line in the audit log,
// with the operating system's user as the actor; a failure is logged, not
// returned (the change is made).
func cliAudit(ctx context.Context, a *app, action, object string) {
	actor := "command line"
	if u, err := user.Current(); err == nil && u.Username != "" {
		actor += " (" + u.Username + ")"
	}
	if err := a.Auth.Audit(ctx, auth.AuditEntry{Actor: actor, Action: action, Object: object}); err != nil {
		a.log.Warn("audit log", "action", action, "err", err)
	}
}

func newAdminRemoveCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "remove NAME",
		Short: "Remove a dashboard account with its API tokens and sessions",
		Long: `Remove a dashboard account: its API tokens stop working and its sessions end
at once (the next request of its browser goes to the login page). The audit
log keeps what it did.

With --output json it prints {"Name", "Result": "removed", "TokensRevoked"}.

EXIT STATUS
  0 removed; 1 no such account; 2 other errors`,
		Args: cobra.ExactArgs(1),
		RunE: withApp(g, func(cmd *cobra.Command, a *app, args []string) error {
			name := auth.NormalizeName(args[0])
			tokens, err := a.Auth.Tokens(cmd.Context())
			if err != nil {
				return serviceError(err)
			}
			n := 0
			for _, t := range tokens {
				if t.Admin == name {
					n++
				}
			}
			if err := a.Auth.RemoveAdmin(cmd.Context(), name); err != nil {
				return serviceError(err)
			}
			cliAudit(cmd.Context(), a, "admin remove", name)
			if g.output == "json" {
				return printJSON(g.stdout, struct {
					Name, Result  string
					TokensRevoked int
				}{name, "removed", n})
			}
			fmt.Fprintf(g.stdout, "Account %s removed, with its sessions and %d API %s.\n", name, n, pluralS(n, "token"))
			if ok, err := a.Auth.HasAdmins(cmd.Context()); err == nil && !ok {
				fmt.Fprintln(g.stderr, "No account is left: nobody can log in to the dashboard until `imapmigrate admin add NAME --password-file F`.")
			}
			return nil
		}),
	}
	setFieldFlags(cmd, map[string]string{"Name": "NAME"})
	return cmd
}

func newAdminListCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the dashboard accounts",
		Long: `List the dashboard accounts: name, when created, last login.

With --output json it prints [{"Name", "CreatedAt", "LastLoginTime"}].

EXIT STATUS
  0 listed; 2 errors`,
		Args: cobra.NoArgs,
		RunE: withApp(g, func(cmd *cobra.Command, a *app, args []string) error {
			admins, err := a.Auth.Admins(cmd.Context())
			if err != nil {
				return serviceError(err)
			}
			if g.output == "json" {
				if admins == nil {
					admins = []auth.Admin{}
				}
				return printJSON(g.stdout, admins)
			}
			if len(admins) == 0 {
				fmt.Fprintln(g.stdout, "No accounts: create one with `imapmigrate admin add NAME --password-file F`.")
				return nil
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tCREATED\tLAST LOGIN")
			for _, adm := range admins {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", adm.Name, when(adm.CreatedAt), when(adm.LastLogin))
			}
			return tw.Flush()
		}),
	}
}
