package cli

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/imapmigrate/imapmigrate/internal/migration"
	"github.com/imapmigrate/imapmigrate/internal/scheduler"
	"github.com/imapmigrate/imapmigrate/internal/server"
	"github.com/imapmigrate/imapmigrate/internal/server/httpserver"
	"github.com/imapmigrate/imapmigrate/internal/syncer"
)

func init() {
	subcommands = append(subcommands, func(g *globalOptions) *cobra.Command { return newServeCommand(g, "serve") },
		newWorkerCommand)
}

// workerOptions tune the scheduler of serve, worker and batch run.
type workerOptions struct {
	name            string
	workers         int
	leaseTTL        time.Duration
	poll            time.Duration
	progress        time.Duration
	parallelFolders int
	retryBase       time.Duration
}

func (w *workerOptions) addFlags(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&w.name, "name", "", "this worker's name, unique among the workers of the database (default host/pid)")
	fs.IntVar(&w.workers, "workers", 8, "mailboxes synced at once by this process (endpoint limits apply across all processes)")
	fs.DurationVar(&w.leaseTTL, "lease-ttl", 60*time.Second, "how long a claimed user stays ours without a heartbeat")
	fs.DurationVar(&w.poll, "poll", 2*time.Second, "how often idle workers look for due work")
	fs.DurationVar(&w.progress, "progress-interval", 5*time.Second, "how often a pass's progress is written for every process to see")
	fs.IntVar(&w.parallelFolders, "parallel-folders", 2, "folders of one mailbox copied at once")
	fs.DurationVar(&w.retryBase, "retry-base", 30*time.Second, "first wait before retrying a user whose server failed transiently")
}

func (w *workerOptions) scheduler(a *app, batch string, onEvent func(string, syncer.Event)) *scheduler.Scheduler {
	return a.Scheduler(server.WorkerOptions{Name: w.name, Workers: w.workers, LeaseTTL: w.leaseTTL, Poll: w.poll, Progress: w.progress,
		ParallelFolders: w.parallelFolders, RetryBase: w.retryBase, Version: version()}, batch, onEvent)
}

// httpOptions say where serve (and worker --listen) answers HTTP.
type httpOptions struct {
	listen, tlsCert, tlsKey string
}

func (h *httpOptions) addFlags(cmd *cobra.Command, listen, what string) {
	fs := cmd.Flags()
	fs.StringVar(&h.listen, "listen", listen, "HOST:PORT to serve "+what+" on ("+httpserver.DefaultListen+" is loopback only; :8080 is every address)")
	fs.StringVar(&h.tlsCert, "tls-cert", "", "certificate (PEM) for HTTPS, with --tls-key")
	fs.StringVar(&h.tlsKey, "tls-key", "", "private key (PEM) of --tls-cert")
}

func (h *httpOptions) config() httpserver.Config {
	return httpserver.Config{Listen: h.listen, TLSCert: h.tlsCert, TLSKey: h.tlsKey}
}

func newServeCommand(g *globalOptions, name string) *cobra.Command {
	w := &workerOptions{}
	h := &httpOptions{}
	mailOpts := &smtpOptions{}
	short := "Run the migration service: scheduler, workers, dashboard, REST API and metrics"
	if name == "worker" {
		short = "Run a worker: claim and sync due users, alongside other workers sharing the database"
	}
	cmd := &cobra.Command{
		Use:         name,
		Short:       short,
		Annotations: map[string]string{createsDatabase: ""},
		Long: short + `.

Workers claim due migration users with a lease through the database, never
more per endpoint than its MaxConcurrentMigrations (initial syncs) and
MaxConcurrentIncrementalSyncs (incremental syncs) across all processes, and
re-sync each Synced user after its batch's incremental interval. With
PostgreSQL (--db postgres://…) any number of worker processes on any number
of machines share the work. SIGINT or SIGTERM stops gracefully: no new
user is claimed, passes under way commit their state and their users are
released for another worker.` + httpHelp(name),
		Args: cobra.NoArgs,
		RunE: withApp(g, func(cmd *cobra.Command, a *app, args []string) error {
			ctx, cancel := context.WithCancel(cmd.Context())
			defer cancel()
			// Report e-mails (batch new --notify), when an SMTP server is
			// given; its settings are checked before anything starts.
			notifier, err := mailOpts.notifier(cmd, a, w.name)
			if err != nil {
				return err
			}
			var web *httpserver.Server
			if h.listen != "" {
				parts := httpserver.WorkerParts(a.Server)
				if name == "serve" {
					var err error
					if parts, err = httpserver.ServeParts(a.Server); err != nil {
						return withExit(ExitUsage, err)
					}
				}
				var err error
				web, err = httpserver.Listen(h.config(), httpserver.Handler(parts, a.log), a.log)
				if err != nil {
					return withExit(ExitUsage, err)
				}
			}
			s := w.scheduler(a, "", nil)
			if s.Owner == "" {
				s.Owner = scheduler.DefaultName()
			}
			attrs := []any{"database", a.Database, "worker", s.Owner, "workers", w.workers}
			if web != nil {
				attrs = append(attrs, "url", web.URL())
			}
			a.log.Info(name+" starting", attrs...)
			warnings, err := a.svc.CleartextWarnings(ctx, "")
			if err != nil {
				return withExit(ExitUsage, err)
			}
			for _, msg := range warnings {
				a.log.Warn(msg)
			}
			if name == "serve" && web != nil {
				if ok, err := a.Auth.HasAdmins(ctx); err == nil && !ok {
					a.log.Warn("no dashboard account yet: create one with `imapmigrate admin add NAME --password-file F`")
				}
			}
			if notifier != nil {
				notifier.Start(ctx)
				defer notifier.Stop()
			}
			runner := server.Start(ctx, s)
			httpDone := make(chan error, 1)
			if web != nil {
				go func() { httpDone <- web.Serve(ctx) }()
			}
			// Either ending ends the other: a service without its
			// scheduler, or without its HTTP server, is not the service.
			var httpErr error
			select {
			case <-runner.Done():
			case httpErr = <-httpDone:
				httpDone <- nil
			}
			cancel()
			schedErr := runner.Stop()
			if web != nil {
				if err := <-httpDone; err != nil && httpErr == nil {
					httpErr = err
				}
			}
			if cmd.Context().Err() == nil {
				if schedErr != nil {
					return withExit(ExitUsage, schedErr)
				}
				if httpErr != nil {
					return withExit(ExitUsage, fmt.Errorf("http: %w", httpErr))
				}
			}
			fmt.Fprintln(g.stderr, name+" stopped")
			return nil
		}),
	}
	w.addFlags(cmd)
	mailOpts.addFlags(cmd)
	setFieldFlags(cmd, map[string]string{"Listen": "--listen", "TLSCert": "--tls-cert", "TLSKey": "--tls-key"})
	if name == "serve" {
		h.addFlags(cmd, httpserver.DefaultListen, "the dashboard, the REST API (/api/v1), /metrics, /healthz and /readyz")
	} else {
		h.addFlags(cmd, "", "/metrics, /healthz and /readyz (none by default)")
	}
	return cmd
}

func httpHelp(name string) string {
	if name == "serve" {
		return `

The dashboard, the REST API (/api/v1, bearer tokens from ` + "`imapmigrate token new`" + `),
/metrics (Prometheus), /healthz and /readyz are served on --listen, by
default on loopback only; --tls-cert and --tls-key serve HTTPS. Create a
dashboard account first: ` + "`imapmigrate admin add NAME --password-file F`" + `.`
	}
	return `

With --listen HOST:PORT a worker also serves /metrics (Prometheus),
/healthz and /readyz.`
}

func newWorkerCommand(g *globalOptions) *cobra.Command {
	cmd := newServeCommand(g, "worker")
	cmd.Use = "worker [list]"
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List the live workers of the database (seen in the last minute)",
		Args:  cobra.NoArgs,
		RunE: withApp(g, func(cmd *cobra.Command, a *app, args []string) error {
			ws, err := a.svc.Workers(cmd.Context())
			if err != nil {
				return serviceError(err)
			}
			if g.output == "json" {
				if ws == nil {
					ws = []migration.Worker{}
				}
				return printJSON(g.stdout, ws)
			}
			if len(ws) == 0 {
				fmt.Fprintln(g.stdout, noWorkerHint)
				return nil
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tHOST\tPID\tWORKERS\tACTIVE\tSTARTED\tLAST SEEN\tVERSION")
			for _, w := range ws {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t%s\t%s\n", w.Name, w.Host, w.PID, w.Slots, w.Busy, when(w.Started), when(w.Seen), w.Version)
			}
			return tw.Flush()
		}),
	})
	return cmd
}

const noWorkerHint = "No worker is running: start `imapmigrate serve` or `imapmigrate worker` (on any machine sharing this database) to sync."

// version is the short version recorded with a worker.
func version() string {
	v := versionOf(buildInfo())
	if v.Revision != "" {
		return v.Version + " " + v.Revision[:min(12, len(v.Revision))]
	}
	return v.Version
}
