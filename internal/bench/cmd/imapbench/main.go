// Command imapbench measures imapmigrate against mbsync: one process per
// mailbox, all mailboxes at once, between two private Dovecots over TLS. It
// prints a table of medians and ratios (or JSON with -json) and exits 1 when
// a run failed its checks. See package bench and docs/BENCHMARKS.md.
//
//	make bench                                   # builds bin/imapmigrate, then:
//	go run ./internal/bench/cmd/imapbench        # the defaults: 70–95 s on 2 cores
//	go run ./internal/bench/cmd/imapbench -runs 5 -messages 6000 -json
//
// It needs dovecot and mbsync (make deps installs them). Run it from the
// module root, or give -imapmigrate.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"

	"github.com/imapmigrate/imapmigrate/internal/bench"
)

// Exit statuses.
const (
	exitOK     = 0
	exitFailed = 1 // a run failed its checks, or the benchmark could not finish
	exitUsage  = 2
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// options are the flags; sizes are in MiB on the command line.
type options struct {
	cfg     bench.Config
	hugeMiB int
	bigMiB  int
	jsonOut bool
	verbose bool
}

func (o *options) addFlags(fs *flag.FlagSet) {
	d := bench.DefaultConfig()
	o.cfg = d
	fs.IntVar(&o.cfg.Corpus.Users, "users", d.Corpus.Users, "mailboxes in the batch; one process each")
	fs.IntVar(&o.cfg.Corpus.Messages, "messages", d.Corpus.Messages, "ordinary messages over all mailboxes (uneven shares)")
	fs.IntVar(&o.cfg.Corpus.HugePerUser, "huge-per-user", d.Corpus.HugePerUser, "huge messages added to each mailbox")
	fs.IntVar(&o.hugeMiB, "huge-mib", d.Corpus.HugeSize>>20, "size of a huge message, MiB")
	fs.Uint64Var(&o.cfg.Corpus.Seed, "seed", d.Corpus.Seed, "corpus seed: the same seed gives the same corpus")
	fs.IntVar(&o.cfg.Runs, "runs", d.Runs, "rounds; each runs both tools, in alternating order")
	fs.BoolVar(&o.cfg.Warmup, "warmup", d.Warmup, "run both tools once, uncounted, before the rounds (-warmup=false to skip)")
	fs.IntVar(&o.cfg.ParallelFolders, "parallel-folders", d.ParallelFolders, "imapmigrate --parallel-folders")
	fs.StringVar(&o.cfg.Imapmigrate, "imapmigrate", d.Imapmigrate, "imapmigrate binary (make build)")
	fs.StringVar(&o.cfg.Mbsync, "mbsync", d.Mbsync, "mbsync binary (apt-get install isync)")
	fs.StringVar(&o.cfg.Time, "time", d.Time, "GNU time, which measures peak RSS (apt-get install time); empty: poll VmHWM")
	fs.IntVar(&o.cfg.BigMessages, "big-messages", d.BigMessages, "messages of the big-message case (0: leave it out)")
	fs.IntVar(&o.bigMiB, "big-mib", d.BigMessageSize>>20, "size of a big-message case message, MiB")
	fs.IntVar(&o.cfg.RSSLimitMiB, "rss-limit-mib", d.RSSLimitMiB, "warn when an imapmigrate process peaks above this RSS")
	fs.BoolVar(&o.cfg.VerifyContent, "verify-content", d.VerifyContent, "after every run, compare each message's bytes, flags and INTERNALDATE, not only the counts (slower)")
	fs.DurationVar(&o.cfg.RunTimeout, "run-timeout", d.RunTimeout, "kill a tool's processes after this long")
	fs.StringVar(&o.cfg.Dir, "dir", "", "work directory (default: a new one under $TMPDIR, removed at the end)")
	fs.BoolVar(&o.cfg.Keep, "keep", false, "keep the work directory")
	fs.BoolVar(&o.jsonOut, "json", false, "print the report as JSON")
	fs.BoolVar(&o.verbose, "v", false, "log each user's load and debug detail")
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("imapbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	o.addFlags(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "imapbench: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	o.cfg.Corpus.HugeSize = o.hugeMiB << 20
	o.cfg.BigMessageSize = o.bigMiB << 20
	o.cfg.Command = commandLine(fs)
	o.cfg.Revision = revision()
	if err := o.cfg.Validate(); err != nil {
		fmt.Fprintln(stderr, "imapbench:", err)
		return exitUsage
	}
	if _, err := os.Stat(o.cfg.Imapmigrate); err != nil {
		fmt.Fprintf(stderr, "imapbench: imapmigrate binary %s: %v (run make build, or give -imapmigrate)\n", o.cfg.Imapmigrate, err)
		return exitUsage
	}

	level := slog.LevelInfo
	if o.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	fmt.Fprintln(stderr, o.cfg.Command)
	rep, err := bench.Run(ctx, o.cfg, log)
	if rep != nil && (err == nil || len(rep.Runs) > 0) {
		if werr := write(stdout, rep, o.jsonOut); werr != nil && err == nil {
			err = werr
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "imapbench:", err)
		return exitFailed
	}
	if rep.Failed {
		return exitFailed
	}
	return exitOK
}

func write(w io.Writer, rep *bench.Report, asJSON bool) error {
	if !asJSON {
		return rep.WriteText(w)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// revision describes the checkout imapmigrate is built from (make bench
// builds bin/imapmigrate from it): the commit, "+dirty" when tracked files
// changed. Empty outside a git checkout.
func revision() string {
	out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return ""
	}
	rev := strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(bytes.TrimSpace(st)) > 0 {
		rev += "+dirty"
	}
	return rev
}

// commandLine is the invocation with every flag spelled out, so a report
// says exactly what ran and can be run again.
func commandLine(fs *flag.FlagSet) string {
	parts := []string{"go run ./internal/bench/cmd/imapbench"}
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name == "dir" && f.Value.String() == "" {
			return
		}
		v := f.Value.String()
		if strings.ContainsAny(v, " '\"$\\") {
			v = "'" + strings.ReplaceAll(v, "'", `'\''`) + "'"
		}
		if _, isBool := f.Value.(interface{ IsBoolFlag() bool }); isBool {
			switch {
			case v == "true":
				parts = append(parts, "-"+f.Name)
			case f.DefValue == "true":
				parts = append(parts, "-"+f.Name+"=false")
			}
			return
		}
		parts = append(parts, "-"+f.Name+" "+v)
	})
	return strings.Join(parts, " ")
}
