package bench

import (
	"math"
	"strings"
	"testing"
)

func TestMedianOf(t *testing.T) {
	id := func(f float64) float64 { return f }
	for _, tt := range []struct {
		in   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{5}, 5},
		{[]float64{9, 1, 5}, 5},
		{[]float64{4, 1, 3, 2}, 2.5},
	} {
		if got := medianOf(tt.in, id); got != tt.want {
			t.Errorf("medianOf(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func testReport() *Report {
	run := func(tool string, round int, wall float64, rssKiB int64, ok bool) RunResult {
		return RunResult{Case: CaseBatch, Tool: tool, Round: round, Processes: 4, Messages: 1000, Bytes: 100 << 20,
			WallSeconds: wall, MessagesPerSecond: 1000 / wall, MiBPerSecond: 100 / wall, CPUSeconds: wall / 2,
			PeakRSSKiB: rssKiB, OK: ok}
	}
	r := &Report{
		Command: "go run ./internal/bench/cmd/imapbench -runs 3",
		Config:  Config{Runs: 3, ParallelFolders: 2, RSSLimitMiB: 150},
		Corpus:  CorpusStats{Users: 4, Folders: 52, Messages: 1000, Bytes: 100 << 20, MedianSize: 10 << 10, Largest: 30 << 20},
		Runs: []RunResult{
			run(ToolImapmigrate, 0, 100, 40<<10, true), run(ToolMbsync, 0, 1, 10<<10, true), // warm-up: not in the medians
			run(ToolImapmigrate, 1, 10, 30<<10, true), run(ToolMbsync, 1, 20, 80<<10, true),
			run(ToolMbsync, 2, 25, 81<<10, true), run(ToolImapmigrate, 2, 8, 31<<10, true),
			run(ToolImapmigrate, 3, 12, 200<<10, true), run(ToolMbsync, 3, 20, 79<<10, false),
		},
		Big:       []RunResult{{Case: CaseBigMessage, Tool: ToolImapmigrate, Round: 1, PeakRSSKiB: 20 << 10, OK: true}},
		BigCorpus: &CorpusStats{Users: 1, Messages: 4, Largest: 30 << 20},
		RSSMethod: RSSByTime,
	}
	r.Runs[7].Problems = []string{"target folders of user02 differ"}
	r.recordCommand(ToolImapmigrate, []string{"imapmigrate", "sync", "--source-user", "user01*mailadmin"})
	r.summarize()
	return r
}

func TestSummarize(t *testing.T) {
	r := testReport()
	if len(r.Summary) != 2 {
		t.Fatalf("summary %+v", r.Summary)
	}
	im, mb := r.Summary[0], r.Summary[1]
	if im.Tool != ToolImapmigrate || im.WallSeconds != 10 || im.MessagesPerSecond != 100 || im.PeakRSSMiB != 31 || im.MaxPeakRSSMiB != 200 {
		t.Errorf("imapmigrate summary %+v", im)
	}
	// The failed round 3 is counted but not measured: medians of 1 and 2.
	if mb.Runs != 3 || mb.Failed != 1 || mb.WallSeconds != 22.5 || mb.PeakRSSMiB != 80.5 {
		t.Errorf("mbsync summary %+v", mb)
	}
	if math.Abs(r.Ratios.MessagesPerSecond-100/45.0) > 1e-9 || math.Abs(r.Ratios.PeakRSS-31/80.5) > 1e-9 {
		t.Errorf("ratios %+v", r.Ratios)
	}
	if !r.Failed {
		t.Error("a failed run did not fail the report")
	}
	if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "200.0 MiB in batch round 3 exceeds the 150 MiB target") {
		t.Errorf("warnings %q", r.Warnings)
	}
}

func TestWriteText(t *testing.T) {
	var b strings.Builder
	if err := testReport().WriteText(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"4 users × 13 folders, 1000 messages, 100.0 MiB",
		"imapmigrate/mbsync   2.22×  2.22×",
		"3       mbsync    20.0       -       -",
		"by GNU time %M",
		"WARNING: imapmigrate peak RSS 200.0 MiB",
		"go run ./internal/bench/cmd/imapbench -runs 3",
		"imapmigrate sync --source-user 'user01*mailadmin'",
		"big messages: one mailbox, 4 messages of 30.0 MiB",
		"warm-up  imapmigrate   100.0",
		"FAILED mbsync batch round 3: target folders of user02 differ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}

func TestShellJoin(t *testing.T) {
	got := shellJoin([]string{"mbsync", "-c", "/tmp/a b/rc", "user*admin", "it's", "", "a=b,c:d@e%f"})
	want := `mbsync -c '/tmp/a b/rc' 'user*admin' 'it'\''s' '' a=b,c:d@e%f`
	if got != want {
		t.Errorf("shellJoin = %s, want %s", got, want)
	}
}
