package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/testenv"
)

// Config is one benchmark. DefaultConfig gives the `make bench` figures.
type Config struct {
	// Dir holds the servers, the corpus and each run's state. Empty: a new
	// directory under the system's temp dir, removed at the end unless Keep.
	// Dovecot runs as the mail user when the benchmark runs as root, so
	// every parent of Dir must be searchable by others (/tmp is).
	Dir  string `json:"dir,omitempty"`
	Keep bool   `json:"keep"`
	// Corpus is the batch every round copies.
	Corpus CorpusOptions `json:"corpus"`
	// Runs is the number of rounds; each runs every tool once.
	Runs int `json:"runs"`
	// Warmup adds an untimed round 0 before them: the first pass over the
	// source fills Dovecot's caches and the page cache, which would
	// otherwise favour the tool that runs second in round 1.
	Warmup bool `json:"warmup"`
	// ParallelFolders is imapmigrate's --parallel-folders.
	ParallelFolders int `json:"parallel_folders"`
	// Imapmigrate and Mbsync are the programs run.
	Imapmigrate string `json:"imapmigrate"`
	Mbsync      string `json:"mbsync"`
	// Time is GNU time, which measures peak RSS (see RSSByTime). When it
	// is empty or missing, VmHWM is polled instead.
	Time string `json:"time"`
	// BigMessages messages of BigMessageSize bytes make the big-message
	// case, copied by each tool in Runs rounds after the batch rounds; 0
	// leaves it out.
	BigMessages    int `json:"big_messages"`
	BigMessageSize int `json:"big_message_size"`
	// RSSLimitMiB is imapmigrate's peak RSS target; a run above it is
	// flagged (not failed).
	RSSLimitMiB int `json:"rss_limit_mib"`
	// VerifyContent compares, after every run, each target message with
	// its source (bytes, flags, keywords, INTERNALDATE), not only the
	// counts. It reads both mailboxes whole: slower, off by default.
	VerifyContent bool `json:"verify_content"`
	// RunTimeout bounds one tool's run; its processes are killed after it.
	RunTimeout time.Duration `json:"run_timeout_ns"`
	// Command is the benchmark's own command line, and Revision the source
	// revision imapmigrate was built from, for the report.
	Command  string `json:"-"`
	Revision string `json:"revision,omitempty"`
}

// DefaultConfig is the `make bench` benchmark: about 5,000 messages and
// 440 MiB in four mailboxes, a warm-up and three rounds, then the
// big-message case: 70–95 s on two cores (docs/BENCHMARKS.md).
func DefaultConfig() Config {
	return Config{
		Corpus: CorpusOptions{
			Seed:        1,
			Users:       4,
			Messages:    5000,
			HugePerUser: 1,
			HugeSize:    30 << 20,
		},
		Runs:            3,
		Warmup:          true,
		ParallelFolders: 2,
		Imapmigrate:     "bin/imapmigrate",
		Mbsync:          "mbsync",
		Time:            "/usr/bin/time",
		BigMessages:     4,
		BigMessageSize:  30 << 20,
		RSSLimitMiB:     150,
		RunTimeout:      10 * time.Minute,
	}
}

// Validate names the first field that cannot work, and how to fix it.
func (c *Config) Validate() error {
	switch {
	case c.Corpus.Users < 1:
		return errors.New("users: need at least 1")
	case c.Corpus.Messages < 0:
		return errors.New("messages: must not be negative")
	case c.Corpus.HugePerUser < 0:
		return errors.New("huge-per-user: must not be negative")
	case c.Corpus.HugePerUser > 0 && c.Corpus.HugeSize < bulkMin:
		return fmt.Errorf("huge-size: must be at least %d bytes", bulkMin)
	case c.Corpus.Messages+c.Corpus.HugePerUser == 0:
		return errors.New("messages: the corpus is empty; give -messages or -huge-per-user")
	case c.Runs < 1:
		return errors.New("runs: need at least 1")
	case c.ParallelFolders < 1:
		return errors.New("parallel-folders: need at least 1")
	case c.Imapmigrate == "":
		return errors.New("imapmigrate: give the path of the imapmigrate binary (make build puts it in bin/)")
	case c.Mbsync == "":
		return errors.New("mbsync: give the mbsync binary (apt-get install isync)")
	case c.BigMessages < 0:
		return errors.New("big-messages: must not be negative")
	case c.BigMessages > 0 && c.BigMessageSize < bulkMin:
		return fmt.Errorf("big-message-size: must be at least %d bytes", bulkMin)
	case c.RunTimeout <= 0:
		return errors.New("run-timeout: must be positive")
	}
	return nil
}

// Run sets up the servers, loads the corpus, runs every round and the
// big-message case, and returns the report. The error is for what stopped
// the benchmark; a run that failed its checks is in the report (Failed), and
// the other runs still happen.
func Run(ctx context.Context, cfg Config, log *slog.Logger) (*Report, error) {
	err := cfg.Validate()
	if err != nil {
		return nil, err
	}
	// Absolute paths: the tools run in each run's directory.
	if cfg.Imapmigrate, err = resolveBinary("imapmigrate", cfg.Imapmigrate); err != nil {
		return nil, err
	}
	if cfg.Mbsync, err = resolveBinary("mbsync", cfg.Mbsync); err != nil {
		return nil, err
	}
	corpus, err := NewCorpus(cfg.Corpus)
	if err != nil {
		return nil, err
	}
	var big *Corpus
	if cfg.BigMessages > 0 {
		big = BigMessageCorpus(cfg.Corpus.Seed, cfg.BigMessages, cfg.BigMessageSize)
	}
	rep := &Report{Command: cfg.Command, Started: time.Now().UTC(), Config: cfg, Corpus: corpus.Stats()}
	defer rep.summarize() // also when a run stops the benchmark: the runs so far are reported
	if big != nil {
		s := big.Stats()
		rep.BigCorpus = &s
	}
	rep.Machine = describeMachine(cfg)
	timeBinary := ""
	rep.RSSMethod = RSSByPolling
	if cfg.Time != "" {
		if p, err := exec.LookPath(cfg.Time); err == nil {
			timeBinary, rep.RSSMethod = p, RSSByTime
		} else {
			log.Warn("GNU time not found: peak RSS is polled, a lower bound (apt-get install time)", "time", cfg.Time)
		}
	}

	dir, cleanup, err := workDir(cfg.Dir, cfg.Keep)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	log.Info("work dir", "dir", dir)

	ca, err := testenv.NewCA(filepath.Join(dir, "ca"))
	if err != nil {
		return nil, err
	}
	users := map[string]string{}
	for _, c := range []*Corpus{corpus, big} {
		if c != nil {
			for _, u := range c.Users {
				users[u.Name] = "not-used-" + u.Name // master logins only
			}
		}
	}
	source, err := testenv.Start(ctx, filepath.Join(dir, "source"), testenv.DovecotOptions{CA: ca, Users: users})
	if err != nil {
		return nil, fmt.Errorf("start source dovecot: %w", err)
	}
	defer source.Kill() // throw-away data: no graceful stop needed

	began := time.Now()
	log.Info("loading corpus", "users", rep.Corpus.Users, "messages", rep.Corpus.Messages, "mib", round1(mib(rep.Corpus.Bytes)))
	if err := Load(ctx, source, corpus, log); err != nil {
		return nil, err
	}
	if big != nil {
		if err := Load(ctx, source, big, log); err != nil {
			return nil, err
		}
	}
	log.Info("corpus loaded", "seconds", round1(time.Since(began).Seconds()))

	tools := []tool{
		imapmigrateTool{binary: cfg.Imapmigrate, parallelFolders: cfg.ParallelFolders},
		mbsyncTool{binary: cfg.Mbsync},
	}
	b := &bencher{cfg: cfg, dir: dir, timeBinary: timeBinary, ca: ca, source: source, users: users, log: log, report: rep,
		sourceSnapshots: map[string]map[string][]testenv.MessageInfo{}}
	// Round 0 is the warm-up: each tool once, checked but not counted.
	first := 1
	if cfg.Warmup {
		first = 0
	}
	for round := first; round <= cfg.Runs; round++ {
		for _, t := range roundOrder(tools, round) {
			res, err := b.run(ctx, t, corpus, CaseBatch, round)
			if err != nil {
				return rep, err
			}
			rep.Runs = append(rep.Runs, res)
		}
	}
	for round := 1; big != nil && round <= cfg.Runs; round++ {
		for _, t := range roundOrder(tools, round) {
			res, err := b.run(ctx, t, big, CaseBigMessage, round)
			if err != nil {
				return rep, err
			}
			rep.Big = append(rep.Big, res)
		}
	}
	return rep, nil
}

// serverHost is how both tools reach the servers. A name, not 127.0.0.1:
// isync 1.4 checks the certificate's DNS names only, not its IP addresses.
const serverHost = "localhost"

// roundOrder alternates which tool goes first, so that neither always meets
// the caches the other one warmed.
func roundOrder(tools []tool, round int) []tool {
	if round%2 == 1 {
		return tools
	}
	r := slices.Clone(tools)
	slices.Reverse(r)
	return r
}

// Cases of a run.
const (
	CaseBatch      = "batch"
	CaseBigMessage = "big-message"
)

// bencher runs the tools against the shared source.
type bencher struct {
	cfg        Config
	dir        string
	timeBinary string
	ca         *testenv.CA
	source     *testenv.Dovecot
	users      map[string]string
	log        *slog.Logger
	report     *Report
	// sourceSnapshots caches the source's content per user for
	// VerifyContent; the source never changes.
	sourceSnapshots map[string]map[string][]testenv.MessageInfo
}

// run copies c with t into a fresh target and measures it. Only what stops
// the benchmark (a server that does not start, a cancelled ctx) is an
// error; a tool failure or a wrong count is recorded in the result.
func (b *bencher) run(ctx context.Context, t tool, c *Corpus, kase string, round int) (RunResult, error) {
	runDir := filepath.Join(b.dir, "runs", fmt.Sprintf("%s-%d-%s", kase, round, t.name()))
	if err := os.MkdirAll(runDir, 0o711); err != nil {
		return RunResult{}, err
	}
	defer os.RemoveAll(runDir) // a target holds a whole corpus copy
	target, err := testenv.Start(ctx, filepath.Join(runDir, "target"), testenv.DovecotOptions{CA: b.ca, Users: b.users})
	if err != nil {
		return RunResult{}, fmt.Errorf("start target dovecot: %w", err)
	}
	defer target.Kill()

	procs, err := t.processes(runEnv{dir: runDir, host: serverHost, source: b.source, target: target, users: c.Users})
	if err != nil {
		return RunResult{}, err
	}
	if _, ok := b.report.Commands[t.name()]; !ok && len(procs) > 0 {
		b.report.recordCommand(t.name(), procs[0].argv)
	}

	stats := c.Stats()
	b.log.Info("run", "case", kase, "round", round, "tool", t.name(), "processes", len(procs))
	runCtx, cancel := context.WithTimeout(ctx, b.cfg.RunTimeout)
	wall := runBatch(runCtx, runDir, b.timeBinary, procs)
	timedOut := runCtx.Err() != nil
	cancel()
	if err := ctx.Err(); err != nil {
		return RunResult{}, err
	}

	res := RunResult{
		Case: kase, Tool: t.name(), Round: round, Processes: len(procs),
		WallSeconds: wall.Seconds(), Messages: stats.Messages, Bytes: stats.Bytes,
		RSSKiB: map[string]int64{},
	}
	if s := wall.Seconds(); s > 0 {
		res.MessagesPerSecond = float64(stats.Messages) / s
		res.MiBPerSecond = mib(stats.Bytes) / s
	}
	if timedOut {
		res.Problems = append(res.Problems, fmt.Sprintf("killed after the run timeout of %v", b.cfg.RunTimeout))
	}
	for _, p := range procs {
		res.CPUSeconds += p.cpu.Seconds()
		res.PeakRSSKiB = max(res.PeakRSSKiB, p.maxRSS)
		res.RSSKiB[p.user] = p.maxRSS
		if p.err != nil {
			res.Problems = append(res.Problems, p.err.Error())
		} else if out := p.stderr.String(); strings.TrimSpace(out) != "" {
			// Both tools run quiet (--log-level error, -q): anything they
			// say on success is worth a look.
			res.Notes = append(res.Notes, fmt.Sprintf("%s said on stderr: %s", p.user, lastLines(out, 3)))
		}
	}
	for _, u := range c.Users {
		if err := checkCounts(ctx, target, u.Name, u.Counts(), "target"); err != nil {
			res.Problems = append(res.Problems, err.Error())
			continue
		}
		if !b.cfg.VerifyContent {
			continue
		}
		diff, err := b.contentDiffs(ctx, target, u.Name)
		switch {
		case err != nil:
			res.Problems = append(res.Problems, err.Error())
		case diff == "":
		case t.name() == ToolImapmigrate:
			// imapmigrate promises bytes, flags, keywords and INTERNALDATE.
			res.Problems = append(res.Problems, diff)
		default:
			// mbsync inserts its X-TUID header into every message it
			// appends, so its copies never match: noted, not failed.
			res.Notes = append(res.Notes, diff)
		}
	}
	res.OK = len(res.Problems) == 0
	lvl := slog.LevelInfo
	if !res.OK {
		lvl = slog.LevelError
	}
	b.log.Log(ctx, lvl, "run done", "case", kase, "round", round, "tool", t.name(),
		"wall_s", round1(res.WallSeconds), "msgs_per_s", round1(res.MessagesPerSecond), "mib_per_s", round1(res.MiBPerSecond),
		"peak_rss_mib", round1(float64(res.PeakRSSKiB)/1024), "cpu_s", round1(res.CPUSeconds), "ok", res.OK,
		"problems", strings.Join(res.Problems, "; "))
	return res, nil
}

// resolveBinary finds an executable as a shell would (a name on PATH, or a
// path) and returns its absolute path; field names the flag for the error.
func resolveBinary(field, name string) (string, error) {
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%s: %w", field, err)
	}
	if p, err = filepath.Abs(p); err != nil {
		return "", fmt.Errorf("%s: %w", field, err)
	}
	return p, nil
}

// workDir returns the benchmark's directory and what removes it.
func workDir(dir string, keep bool) (string, func(), error) {
	if dir != "" {
		if err := os.MkdirAll(dir, 0o711); err != nil {
			return "", nil, fmt.Errorf("work dir: %w", err)
		}
		abs, err := filepath.Abs(dir)
		return abs, func() {}, err
	}
	dir, err := os.MkdirTemp("", "imapbench-")
	if err != nil {
		return "", nil, fmt.Errorf("work dir: %w", err)
	}
	// Dovecot's mail user (when run as root) must traverse it.
	if err := os.Chmod(dir, 0o711); err != nil {
		return "", nil, fmt.Errorf("work dir: %w", err)
	}
	if keep {
		return dir, func() {}, nil
	}
	return dir, func() { os.RemoveAll(dir) }, nil
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func round1(f float64) float64 { return float64(int64(f*10+0.5)) / 10 }
