package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/testenv"
)

func TestConfigValidate(t *testing.T) {
	d := DefaultConfig()
	if err := d.Validate(); err != nil {
		t.Fatalf("DefaultConfig: %v", err)
	}
	tests := []struct {
		field string
		edit  func(*Config)
	}{
		{"users", func(c *Config) { c.Corpus.Users = 0 }},
		{"messages", func(c *Config) { c.Corpus.Messages = -1 }},
		{"messages", func(c *Config) { c.Corpus.Messages, c.Corpus.HugePerUser = 0, 0 }},
		{"huge-size", func(c *Config) { c.Corpus.HugeSize = 100 }},
		{"runs", func(c *Config) { c.Runs = 0 }},
		{"parallel-folders", func(c *Config) { c.ParallelFolders = 0 }},
		{"imapmigrate", func(c *Config) { c.Imapmigrate = "" }},
		{"mbsync", func(c *Config) { c.Mbsync = "" }},
		{"big-message-size", func(c *Config) { c.BigMessageSize = 1 }},
		{"run-timeout", func(c *Config) { c.RunTimeout = 0 }},
	}
	for _, tt := range tests {
		c := DefaultConfig()
		tt.edit(&c)
		err := c.Validate()
		if err == nil || !strings.HasPrefix(err.Error(), tt.field+":") {
			t.Errorf("%s: Validate() = %v, want an error naming %s", tt.field, err, tt.field)
		}
	}
}

// TestRunSmall runs the whole benchmark on a small corpus against real
// Dovecots, imapmigrate built from this module and mbsync.
func TestRunSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three Dovecots and runs both tools; not in -short")
	}
	testenv.RequireDovecot(t)
	mbsync, err := exec.LookPath("mbsync")
	testenv.RequireReal(t, "mbsync (apt-get install isync)", err == nil)

	bin := filepath.Join(t.TempDir(), "imapmigrate")
	build := exec.Command("go", "build", "-o", bin, "github.com/imapmigrate/imapmigrate/cmd/imapmigrate")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build imapmigrate: %v\n%s", err, out)
	}

	cfg := DefaultConfig()
	cfg.Corpus = CorpusOptions{Seed: 2, Users: 2, Messages: 120, HugePerUser: 1, HugeSize: 2 << 20}
	cfg.Runs = 2
	cfg.BigMessages, cfg.BigMessageSize = 2, 3<<20
	cfg.Imapmigrate, cfg.Mbsync = bin, mbsync
	cfg.RunTimeout = 2 * time.Minute
	cfg.VerifyContent = true
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	rep, err := Run(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Failed {
		var b strings.Builder
		rep.WriteText(&b)
		t.Fatalf("a run failed:\n%s", b.String())
	}
	if len(rep.Runs) != 6 || len(rep.Big) != 4 || rep.Ratios == nil || len(rep.BigSummary) != 2 {
		t.Fatalf("%d runs, %d big-message runs, ratios %v, big summary %v", len(rep.Runs), len(rep.Big), rep.Ratios, rep.BigSummary)
	}
	// A warm-up, then alternating order: imapmigrate first in odd rounds.
	var order []string
	for _, r := range rep.Runs {
		order = append(order, fmt.Sprintf("%d %s", r.Round, r.Tool))
	}
	if want := "0 mbsync,0 imapmigrate,1 imapmigrate,1 mbsync,2 mbsync,2 imapmigrate"; strings.Join(order, ",") != want {
		t.Errorf("runs %s, want %s", strings.Join(order, ","), want)
	}
	for _, r := range append(rep.Runs, rep.Big...) {
		if r.PeakRSSKiB <= 0 || r.WallSeconds <= 0 || r.Messages == 0 {
			t.Errorf("%s %s round %d: %+v", r.Tool, r.Case, r.Round, r)
		}
	}
	if !strings.Contains(rep.Commands[ToolImapmigrate], "--source-security ssl") ||
		!strings.Contains(rep.MbsyncConfig, "SSLType IMAPS") || strings.Contains(rep.MbsyncConfig, testenv.DefaultMasterPassword) {
		t.Errorf("commands %q\nmbsyncrc:\n%s", rep.Commands, rep.MbsyncConfig)
	}
}
