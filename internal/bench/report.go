package bench

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/testenv"
)

// RunResult is one tool copying one corpus once.
type RunResult struct {
	Case      string `json:"case"`
	Tool      string `json:"tool"`
	Round     int    `json:"round"`
	Processes int    `json:"processes"`
	// Messages and Bytes are the corpus's; the rates divide them by the
	// batch's wall time.
	Messages          int     `json:"messages"`
	Bytes             int64   `json:"bytes"`
	WallSeconds       float64 `json:"wall_seconds"`
	MessagesPerSecond float64 `json:"messages_per_second"`
	MiBPerSecond      float64 `json:"mib_per_second"`
	// CPUSeconds is user + system time of all the tool's processes.
	CPUSeconds float64 `json:"cpu_seconds"`
	// PeakRSSKiB is the largest peak RSS of one process; RSSKiB has each
	// user's process.
	PeakRSSKiB int64            `json:"peak_rss_kib"`
	RSSKiB     map[string]int64 `json:"rss_kib_by_user"`
	// OK is true when every process succeeded and every count matched.
	OK       bool     `json:"ok"`
	Problems []string `json:"problems,omitempty"`
	// Notes are findings that do not fail the run, such as mbsync's
	// content differences under Config.VerifyContent.
	Notes []string `json:"notes,omitempty"`
}

// Summary is one tool's medians over the rounds of the batch case.
type Summary struct {
	Tool              string  `json:"tool"`
	Runs              int     `json:"runs"`
	Failed            int     `json:"failed"`
	WallSeconds       float64 `json:"median_wall_seconds"`
	MessagesPerSecond float64 `json:"median_messages_per_second"`
	MiBPerSecond      float64 `json:"median_mib_per_second"`
	CPUSeconds        float64 `json:"median_cpu_seconds"`
	// PeakRSSMiB is the median over rounds of the largest process's peak;
	// MaxPeakRSSMiB the largest of all rounds.
	PeakRSSMiB    float64 `json:"median_peak_rss_mib"`
	MaxPeakRSSMiB float64 `json:"max_peak_rss_mib"`
}

// Ratios are imapmigrate's medians divided by mbsync's: above 1 means
// imapmigrate is faster (rates) or uses more (CPU, memory).
type Ratios struct {
	MessagesPerSecond float64 `json:"messages_per_second"`
	MiBPerSecond      float64 `json:"mib_per_second"`
	CPUSeconds        float64 `json:"cpu_seconds"`
	PeakRSS           float64 `json:"peak_rss"`
}

// Machine describes where the benchmark ran.
type Machine struct {
	CPUs      int    `json:"cpus"`
	CPUModel  string `json:"cpu_model,omitempty"`
	MemoryMiB int64  `json:"memory_mib,omitempty"`
	Kernel    string `json:"kernel,omitempty"`
	Go        string `json:"go"`
	Dovecot   string `json:"dovecot,omitempty"`
	Mbsync    string `json:"mbsync,omitempty"`
}

// Report is everything a benchmark measured.
type Report struct {
	Command   string       `json:"command"`
	Started   time.Time    `json:"started"`
	Machine   Machine      `json:"machine"`
	Config    Config       `json:"config"`
	Corpus    CorpusStats  `json:"corpus"`
	BigCorpus *CorpusStats `json:"big_message_corpus,omitempty"`
	// Commands holds each tool's command line for the first user.
	Commands     map[string]string `json:"commands"`
	MbsyncConfig string            `json:"mbsync_config,omitempty"`
	// RSSMethod says how peak RSS was measured: RSSByTime or RSSByPolling.
	RSSMethod  string      `json:"rss_method"`
	Runs       []RunResult `json:"runs"`
	Summary    []Summary   `json:"summary"`
	Ratios     *Ratios     `json:"ratios,omitempty"`
	Big        []RunResult `json:"big_message_runs,omitempty"`
	BigSummary []Summary   `json:"big_message_summary,omitempty"`
	// Failed is true when any run failed a check.
	Failed bool `json:"failed"`
	// Warnings are findings that do not fail the benchmark, such as a peak
	// RSS over Config.RSSLimitMiB.
	Warnings []string `json:"warnings,omitempty"`
}

// recordCommand keeps argv as a shell command line, and mbsync's
// configuration file with its password masked.
func (r *Report) recordCommand(tool string, argv []string) {
	if r.Commands == nil {
		r.Commands = map[string]string{}
	}
	r.Commands[tool] = shellJoin(argv)
	if tool == ToolMbsync {
		if i := slices.Index(argv, "-c"); i >= 0 && i+1 < len(argv) {
			if b, err := os.ReadFile(argv[i+1]); err == nil {
				r.MbsyncConfig = maskPass(string(b))
			}
		}
	}
}

// maskPass replaces the argument of every Pass line.
func maskPass(conf string) string {
	var b strings.Builder
	for line := range strings.Lines(conf) {
		if strings.HasPrefix(line, "Pass ") {
			line = "Pass \"***\"\n"
		}
		b.WriteString(line)
	}
	return b.String()
}

// shellJoin quotes what a POSIX shell would split or expand.
func shellJoin(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		if a != "" && strings.IndexFunc(a, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,+@%", r))
		}) < 0 {
			q[i] = a
			continue
		}
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}

// summarize computes the medians, the ratios, Failed and the warnings.
// Warm-up runs (round 0) count for Failed and the warnings only.
func (r *Report) summarize() {
	r.Summary = summarizeRuns(r.Runs)
	r.BigSummary = summarizeRuns(r.Big)
	r.Ratios = nil
	if len(r.Summary) == 2 {
		a, b := r.Summary[0], r.Summary[1]
		r.Ratios = &Ratios{
			MessagesPerSecond: ratio(a.MessagesPerSecond, b.MessagesPerSecond),
			MiBPerSecond:      ratio(a.MiBPerSecond, b.MiBPerSecond),
			CPUSeconds:        ratio(a.CPUSeconds, b.CPUSeconds),
			PeakRSS:           ratio(a.PeakRSSMiB, b.PeakRSSMiB),
		}
	}
	r.Failed, r.Warnings = false, nil
	for _, res := range slices.Concat(r.Runs, r.Big) {
		if !res.OK {
			r.Failed = true
		}
		if res.Tool == ToolImapmigrate && r.Config.RSSLimitMiB > 0 && res.PeakRSSKiB > int64(r.Config.RSSLimitMiB)<<10 {
			r.Warnings = append(r.Warnings, fmt.Sprintf("imapmigrate peak RSS %.1f MiB in %s round %d exceeds the %d MiB target",
				float64(res.PeakRSSKiB)/1024, res.Case, res.Round, r.Config.RSSLimitMiB))
		}
	}
}

// summarizeRuns gives each tool's medians over its successful runs of round
// 1 and up, imapmigrate first; a failed run is counted, not measured.
func summarizeRuns(all []RunResult) []Summary {
	var out []Summary
	for _, tool := range []string{ToolImapmigrate, ToolMbsync} {
		var runs []RunResult
		s := Summary{Tool: tool}
		for _, res := range all {
			if res.Tool != tool || res.Round < 1 {
				continue
			}
			s.Runs++
			if !res.OK {
				s.Failed++
				continue
			}
			runs = append(runs, res)
		}
		if s.Runs == 0 {
			continue
		}
		s.WallSeconds = medianOf(runs, func(x RunResult) float64 { return x.WallSeconds })
		s.MessagesPerSecond = medianOf(runs, func(x RunResult) float64 { return x.MessagesPerSecond })
		s.MiBPerSecond = medianOf(runs, func(x RunResult) float64 { return x.MiBPerSecond })
		s.CPUSeconds = medianOf(runs, func(x RunResult) float64 { return x.CPUSeconds })
		s.PeakRSSMiB = medianOf(runs, func(x RunResult) float64 { return float64(x.PeakRSSKiB) / 1024 })
		for _, x := range runs {
			s.MaxPeakRSSMiB = max(s.MaxPeakRSSMiB, float64(x.PeakRSSKiB)/1024)
		}
		out = append(out, s)
	}
	return out
}

// medianOf is the median of f over xs (the mean of the middle two for an
// even count).
func medianOf[T any](xs []T, f func(T) float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	v := make([]float64, len(xs))
	for i, x := range xs {
		v[i] = f(x)
	}
	slices.Sort(v)
	if n := len(v); n%2 == 1 {
		return v[n/2]
	} else {
		return (v[n/2-1] + v[n/2]) / 2
	}
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// WriteText prints the report for people: the corpus, the medians and
// ratios, every run, the big-message case and the commands.
func (r *Report) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	c := r.Corpus
	fmt.Fprintf(bw, "imapbench: %d users × %d folders, %d messages, %.1f MiB (median %.1f KiB, %d over 1 MiB, largest %.1f MiB), %d rounds\n",
		c.Users, c.Folders/max(c.Users, 1), c.Messages, mib(c.Bytes), float64(c.MedianSize)/1024, c.Over1MiB, float64(c.Largest)/(1<<20), r.Config.Runs)
	m := r.Machine
	fmt.Fprintf(bw, "machine: %d CPUs (%s), %d MiB RAM, Linux %s; %s, dovecot %s, %s\n",
		m.CPUs, m.CPUModel, m.MemoryMiB, m.Kernel, m.Go, m.Dovecot, m.Mbsync)
	if r.Config.Revision != "" {
		fmt.Fprintf(bw, "imapmigrate: %s, built from %s\n", r.Config.Imapmigrate, r.Config.Revision)
	}
	fmt.Fprintf(bw, "one process per user, all at once; source implicit TLS, target STARTTLS; imapmigrate --parallel-folders %d\n\n", r.Config.ParallelFolders)

	writeSummary(bw, r.Summary, r.Ratios)
	fmt.Fprintf(bw, "(medians over the rounds; peak RSS is the largest process of a round, by %s)\n", r.RSSMethod)

	fmt.Fprintln(bw, "\nrounds (the warm-up is not counted):")
	writeRuns(bw, r.Runs)
	if len(r.Big) > 0 && r.BigCorpus != nil {
		fmt.Fprintf(bw, "\nbig messages: one mailbox, %d messages of %.1f MiB in 2 folders, one process:\n\n",
			r.BigCorpus.Messages, float64(r.BigCorpus.Largest)/(1<<20))
		writeSummary(bw, r.BigSummary, nil)
		fmt.Fprintln(bw)
		writeRuns(bw, r.Big)
	}
	for _, w := range r.Warnings {
		fmt.Fprintln(bw, "\nWARNING:", w)
	}
	for _, res := range slices.Concat(r.Runs, r.Big) {
		for _, p := range res.Problems {
			fmt.Fprintf(bw, "FAILED %s %s round %d: %s\n", res.Tool, res.Case, res.Round, p)
		}
		for _, n := range res.Notes {
			fmt.Fprintf(bw, "note: %s %s round %d: %s\n", res.Tool, res.Case, res.Round, n)
		}
	}

	fmt.Fprintln(bw, "\ncommands:")
	fmt.Fprintln(bw, " ", r.Command)
	for _, tool := range []string{ToolImapmigrate, ToolMbsync} {
		if cmd, ok := r.Commands[tool]; ok {
			fmt.Fprintf(bw, "  %s   (one per user, all at once)\n", cmd)
		}
	}
	if r.MbsyncConfig != "" {
		fmt.Fprintln(bw, "\nmbsyncrc of the first user:")
		for line := range strings.Lines(r.MbsyncConfig) {
			fmt.Fprint(bw, "  ", line)
		}
	}
	return bw.Flush()
}

// writeSummary prints the medians and, when given, the ratios.
func writeSummary(w io.Writer, sums []Summary, x *Ratios) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "tool\tmsgs/s\tMiB/s\twall s\tCPU s\tpeak RSS MiB\tmax RSS MiB\truns ok\t")
	for _, s := range sums {
		fmt.Fprintf(tw, "%s\t%.0f\t%.2f\t%.1f\t%.1f\t%.1f\t%.1f\t%d/%d\t\n",
			s.Tool, s.MessagesPerSecond, s.MiBPerSecond, s.WallSeconds, s.CPUSeconds, s.PeakRSSMiB, s.MaxPeakRSSMiB, s.Runs-s.Failed, s.Runs)
	}
	if x != nil {
		fmt.Fprintf(tw, "imapmigrate/mbsync\t%.2f×\t%.2f×\t\t%.2f×\t%.2f×\t\t\t\n", x.MessagesPerSecond, x.MiBPerSecond, x.CPUSeconds, x.PeakRSS)
	}
	tw.Flush()
}

func writeRuns(w io.Writer, runs []RunResult) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "round\ttool\twall s\tmsgs/s\tMiB/s\tCPU s\tpeak RSS MiB\tok\t")
	for _, x := range runs {
		ok := "ok"
		if !x.OK {
			ok = "FAILED"
		}
		round := strconv.Itoa(x.Round)
		if x.Round == 0 {
			round = "warm-up"
		}
		if !x.OK {
			// A failed run copied less than the corpus: its rates mean nothing.
			fmt.Fprintf(tw, "%s\t%s\t%.1f\t-\t-\t%.1f\t%.1f\t%s\t\n",
				round, x.Tool, x.WallSeconds, x.CPUSeconds, float64(x.PeakRSSKiB)/1024, ok)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%.1f\t%.0f\t%.2f\t%.1f\t%.1f\t%s\t\n",
			round, x.Tool, x.WallSeconds, x.MessagesPerSecond, x.MiBPerSecond, x.CPUSeconds, float64(x.PeakRSSKiB)/1024, ok)
	}
	tw.Flush()
}

// describeMachine reads what it can; a missing piece stays empty.
func describeMachine(cfg Config) Machine {
	m := Machine{CPUs: runtime.NumCPU(), Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kib int64
		if _, err := fmt.Sscanf(string(b), "MemTotal: %d kB", &kib); err == nil {
			m.MemoryMiB = kib / 1024
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if p, err := testenv.DovecotBinary(); err == nil {
		m.Dovecot = firstLine(exec.Command(p, "--version"))
	}
	m.Mbsync = firstLine(exec.Command(cfg.Mbsync, "--version"))
	return m
}

// firstLine runs cmd and returns the first line of its output ("" on error).
func firstLine(cmd *exec.Cmd) string {
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	line, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimSpace(line)
}
