package main

import (
	"bytes"
	"flag"
	"strings"
	"testing"
)

func TestCommandLine(t *testing.T) {
	fs := flag.NewFlagSet("imapbench", flag.ContinueOnError)
	var o options
	o.addFlags(fs)
	if err := fs.Parse([]string{"-runs", "5", "-json", "-warmup=false", "-imapmigrate", "/tmp/my dir/imapmigrate"}); err != nil {
		t.Fatal(err)
	}
	got := commandLine(fs)
	for _, want := range []string{
		"go run ./internal/bench/cmd/imapbench ",
		" -runs 5 ", " -json ", " -warmup=false ", " -users 4 ", " -messages ", " -huge-mib 30 ",
		" -imapmigrate '/tmp/my dir/imapmigrate' ",
	} {
		if !strings.Contains(got+" ", want) {
			t.Errorf("command line %q lacks %q", got, want)
		}
	}
	if strings.Contains(got, "-keep") || strings.Contains(got, "-dir") {
		t.Errorf("command line %q shows unset -keep or -dir", got)
	}
}

func TestRunUsage(t *testing.T) {
	for _, tt := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"-h"}, exitOK, "-messages"},
		{[]string{"-nope"}, exitUsage, "flag provided but not defined"},
		{[]string{"extra"}, exitUsage, `unexpected argument "extra"`},
		{[]string{"-runs", "0"}, exitUsage, "runs: need at least 1"},
		{[]string{"-imapmigrate", "/nonexistent/imapmigrate"}, exitUsage, "run make build"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(tt.args, &stdout, &stderr); code != tt.code || !strings.Contains(stderr.String(), tt.out) {
			t.Errorf("run(%q) = %d, stderr %q; want %d and %q", tt.args, code, stderr.String(), tt.code, tt.out)
		}
	}
}
