package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/imapmigrate/imapmigrate/internal/scheduler"
	"github.com/imapmigrate/imapmigrate/internal/syncer"
)

func init() {
	subcommands = append(subcommands, func(g *globalOptions) *cobra.Command { return newServeCommand(g, "serve") },
		func(g *globalOptions) *cobra.Command { return newServeCommand(g, "worker") })
}

// workerOptions tune the scheduler of serve, worker and batch run.
type workerOptions struct {
	workers         int
	leaseTTL        time.Duration
	poll            time.Duration
	parallelFolders int
	retryBase       time.Duration
}

func (w *workerOptions) addFlags(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.IntVar(&w.workers, "workers", 8, "mailboxes synced at once by this process (endpoint limits apply across all processes)")
	fs.DurationVar(&w.leaseTTL, "lease-ttl", 60*time.Second, "how long a claimed user stays ours without a heartbeat")
	fs.DurationVar(&w.poll, "poll", 2*time.Second, "how often idle workers look for due work")
	fs.IntVar(&w.parallelFolders, "parallel-folders", 2, "folders of one mailbox copied at once")
	fs.DurationVar(&w.retryBase, "retry-base", 30*time.Second, "first wait before retrying a user whose server failed transiently")
}

func (w *workerOptions) scheduler(a *app, batch string, onEvent func(string, syncer.Event)) *scheduler.Scheduler {
	runner := &scheduler.SyncRunner{States: a.store, Box: a.box, Log: a.log, OnEvent: onEvent, RetryBase: w.retryBase,
		Options: syncer.Options{ParallelFolders: w.parallelFolders, Retry: syncer.Retry{Base: time.Second}}}
	return &scheduler.Scheduler{Store: a.store, Run: runner.Run, Owner: ownerID(), Workers: w.workers, LeaseTTL: w.leaseTTL,
		Poll: w.poll, Log: a.log, Batch: batch}
}

func newServeCommand(g *globalOptions, name string) *cobra.Command {
	w := &workerOptions{}
	short := "Run the migration service: scheduler and workers (the REST API and dashboard will join it)"
	if name == "worker" {
		short = "Run scheduler and workers only, alongside other processes sharing the database"
	}
	cmd := &cobra.Command{
		Use:   name,
		Short: short,
		Long: short + `.

Workers claim due migration users with a lease through the database, never
more per endpoint than its MaxConcurrentMigrations (initial syncs) and
MaxConcurrentIncrementalSyncs (incremental syncs) across all processes, and
re-sync each Synced user after its batch's incremental interval. SIGINT or
SIGTERM stops gracefully: passes under way commit their state and their
users are released for another worker.`,
		Args: cobra.NoArgs,
		RunE: withApp(g, func(cmd *cobra.Command, a *app, args []string) error {
			s := w.scheduler(a, "", nil)
			a.log.Info(name+" starting", "owner", s.Owner, "workers", w.workers)
			warnings, err := a.svc.CleartextWarnings(cmd.Context(), "")
			if err != nil {
				return withExit(ExitUsage, err)
			}
			for _, msg := range warnings {
				a.log.Warn(msg)
			}
			err = s.Serve(cmd.Context())
			if err != nil && cmd.Context().Err() == nil {
				return withExit(ExitUsage, err)
			}
			fmt.Fprintln(g.stderr, name+" stopped")
			return nil
		}),
	}
	w.addFlags(cmd)
	return cmd
}
