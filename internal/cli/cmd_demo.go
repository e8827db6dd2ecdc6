package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/imapmigrate/imapmigrate/internal/demoserver"
	"github.com/imapmigrate/imapmigrate/internal/imapconn"
	"github.com/imapmigrate/imapmigrate/internal/migration"
	"github.com/imapmigrate/imapmigrate/internal/report"
)

func init() { subcommands = append(subcommands, newDemoCommand) }

func newDemoCommand(g *globalOptions) *cobra.Command {
	var users int
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Migrate a few sample mailboxes between two in-process IMAP servers, end to end",
		Long: `Start two IMAP servers inside this process (the source understands the
Dovecot master login user*admin), fill the source with sample mailboxes
(nested and non-ASCII folders, flags, attachments), create the endpoints and a
batch from a generated migration file in the admin format, run it with
progress, and print the batch and its report. It writes only to a temporary
directory unless --data-dir is given.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("log-level") {
				g.logLevel = "warn" // the progress shows what happens
			}
			return runDemo(cmd.Context(), g, users, cmd.Flags().Changed("data-dir"))
		},
	}
	cmd.Flags().IntVar(&users, "users", 4, "sample mailboxes")
	return cmd
}

func runDemo(ctx context.Context, g *globalOptions, nUsers int, keepDir bool) error {
	out := g.stdout
	if !keepDir {
		dir, err := os.MkdirTemp("", "imapmigrate-demo-")
		if err != nil {
			return withExit(ExitUsage, err)
		}
		defer os.RemoveAll(dir)
		g.dataDir = dir
	}
	ca, err := demoserver.NewCA(filepath.Join(g.dataDir, "demo-ca"))
	if err != nil {
		return withExit(ExitUsage, err)
	}
	quiet := log.New(io.Discard, "", 0)
	const adminPW = "demo-admin-password"
	src, err := demoserver.NewMemServer(ca, demoserver.MemServerOptions{MasterUser: "mailadmin", MasterPassword: adminPW, Logger: quiet})
	if err != nil {
		return withExit(ExitUsage, err)
	}
	defer src.Close()
	tgt, err := demoserver.NewMemServer(ca, demoserver.MemServerOptions{MasterUser: "mailadmin", MasterPassword: adminPW, Logger: quiet})
	if err != nil {
		return withExit(ExitUsage, err)
	}
	defer tgt.Close()

	fmt.Fprintf(out, "1. Two IMAP servers are running in this process: source %s, target %s (TLS, a demo CA).\n", src.TLSAddr(), tgt.TLSAddr())
	names := []string{"terry.adams", "ann.beck", "li.wei", "sven.olsson", "maria.garcia", "yuki.tanaka"}
	var csv bytes.Buffer
	csv.WriteString("EmailAddress,UserName,Password\r\n")
	rng := rand.New(rand.NewPCG(2026, 4))
	total := 0
	for i := 0; i < nUsers; i++ {
		name := names[i%len(names)]
		if i >= len(names) {
			name = fmt.Sprintf("%s%d", name, i)
		}
		if err := src.AddUser(name, "user-pw"); err != nil {
			return withExit(ExitUsage, err)
		}
		email := name + "@new.example"
		if err := tgt.AddUser(email, "user-pw"); err != nil {
			return withExit(ExitUsage, err)
		}
		n, err := seedDemoMailbox(src, name, rng)
		if err != nil {
			return withExit(ExitUsage, err)
		}
		total += n
		fmt.Fprintf(&csv, "%s,%s*mailadmin,%s\r\n", email, name, adminPW)
	}
	fmt.Fprintf(out, "2. The source holds %d mailboxes, %d messages (folders like Archive/2024, Projekt/Entwürfe, 已发送).\n", nUsers, total)
	csvPath := filepath.Join(g.dataDir, "migration.csv")
	if err := os.WriteFile(csvPath, csv.Bytes(), 0o600); err != nil {
		return withExit(ExitUsage, err)
	}
	fmt.Fprintf(out, "3. Migration file %s, in the Dovecot admin format (user*mailadmin + the admin password):\n", csvPath)
	for _, line := range strings.Split(strings.TrimSpace(csv.String()), "\r\n")[:2] {
		fmt.Fprintf(out, "     %s\n", strings.Replace(line, adminPW, "********", 1))
	}

	a, err := openApp(ctx, g, false)
	if err != nil {
		return err
	}
	defer a.close()
	a.log = a.log.With() // keep --log-level
	for _, p := range []migration.EndpointParams{
		{Endpoint: migration.Endpoint{Name: "old-imap", Server: src.Host, Port: src.TLSPort, Security: imapconn.SecuritySSL, CAFile: ca.CAFile,
			MaxConcurrentMigrations: 3, MaxConcurrentIncrementalSyncs: 2}},
		{Endpoint: migration.Endpoint{Name: "new-imap", Server: tgt.Host, Port: tgt.TLSPort, Security: imapconn.SecuritySSL, CAFile: ca.CAFile,
			MaxConcurrentMigrations: 3, MaxConcurrentIncrementalSyncs: 2, MailboxAccess: migration.AccessMaster, AdminUser: "mailadmin"},
			AdminPassword: adminPW, TestMailbox: names[0] + "@new.example"},
	} {
		if _, err := a.svc.NewEndpoint(ctx, p); err != nil {
			return withExit(ExitUsage, err)
		}
	}
	fmt.Fprintln(out, "4. Endpoints old-imap (source) and new-imap (target, master-user access) created after a connection test.")
	f, err := os.Open(csvPath)
	if err != nil {
		return withExit(ExitUsage, err)
	}
	b, _, err := a.svc.NewBatch(ctx, migration.BatchParams{Name: "DemoBatch", Source: "old-imap", Target: "new-imap", CSV: f,
		ExcludeFolders: []string{"#JunkEmail#"}, IncrementalInterval: time.Hour, AutoStart: true})
	f.Close()
	if err != nil {
		return serviceError(err)
	}
	fmt.Fprintf(out, "5. Batch %s created with %d users and started (Junk excluded). Running it:\n\n", b.Name, b.Users)

	w := &workerOptions{workers: 4, leaseTTL: 30 * time.Second, poll: 200 * time.Millisecond, parallelFolders: 2, retryBase: time.Second}
	bar := newBatchProgress(g.stderr)
	s := w.scheduler(a, b.Name, bar.event)
	bar.start(ctx)
	err = s.Drain(ctx, func() bool {
		users, err := a.svc.Users(ctx, b.Name, "")
		if err != nil {
			return true
		}
		for _, u := range users {
			if u.Status == migration.UserQueued || u.Status == migration.UserSyncing {
				return false
			}
		}
		return true
	})
	bar.stop()
	if err != nil {
		return withExit(ExitUsage, err)
	}
	fmt.Fprintln(out, "\n6. imapmigrate batch get DemoBatch")
	bs, err := a.svc.Batches(ctx, b.Name)
	if err != nil {
		return serviceError(err)
	}
	printBatches(g, bs)
	fmt.Fprintln(out, "\n7. imapmigrate batch report DemoBatch")
	users, _ := a.svc.Users(ctx, b.Name, "")
	report.Write(out, "csv", users)
	dataDir := g.dataDir
	if !keepDir {
		dataDir = "(a temporary directory, now deleted)"
	}
	fmt.Fprintf(out, `
Done: every mailbox is on the target with its folders, flags and dates.
Data directory: %s

Try next:
  go run ./cmd/imapmigrate demo --data-dir ./demo-data       # keep the database, then:
  go run ./cmd/imapmigrate --data-dir ./demo-data user get --batch DemoBatch
  go run ./cmd/imapmigrate --data-dir ./demo-data user stats terry.adams@new.example --folders
  go run ./cmd/imapmigrate csv check ./demo-data/migration.csv
  go run ./internal/devservers                                 # real Dovecot servers for imapmigrate sync
`, dataDir)
	return nil
}

// seedDemoMailbox fills one source mailbox and returns its message count.
func seedDemoMailbox(s *demoserver.MemServer, user string, rng *rand.Rand) (int, error) {
	c, err := demoserver.DialLogin(s.Addr(), user, "user-pw", nil)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	folders := map[string]int{"INBOX": 25, "Sent": 10, "Archive/2024": 15, "Archive/2025": 8, "Projekt/Entwürfe": 4, "已发送": 3, "Junk": 5}
	return demoserver.SeedSample(c, rng, folders)
}
