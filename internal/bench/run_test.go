package bench

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestReadTimeOutput(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		name, text string
		want       int64
		wantErr    bool
	}{
		{"plain", "12345\n", 12345, false},
		{"non-zero exit", "Command exited with non-zero status 1\n2048\n", 2048, false},
		{"signal", "Command terminated by signal 9\n4096\n", 4096, false},
		{"garbage", "oops\n", 0, true},
		{"empty", "", 0, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, tt.name)
			if err := os.WriteFile(p, []byte(tt.text), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := readTimeOutput(p)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("readTimeOutput = %d, %v; want %d, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestTailBuffer(t *testing.T) {
	b := tailBuffer{limit: 4}
	b.Write([]byte("abc"))
	b.Write([]byte("defg"))
	if got := b.String(); got != "defg" || !b.lost {
		t.Errorf("tail %q lost %v, want defg, true", got, b.lost)
	}
}

// memHog is a shell command that holds about 64 MiB for a moment.
const memHog = `x=$(head -c 67108864 /dev/zero | tr '\0' a); sleep 0.05; echo ${#x}`

// TestRunBatchRSS checks both ways of measuring peak RSS against a process
// of known size, started from a test binary that itself holds more than
// the child, which wait4's ru_maxrss would wrongly report (see RSSByTime).
func TestRunBatchRSS(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	ballast := make([]byte, 256<<20)
	for i := range ballast {
		ballast[i] = 1
	}
	defer func() { _ = ballast[len(ballast)-1] }()

	methods := map[string]string{"polling": ""}
	if p, err := exec.LookPath("/usr/bin/time"); err == nil {
		methods["time"] = p
	}
	for name, timeBinary := range methods {
		t.Run(name, func(t *testing.T) {
			small := &process{user: "small", argv: []string{"sh", "-c", "sleep 0.05"}}
			big := &process{user: "big", argv: []string{"sh", "-c", memHog}, check: func(out []byte) error { return nil }}
			fail := &process{user: "fail", argv: []string{"sh", "-c", "echo bad >&2; exit 3"}}
			wall := runBatch(context.Background(), t.TempDir(), timeBinary, []*process{small, big, fail})
			if wall <= 0 || big.wall > wall {
				t.Errorf("wall %v, process %v", wall, big.wall)
			}
			if small.err != nil || big.err != nil {
				t.Fatalf("errors %v, %v", small.err, big.err)
			}
			if fail.err == nil || !strings.Contains(fail.err.Error(), "exit status 3") || !strings.Contains(fail.err.Error(), "bad") {
				t.Errorf("failing process: %v", fail.err)
			}
			// sh itself is a few MiB; the hog holds 64 MiB (twice, briefly,
			// in the pipe and the variable). Far below the 256 MiB ballast.
			if small.maxRSS <= 0 || small.maxRSS > 32<<10 {
				t.Errorf("small process peak RSS %d KiB", small.maxRSS)
			}
			if big.maxRSS < 60<<10 || big.maxRSS > 200<<10 {
				t.Errorf("64 MiB process peak RSS %d KiB", big.maxRSS)
			}
		})
	}
}

func TestRunBatchTimeout(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	p := &process{user: "slow", argv: []string{"sh", "-c", "sleep 30"}}
	began := time.Now()
	runBatch(ctx, t.TempDir(), "/usr/bin/time", []*process{p})
	if d := time.Since(began); d > 10*time.Second {
		t.Errorf("runBatch took %v after the timeout", d)
	}
	if p.err == nil {
		t.Error("killed process has no error")
	}
}
