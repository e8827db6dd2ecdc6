// Package cli builds the imapmigrate command tree. Commands parse flags,
// call one use case and render its result; no business rule lives here.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

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
	var showVersion bool
	root := &cobra.Command{
		Use:           "imapmigrate",
		Short:         "Migrate IMAP mailboxes faithfully from any IMAP server to any other",
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if showVersion {
				return printVersion(g)
			}
			return cmd.Help()
		},
	}
	root.Flags().BoolVar(&showVersion, "version", false, "print the version and exit")
	pf := root.PersistentFlags()
	dataDir := "./imapmigrate-data"
	if v := os.Getenv("IMAPMIGRATE_DATA_DIR"); v != "" {
		dataDir = v
	}
	pf.StringVar(&g.dataDir, "data-dir", dataDir, "directory for the database, state files and the secret key (env IMAPMIGRATE_DATA_DIR)")
	pf.StringVar(&g.db, "db", "", "database: a SQLite file or postgres://USER@HOST/DB (default: imapmigrate.db in --data-dir; env IMAPMIGRATE_DB)")
	pf.StringVar(&g.logLevel, "log-level", "info", "log level: error, warn, info, debug, trace (protocol, secrets redacted)")
	pf.StringVarP(&g.output, "output", "o", "text", "output format: text or json")
	root.SetIn(g.stdin)
	root.SetOut(g.stdout)
	root.SetErr(g.stderr)
	for _, add := range subcommands {
		cmd := add(g)
		for _, sub := range groupSubcommands[cmd.Name()] {
			cmd.AddCommand(sub(g))
		}
		root.AddCommand(cmd)
	}
	// Cobra adds these when it runs; added now, they are checked below too.
	root.SetHelpCommand(newHelpCommand())
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	refuseUnknownSubcommands(root)
	return root
}

// refuseUnknownSubcommands makes every command that groups others refuse
// an unknown subcommand with exit status 2: cobra would print the help of
// a group not runnable itself and exit 0. Given nothing, a group prints
// its help.
func refuseUnknownSubcommands(cmd *cobra.Command) {
	if !cmd.HasSubCommands() {
		return
	}
	cmd.Args = unknownSubcommand
	if !cmd.Runnable() {
		cmd.RunE = func(cmd *cobra.Command, args []string) error { return cmd.Help() }
		cmd.DisableFlagsInUseLine = true
	}
	for _, sub := range cmd.Commands() {
		refuseUnknownSubcommands(sub)
	}
}

// newHelpCommand is cobra's help command, except that a topic that is no
// command exits 2.
func newHelpCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "help [command]",
		Short: "Help about any command",
		RunE: func(c *cobra.Command, args []string) error {
			cmd, rest, err := c.Root().Find(args)
			if err != nil {
				return withExit(ExitUsage, err)
			}
			if len(rest) > 0 {
				return unknownSubcommand(cmd, rest)
			}
			cmd.InitDefaultHelpFlag()
			return cmd.Help()
		},
		ValidArgsFunction: func(c *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			cmd, _, err := c.Root().Find(args)
			if err != nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			var out []cobra.Completion
			for _, sub := range cmd.Commands() {
				if sub.IsAvailableCommand() && strings.HasPrefix(sub.Name(), toComplete) {
					out = append(out, cobra.CompletionWithDesc(sub.Name(), sub.Short))
				}
			}
			return out, cobra.ShellCompDirectiveNoFileComp
		},
	}
}

func unknownSubcommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	hint := ""
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2 // cobra's default, set where it suggests
	}
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		hint = " (did you mean " + strings.Join(s, " or ") + "?)"
	}
	return withExit(ExitUsage, fmt.Errorf("unknown command %q for %q%s: run '%s --help' for its commands",
		args[0], cmd.CommandPath(), hint, cmd.CommandPath()))
}

// subcommands is filled by the init functions of the cmd_*.go files, so that
// each command lives in its own file.
var subcommands []func(*globalOptions) *cobra.Command

// groupSubcommands are the commands of a group built in another file (user
// set under user), by the group's name, filled the same way.
var groupSubcommands = map[string][]func(*globalOptions) *cobra.Command{}

// Execute runs the command line args and returns the process exit status.
func Execute(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	g := &globalOptions{stdin: stdin, stdout: stdout, stderr: stderr}
	root := NewRootCommand(g)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return ExitOK
	}
	code := ExitUsage
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
		if ee.err == nil {
			return code
		}
		err = ee.err
	}
	if reportProblems(g, cmd, err) {
		return code
	}
	fmt.Fprintln(stderr, "imapmigrate:", err)
	return code
}

func (g *globalOptions) validateOutput() error {
	switch g.output {
	case "text", "json":
		return nil
	}
	return withExit(ExitUsage, fmt.Errorf("--output %q: must be text or json", g.output))
}
