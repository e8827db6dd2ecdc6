package cli

import (
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/imapmigrate/imapmigrate/internal/auth"
)

func init() { subcommands = append(subcommands, newTokenCommand) }

func newTokenCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "API tokens of the REST API: new, list, revoke"}
	cmd.AddCommand(newTokenNewCommand(g), newTokenListCommand(g), newTokenRevokeCommand(g))
	return cmd
}

func newTokenNewCommand(g *globalOptions) *cobra.Command {
	var admin string
	cmd := &cobra.Command{
		Use:   "new NAME --admin ACCOUNT",
		Short: "Create an API token for the REST API; it is shown once",
		Long: `Create an API token named NAME that acts as the dashboard account ACCOUNT (the
audit log names both). The token is printed once, alone on standard output,
and stored only as a hash: it cannot be shown again; a lost token is revoked
and replaced. Send it as "Authorization: Bearer TOKEN" to /api/v1/….

NAME is 1 to 64 letters, digits, '.', '-', '_' or '@', case-insensitive,
unique across accounts.

With --output json it prints {"Name", "Admin", "CreatedAt", "Secret"}.

EXAMPLES
  TOKEN=$(imapmigrate token new ci --admin alice)
  curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8080/api/v1/batches

EXIT STATUS
  0 created; 1 a bad or taken name, or no such account (nothing was
  created); 2 other errors`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if admin == "" {
				return withExit(ExitUsage, errors.New("--admin is required: the dashboard account the token acts as (`imapmigrate admin list` lists them)"))
			}
			if err := auth.ValidateName("Name", args[0]); err != nil {
				return serviceError(err)
			}
			return withApp(g, func(cmd *cobra.Command, a *app, args []string) error {
				secret, tok, err := a.Auth.NewToken(cmd.Context(), admin, args[0])
				if err != nil {
					return serviceError(err)
				}
				cliAudit(cmd.Context(), a, "token new", tok.Name)
				if g.output == "json" {
					return printJSON(g.stdout, struct {
						auth.Token
						Secret string `json:"Secret"`
					}{*tok, secret})
				}
				fmt.Fprintln(g.stdout, secret)
				fmt.Fprintf(g.stderr, "API token %s of account %s: the line above is the token. It will not be shown again: store it now.\n",
					tok.Name, tok.Admin)
				return nil
			})(cmd, args)
		},
	}
	cmd.Flags().StringVar(&admin, "admin", "", "the dashboard account the token acts as (required)")
	setFieldFlags(cmd, map[string]string{"Name": "NAME", "Admin": "--admin"})
	return cmd
}

func newTokenListCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the API tokens (never their secrets)",
		Long: `List the API tokens: name, account, when created, last used (to the minute).
Their secrets are not stored and cannot be shown.

With --output json it prints [{"Name", "Admin", "CreatedAt", "LastUsedTime"}].

EXIT STATUS
  0 listed; 2 errors`,
		Args: cobra.NoArgs,
		RunE: withApp(g, func(cmd *cobra.Command, a *app, args []string) error {
			tokens, err := a.Auth.Tokens(cmd.Context())
			if err != nil {
				return serviceError(err)
			}
			if g.output == "json" {
				if tokens == nil {
					tokens = []auth.Token{}
				}
				return printJSON(g.stdout, tokens)
			}
			if len(tokens) == 0 {
				fmt.Fprintln(g.stdout, "No API tokens: create one with `imapmigrate token new NAME --admin ACCOUNT`.")
				return nil
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tADMIN\tCREATED\tLAST USED")
			for _, t := range tokens {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.Name, t.Admin, when(t.CreatedAt), when(t.LastUsed))
			}
			return tw.Flush()
		}),
	}
}

func newTokenRevokeCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "revoke NAME",
		Short: "Revoke an API token: requests with it are refused from now on",
		Long: `Revoke an API token: every request with it is refused (401) from now on, by
every serve process of the database.

With --output json it prints {"Name", "Result": "revoked"}.

EXIT STATUS
  0 revoked; 1 no such token; 2 other errors`,
		Args: cobra.ExactArgs(1),
		RunE: withApp(g, func(cmd *cobra.Command, a *app, args []string) error {
			name := auth.NormalizeName(args[0])
			if err := a.Auth.RevokeToken(cmd.Context(), name); err != nil {
				return serviceError(err)
			}
			cliAudit(cmd.Context(), a, "token revoke", name)
			if g.output == "json" {
				return printJSON(g.stdout, struct{ Name, Result string }{name, "revoked"})
			}
			fmt.Fprintf(g.stdout, "API token %s revoked: requests with it are refused from now on.\n", name)
			return nil
		}),
	}
	setFieldFlags(cmd, map[string]string{"Name": "NAME"})
	return cmd
}
