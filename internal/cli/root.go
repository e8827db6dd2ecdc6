// Package cli builds the imapmigrate command tree. Commands parse flags,
// call one use case and render its result; no business rule lives here.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// Exit statuses shared by all commands.
const (
	ExitOK      = 0 // everything done
	ExitPartial = 1 // ran, but something was skipped, failed or is invalid
	ExitUsage   = 2 // could not run: usage, connection, authentication
)

// exitError carries an exit status out of a command's RunE.
type exitError struct {
	code int
	err  error // nil when the command already reported everything
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// withExit wraps err so that Execute exits with code.
func withExit(code int, err error) error { return &exitError{code: code, err: err} }

// globalOptions are the flags every command understands.
type globalOptions struct {
	dataDir  string
	db       string
	logLevel string
	output   string // "text" or "json"
	stdin    io.Reader
	stdout   io.Writer
	stderr   io.Writer
}

// NewRootCommand returns the imapmigrate command tree.
func NewRootCommand(g *globalOptions) *cobra.Command {
	root := &cobra.Command{
		Use:           "imapmigrate",
		Short:         "Migrate IMAP mailboxes faithfully from any IMAP server to any other",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	pf := root.PersistentFlags()
	pf.StringVar(&g.dataDir, "data-dir", "./imapmigrate-data", "directory for the database, state files and the secret key")
	pf.StringVar(&g.db, "db", "", "database (default: imapmigrate.db in --data-dir; env IMAPMIGRATE_DB)")
	pf.StringVar(&g.logLevel, "log-level", "info", "log level: error, warn, info, debug, trace (protocol, secrets redacted)")
	pf.StringVarP(&g.output, "output", "o", "text", "output format: text or json")
	root.SetIn(g.stdin)
	root.SetOut(g.stdout)
	root.SetErr(g.stderr)
	for _, add := range subcommands {
		root.AddCommand(add(g))
	}
	return root
}

// subcommands is filled by the init functions of the cmd_*.go files, so that
// each command lives in its own file.
var subcommands []func(*globalOptions) *cobra.Command

// Execute runs the command line args and returns the process exit status.
func Execute(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	g := &globalOptions{stdin: stdin, stdout: stdout, stderr: stderr}
	root := NewRootCommand(g)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(stderr, "imapmigrate:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "imapmigrate:", err)
	return ExitUsage
}

func (g *globalOptions) validateOutput() error {
	switch g.output {
	case "text", "json":
		return nil
	}
	return withExit(ExitUsage, fmt.Errorf("--output %q: must be text or json", g.output))
}
