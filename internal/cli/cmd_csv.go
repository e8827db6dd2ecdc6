package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/imapmigrate/imapmigrate/internal/credential"
	"github.com/imapmigrate/imapmigrate/internal/csvfile"
)

func init() { subcommands = append(subcommands, newCSVCommand) }

func newCSVCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "csv",
		Short: "Work with migration files (CSV: EmailAddress,UserName,Password[,UserRoot])",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newCSVCheckCommand(g))
	return cmd
}

// csvOptions are the flags that say how to read a migration file; every
// command that reads one (csv check, and later batch new) adds them.
type csvOptions struct {
	encoding        string
	masterSeparator string
	maxRows         int
	maxSize         string
}

func (o *csvOptions) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.encoding, "csv-encoding", "auto", "encoding of the migration file: auto (byte-order mark, else UTF-8), utf-8, utf-16le, utf-16be, windows-1252, gbk, big5 or another WHATWG label")
	fs.StringVar(&o.masterSeparator, "master-separator", credential.DefaultMasterSeparator, "the source server's Dovecot master user separator, to recognise User*Admin logins")
	fs.IntVar(&o.maxRows, "max-rows", csvfile.DefaultMaxRows, "at most this many mailbox rows")
	fs.StringVar(&o.maxSize, "max-size", "10MiB", "largest migration file (e.g. 10MiB, 5MB)")
}

// options turns the flags into csvfile.Options.
func (o *csvOptions) options() (csvfile.Options, error) {
	size, err := parseSize(o.maxSize)
	if err != nil {
		return csvfile.Options{}, fmt.Errorf("--max-size: %w", err)
	}
	if o.maxRows <= 0 {
		return csvfile.Options{}, fmt.Errorf("--max-rows %d: must be at least 1", o.maxRows)
	}
	if o.masterSeparator == "" {
		return csvfile.Options{}, errors.New("--master-separator: must not be empty")
	}
	opts := csvfile.Options{Encoding: o.encoding, MaxRows: o.maxRows, MaxBytes: size, MasterSeparator: o.masterSeparator}
	if err := opts.Validate(); err != nil {
		return csvfile.Options{}, fmt.Errorf("--csv-encoding: %w", err)
	}
	return opts, nil
}

type csvCheckOptions struct {
	csv  csvOptions
	rows bool
}

func newCSVCheckCommand(g *globalOptions) *cobra.Command {
	o := &csvCheckOptions{}
	cmd := &cobra.Command{
		Use:   "check FILE",
		Short: "Validate a migration file and show what it holds, or every problem in it",
		Long: `Validate a migration file the way a batch will read it, and print a summary:
how it was read (encoding, separator), how many mailboxes, which login forms
(plain, Exchange Domain/Admin/User, Dovecot User*Admin, Mirapoint
#user@domain#Admin#, admin + UserRoot) and any warnings. When the file is
invalid, print every problem, each with its row (as Excel shows it: the header
is row 1), its column and how to fix it. FILE "-" reads standard input.

Passwords are never printed: they show as ***.

Excel saves CSV differently by language. Read as is: "CSV UTF-8", "Unicode
text" (UTF-16, tab-separated), ";"-separated files (Swedish, German, French,
... Excel), CR, LF or CRLF line ends. Files in a legacy code page need
--csv-encoding (windows-1252 for Western Europe, gbk for Simplified Chinese,
big5 for Traditional Chinese). See docs/migration-file.md.

EXAMPLES
  imapmigrate csv check users.csv
  imapmigrate csv check --csv-encoding gbk --rows users-zh.csv
  imapmigrate csv check --master-separator % -o json users.csv

EXIT STATUS
  0  the file is valid (warnings may be shown)
  1  the file is invalid: every problem is listed
  2  the file could not be read, or a flag is wrong`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCSVCheck(cmd.Context(), g, o, args[0])
		},
	}
	o.csv.addFlags(cmd.Flags())
	cmd.Flags().BoolVar(&o.rows, "rows", false, "also list every mailbox row (text output; JSON always has them)")
	return cmd
}

func runCSVCheck(_ context.Context, g *globalOptions, o *csvCheckOptions, path string) error {
	if err := g.validateOutput(); err != nil {
		return err
	}
	opts, err := o.csv.options()
	if err != nil {
		return withExit(ExitUsage, err)
	}
	in := g.stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return withExit(ExitUsage, err)
		}
		defer f.Close()
		in = f
	}
	file, err := csvfile.Parse(in, opts)
	var pe *csvfile.ProblemsError
	switch {
	case errors.As(err, &pe):
		if g.output == "json" {
			return printCSVJSON(g.stdout, csvCheckJSON{File: path, Problems: pe.Problems, ProblemsOmitted: pe.Omitted,
				Notices: pe.Notices, Warnings: pe.Warnings, WarningsOmitted: pe.WarningsOmitted})
		}
		printCSVProblems(g.stdout, path, pe)
		return withExit(ExitPartial, nil)
	case err != nil:
		return withExit(ExitUsage, fmt.Errorf("%s: %w", path, err))
	}
	if g.output == "json" {
		return printCSVJSON(g.stdout, csvCheckJSON{File: path, Valid: true, Encoding: file.Encoding, Separator: file.Separator,
			Rows: len(file.Rows), Forms: file.Forms(), Notices: file.Notices, Warnings: file.Warnings,
			WarningsOmitted: file.WarningsOmitted, Mailboxes: file.Rows})
	}
	printCSVSummary(g.stdout, path, file, o.rows)
	return nil
}

// csvCheckJSON is the --output json form of csv check.
type csvCheckJSON struct {
	File            string                  `json:"File"`
	Valid           bool                    `json:"Valid"`
	Encoding        string                  `json:"Encoding,omitempty"`
	Separator       string                  `json:"Separator,omitempty"`
	Rows            int                     `json:"Rows"`
	Forms           map[credential.Form]int `json:"Forms,omitempty"`
	Notices         []string                `json:"Notices"`
	Warnings        []csvfile.Problem       `json:"Warnings"`
	WarningsOmitted int                     `json:"WarningsOmitted"`
	Problems        []csvfile.Problem       `json:"Problems"`
	ProblemsOmitted int                     `json:"ProblemsOmitted"`
	Mailboxes       []csvfile.Row           `json:"Mailboxes"` // passwords masked by Row
}

// printCSVJSON writes the result; an invalid file still exits 1.
func printCSVJSON(w io.Writer, out csvCheckJSON) error {
	for _, s := range []*[]csvfile.Problem{&out.Warnings, &out.Problems} {
		if *s == nil {
			*s = []csvfile.Problem{}
		}
	}
	if out.Notices == nil {
		out.Notices = []string{}
	}
	if out.Mailboxes == nil {
		out.Mailboxes = []csvfile.Row{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return withExit(ExitUsage, err)
	}
	if !out.Valid {
		return withExit(ExitPartial, nil)
	}
	return nil
}

func printCSVProblems(w io.Writer, path string, pe *csvfile.ProblemsError) {
	n := pe.Total()
	fmt.Fprintf(w, "%s: invalid migration file, %d %s\n", path, n, pluralS(n, "problem"))
	for _, p := range pe.Problems {
		fmt.Fprintf(w, "  %s\n", p)
	}
	if pe.Omitted > 0 {
		fmt.Fprintf(w, "  … and %d more %s\n", pe.Omitted, pluralS(pe.Omitted, "problem"))
	}
	printCSVNotes(w, pe.Notices, pe.Warnings, pe.WarningsOmitted)
}

func printCSVSummary(w io.Writer, path string, f *csvfile.File, rows bool) {
	n := len(f.Rows)
	fmt.Fprintf(w, "%s: valid migration file, %d %s\n", path, n, pluralS(n, "mailbox"))
	sep := fmt.Sprintf("%q", f.Separator)
	if f.Separator == "\t" {
		sep = "tab"
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "  encoding:\t%s\n", f.Encoding)
	fmt.Fprintf(tw, "  separator:\t%s\n", sep)
	forms, label := f.Forms(), "login forms:"
	for _, form := range credential.Forms {
		if forms[form] > 0 {
			fmt.Fprintf(tw, "  %s\t%d %s (%s)\n", label, forms[form], form, form.Describe())
			label = ""
		}
	}
	tw.Flush()
	printCSVNotes(w, f.Notices, f.Warnings, f.WarningsOmitted)
	if !rows {
		return
	}
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nROW\tEMAILADDRESS\tUSERNAME\tPASSWORD\tFORM\tUSER\tADMIN\tUSERROOT")
	for _, r := range f.Rows {
		fmt.Fprintf(tw, "%d\t%s\t%s\t***\t%s\t%s\t%s\t%s\n", r.Number, r.EmailAddress, r.UserName(),
			r.Login.Form, r.Login.User, r.Login.Admin, r.UserRoot())
	}
	tw.Flush()
}

func printCSVNotes(w io.Writer, notices []string, warnings []csvfile.Problem, omitted int) {
	for _, n := range notices {
		fmt.Fprintf(w, "notice: %s\n", n)
	}
	for _, p := range warnings {
		fmt.Fprintf(w, "warning: %s\n", p)
	}
	if omitted > 0 {
		fmt.Fprintf(w, "warning: … and %d more %s\n", omitted, pluralS(omitted, "warning"))
	}
}

// pluralS is "1 mailbox", "2 mailboxes", "2 problems".
func pluralS(n int, word string) string {
	if n == 1 {
		return word
	}
	if strings.HasSuffix(word, "x") {
		return word + "es"
	}
	return word + "s"
}
