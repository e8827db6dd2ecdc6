package cli

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/imapmigrate/imapmigrate/internal/imapconn"
	"github.com/imapmigrate/imapmigrate/internal/sensitive"
)

func newEndpointTestCommand(g *globalOptions) *cobra.Command {
	var host, security, user, passwordFile, caFile, auth string
	var port int
	var insecure bool
	cmd := &cobra.Command{
		Use:   "test --server HOST [--port P] [--security none|ssl|tls] [--user U --password-file F]",
		Short: "Check that an IMAP server can be reached and used (Test-MigrationServerAvailability)",
		Long: `Resolve the host, connect, negotiate TLS (certificate subject and expiry),
read the capabilities that matter to a migration, and, with --user, log in and
count the folders. Each failure says what failed and the likely fix.

EXIT STATUS
  0 every check passed; 1 a check failed; 2 usage error`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := g.validateOutput(); err != nil {
				return err
			}
			log, err := newLogger(g.stderr, g.logLevel)
			if err != nil {
				return withExit(ExitUsage, err)
			}
			side := sideFlags{name: "endpoint", host: host, port: port, security: security, user: user, passwordFile: passwordFile, auth: auth}
			// No Name: the probe then names the flags of this command (--security).
			cfg := &imapconn.Config{Host: host, Port: port, Security: imapconn.Security(security), CAFile: caFile,
				InsecureSkipVerify: insecure, Auth: imapconn.AuthMech(auth), User: user, DialTimeout: 10 * time.Second}
			if user != "" {
				pw, err := side.secret(g.stdin)
				if err != nil {
					return withExit(ExitUsage, fmt.Errorf("%w (for endpoint test: --password-file or IMAPMIGRATE_ENDPOINT_PASSWORD)", err))
				}
				cfg.Password = sensitive.String(pw)
			}
			if host == "" {
				return withExit(ExitUsage, fmt.Errorf("--server is required"))
			}
			r := imapconn.Probe(cmd.Context(), cfg, user != "", log)
			if g.output == "json" {
				printJSON(g.stdout, r)
			} else {
				printProbe(g, r)
			}
			if !r.OK {
				return withExit(ExitPartial, nil)
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&host, "server", "", "IMAP server host name")
	fs.IntVar(&port, "port", 0, "port (default 993 with ssl, else 143)")
	fs.StringVar(&security, "security", "ssl", "none, ssl (implicit TLS) or tls (STARTTLS)")
	fs.StringVar(&user, "user", "", "log in as this user too")
	fs.StringVar(&passwordFile, "password-file", "", "the user's password")
	fs.StringVar(&auth, "auth", "login", "login, plain, xoauth2 or oauthbearer")
	fs.StringVar(&caFile, "ca-file", "", "PEM certificate authorities to trust besides the system's")
	fs.BoolVar(&insecure, "insecure-skip-verify", false, "do not verify the TLS certificate (tests only)")
	return cmd
}

func printProbe(g *globalOptions, r *imapconn.ProbeReport) {
	w := g.stdout
	fmt.Fprintf(w, "%s port %d, security %s\n\n", r.Host, r.Port, r.Security)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, s := range r.Steps {
		mark := "ok"
		if !s.OK {
			mark = "FAILED"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", s.Name, mark, s.Detail)
		if s.Fix != "" {
			fmt.Fprintf(tw, "\t\tfix: %s\n", s.Fix)
		}
	}
	tw.Flush()
	if t := r.TLS; t != nil && t.Certificate != nil {
		c := t.Certificate
		fmt.Fprintf(w, "\nCertificate: %s, issued by %s, valid until %s (verified: %v)\n", c.Subject, c.Issuer, c.NotAfter.Format(time.DateOnly), t.Verified)
		if len(c.SANs) > 0 {
			fmt.Fprintf(w, "Names: %s\n", strings.Join(c.SANs, ", "))
		}
	}
	if len(r.Features) > 0 {
		fmt.Fprintln(w, "\nCapabilities that matter:")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, f := range r.Features {
			mark := "no"
			if f.Offered {
				mark = "yes"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", f.Name, mark, f.Note)
		}
		tw.Flush()
	}
	if len(r.AuthMechanisms) > 0 {
		fmt.Fprintf(w, "Login mechanisms: %s\n", strings.Join(r.AuthMechanisms, ", "))
	}
	if r.LoggedIn {
		fmt.Fprintf(w, "Logged in as %s: %d folders\n", r.User, r.FolderCount)
	}
	for _, warn := range r.Warnings {
		fmt.Fprintln(w, "Warning:", warn)
	}
	if r.OK {
		fmt.Fprintln(w, "\nThe server is ready for a migration.")
	}
}
