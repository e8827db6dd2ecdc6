package cli

import (
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/imapmigrate/imapmigrate/internal/imapconn"
	"github.com/imapmigrate/imapmigrate/internal/migration"
)

func init() { subcommands = append(subcommands, newEndpointCommand) }

func newEndpointCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "endpoint",
		Short: "Manage migration endpoints: how to reach the source and target IMAP servers",
	}
	cmd.AddCommand(newEndpointTestCommand(g), newEndpointNewCommand(g), newEndpointSetCommand(g), newEndpointGetCommand(g), newEndpointRemoveCommand(g))
	return cmd
}

// endpointFlags are the settings of endpoint new and set.
type endpointFlags struct {
	p                 migration.EndpointParams
	security, auth    string
	access            string
	adminPasswordFile string
}

func (f *endpointFlags) add(fs *pflag.FlagSet) {
	e := &f.p.Endpoint
	fs.StringVar(&e.Server, "server", "", "IMAP server host name")
	fs.IntVar(&e.Port, "port", 0, "port (default 993 with ssl, else 143)")
	fs.StringVar(&f.security, "security", "ssl", "none, ssl (implicit TLS) or tls (STARTTLS)")
	fs.StringVar(&f.auth, "auth", "login", "how migration-file rows log in on this (source) server: login or plain (SASL PLAIN, admin forms as authzid)")
	fs.StringVar(&e.MasterSeparator, "master-separator", "*", "the server's master-user separator (Dovecot user*admin)")
	fs.StringVar(&e.CAFile, "ca-file", "", "PEM certificate authorities to trust besides the system's")
	fs.BoolVar(&e.InsecureSkipVerify, "insecure-skip-verify", false, "do not verify the TLS certificate (tests only)")
	fs.IntVar(&e.MaxConcurrentMigrations, "max-concurrent-migrations", migration.DefaultMaxConcurrentMigrations, "users in initial sync at once (at most 300)")
	fs.IntVar(&e.MaxConcurrentIncrementalSyncs, "max-concurrent-incremental-syncs", migration.DefaultMaxConcurrentIncrementalSyncs, "users in incremental sync at once")
	fs.StringVar(&f.access, "mailbox-access", "", "target endpoints: how to open a mailbox by its address: master (LOGIN email*admin), authzid (SASL PLAIN), xoauth2")
	fs.StringVar(&e.AdminUser, "admin-user", "", "target endpoints: the admin (master) user")
	fs.StringVar(&f.adminPasswordFile, "admin-password-file", "", "target endpoints: file holding the admin password")
	fs.StringVar(&e.TokenCommand, "token-command", "", "target endpoints with xoauth2: command run with the address ($1 and $IMAPMIGRATE_TOKEN_EMAIL), printing a bearer token; it gets only PATH, HOME, USER, LOGNAME, LANG, LC_*, TZ and TMPDIR of the environment (write others into the command: 'VAR=value get-token')")
	fs.BoolVar(&f.p.SkipVerify, "skip-verify-connection", false, "save without testing the connection")
}

func (f *endpointFlags) params(name string) (migration.EndpointParams, error) {
	p := f.p
	p.Name = name
	p.Security = imapconn.Security(f.security)
	p.Auth = imapconn.AuthMech(f.auth)
	p.MailboxAccess = migration.MailboxAccess(f.access)
	if f.adminPasswordFile != "" {
		b, err := os.ReadFile(f.adminPasswordFile)
		if err != nil {
			return p, fmt.Errorf("--admin-password-file: %w", err)
		}
		p.AdminPassword = strings.TrimRight(string(b), "\r\n")
		p.ChangePassword = true
	}
	return p, nil
}

func newEndpointNewCommand(g *globalOptions) *cobra.Command {
	f := &endpointFlags{}
	cmd := &cobra.Command{
		Use:         "new NAME --server HOST [flags]",
		Annotations: map[string]string{createsDatabase: ""},
		Short:       "Create a migration endpoint (New-MigrationEndpoint); tests the connection first",
		Long: `Create a migration endpoint. The connection is tested before anything is
saved (--skip-verify-connection saves it anyway). A source endpoint needs only
the server; a target endpoint also says how to open a mailbox named by a
migration user's EmailAddress.

For a target with --mailbox-access master or authzid the test logs in: with
--test-mailbox ADDR it opens that mailbox as batches will (LOGIN ADDR*admin,
or SASL PLAIN as the admin for ADDR) and lists its folders; without it, it
logs in as the admin alone, which a Dovecot master user cannot do: give
--test-mailbox there. Either way a wrong admin password is refused and
nothing is saved. With xoauth2, --test-mailbox runs the token command for
ADDR and logs in with the token.

EXAMPLES
  imapmigrate endpoint new old-imap --server imap.old.example --security ssl
  imapmigrate endpoint new new-dovecot --server imap.new.example --security tls \
    --mailbox-access master --admin-user mailadmin --admin-password-file admin.txt \
    --test-mailbox terry.adams@new.example

EXIT STATUS
  0 created; 1 invalid settings or the connection test failed; 2 other errors`,
		Args: cobra.ExactArgs(1),
		RunE: withApp(g, func(cmd *cobra.Command, a *app, args []string) error {
			p, err := f.params(args[0])
			if err != nil {
				return withExit(ExitUsage, err)
			}
			e, err := a.svc.NewEndpoint(cmd.Context(), p)
			if err != nil {
				return withExit(ExitPartial, err)
			}
			if w := e.CleartextWarning(""); w != "" {
				a.log.Warn(w)
			}
			return printEndpoints(g, []migration.Endpoint{*e})
		}),
	}
	f.add(cmd.Flags())
	cmd.Flags().StringVar(&f.p.TestMailbox, "test-mailbox", "", "target endpoints: the address of a mailbox to open in the connection test, as batches will")
	setFieldFlags(cmd, endpointFields)
	setFieldFlags(cmd, map[string]string{"TestMailbox": "--test-mailbox"})
	return cmd
}

func newEndpointSetCommand(g *globalOptions) *cobra.Command {
	f := &endpointFlags{}
	cmd := &cobra.Command{
		Use:   "set NAME [flags]",
		Short: "Change a migration endpoint (Set-MigrationEndpoint)",
		Args:  cobra.ExactArgs(1),
		RunE: withApp(g, func(cmd *cobra.Command, a *app, args []string) error {
			old, err := a.svc.Endpoints(cmd.Context(), args[0])
			if err != nil {
				return serviceError(err)
			}
			// Unchanged flags keep the endpoint's values.
			p, err := f.params(args[0])
			if err != nil {
				return withExit(ExitUsage, err)
			}
			merged := old[0]
			fs := cmd.Flags()
			set := func(name string, apply func()) {
				if fs.Changed(name) {
					apply()
				}
			}
			set("server", func() { merged.Server = p.Server })
			set("port", func() { merged.Port = p.Port })
			set("security", func() { merged.Security = p.Security })
			set("auth", func() { merged.Auth = p.Auth })
			set("master-separator", func() { merged.MasterSeparator = p.MasterSeparator })
			set("ca-file", func() { merged.CAFile = p.CAFile })
			set("insecure-skip-verify", func() { merged.InsecureSkipVerify = p.InsecureSkipVerify })
			set("max-concurrent-migrations", func() { merged.MaxConcurrentMigrations = p.MaxConcurrentMigrations })
			set("max-concurrent-incremental-syncs", func() { merged.MaxConcurrentIncrementalSyncs = p.MaxConcurrentIncrementalSyncs })
			set("mailbox-access", func() { merged.MailboxAccess = p.MailboxAccess })
			set("admin-user", func() { merged.AdminUser = p.AdminUser })
			set("token-command", func() { merged.TokenCommand = p.TokenCommand })
			p.Endpoint = merged
			e, err := a.svc.SetEndpoint(cmd.Context(), p)
			if err != nil {
				return serviceError(err)
			}
			if w := e.CleartextWarning(""); w != "" {
				a.log.Warn(w)
			}
			return printEndpoints(g, []migration.Endpoint{*e})
		}),
	}
	f.add(cmd.Flags())
	setFieldFlags(cmd, endpointFields)
	return cmd
}

func newEndpointGetCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "get [NAME]",
		Short: "Show migration endpoints (Get-MigrationEndpoint)",
		Args:  cobra.MaximumNArgs(1),
		RunE: withApp(g, func(cmd *cobra.Command, a *app, args []string) error {
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			eps, err := a.svc.Endpoints(cmd.Context(), name)
			if err != nil {
				return serviceError(err)
			}
			return printEndpoints(g, eps)
		}),
	}
}

func newEndpointRemoveCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "remove NAME",
		Short: "Remove a migration endpoint no batch uses (Remove-MigrationEndpoint)",
		Args:  cobra.ExactArgs(1),
		RunE: withApp(g, func(cmd *cobra.Command, a *app, args []string) error {
			if err := a.svc.RemoveEndpoint(cmd.Context(), args[0]); err != nil {
				return serviceError(err)
			}
			if g.output == "json" {
				return printJSON(g.stdout, struct{ Name, Result string }{args[0], "removed"})
			}
			fmt.Fprintf(g.stdout, "Endpoint %s removed.\n", args[0])
			return nil
		}),
	}
}

func printEndpoints(g *globalOptions, eps []migration.Endpoint) error {
	if g.output == "json" {
		if eps == nil {
			eps = []migration.Endpoint{}
		}
		return printJSON(g.stdout, eps)
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSERVER\tPORT\tSECURITY\tMAX MIGRATIONS\tMAX INCREMENTAL\tMAILBOX ACCESS")
	for _, e := range eps {
		access := string(e.MailboxAccess)
		if access == "" {
			access = "(source only)"
		} else if e.AdminUser != "" {
			access += " as " + e.AdminUser
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%d\t%s\n", e.Name, e.Server, e.Port, e.Security, e.MaxConcurrentMigrations, e.MaxConcurrentIncrementalSyncs, access)
	}
	return tw.Flush()
}
