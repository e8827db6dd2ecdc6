package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/imapmigrate/imapmigrate/internal/csvfile"
	"github.com/imapmigrate/imapmigrate/internal/migration"
)

// The service names a bad setting by its own field (migration.ValidationError
// .Field); each command says which of its flags (or arguments) sets which
// field, so that a problem reads "--max-concurrent-migrations 500: must be
// between 1 and 300". The table lives in the command's annotations, under
// fieldAnnotation + field.
const fieldAnnotation = "imapmigrate/field:"

// setFieldFlags records which flag of cmd sets each service field.
func setFieldFlags(cmd *cobra.Command, fields map[string]string) {
	if cmd.Annotations == nil {
		cmd.Annotations = map[string]string{}
	}
	for field, flag := range fields {
		cmd.Annotations[fieldAnnotation+field] = flag
	}
}

// fieldFlag is how cmd sets field: its flag ("--csv"), an argument
// ("NAME"), or the field itself when cmd does not say.
func fieldFlag(cmd *cobra.Command, field string) string {
	if cmd != nil {
		if f, ok := cmd.Annotations[fieldAnnotation+field]; ok {
			return f
		}
	}
	return field
}

// endpointFields are the flags of endpoint new and set.
var endpointFields = map[string]string{
	"Name":                          "NAME",
	"Server":                        "--server",
	"Port":                          "--port",
	"Security":                      "--security",
	"Auth":                          "--auth",
	"MasterSeparator":               "--master-separator",
	"CAFile":                        "--ca-file",
	"InsecureSkipVerify":            "--insecure-skip-verify",
	"MaxConcurrentMigrations":       "--max-concurrent-migrations",
	"MaxConcurrentIncrementalSyncs": "--max-concurrent-incremental-syncs",
	"MailboxAccess":                 "--mailbox-access",
	"AdminUser":                     "--admin-user",
	"AdminPassword":                 "--admin-password-file",
	"TokenCommand":                  "--token-command",
	"SkipVerify":                    "--skip-verify-connection",
}

// problemJSON is one problem in --output json: a setting's
// (Field, Value, Fix) or a migration file row's (Field "CSV", Row,
// Column, Message, Fix).
type problemJSON struct {
	Field   string
	Flag    string `json:",omitempty"` // how this command sets Field
	Value   string
	Fix     string
	Row     int    `json:",omitempty"`
	Column  string `json:",omitempty"`
	Message string `json:",omitempty"`
}

// reportProblems prints the bad input err holds, if any: every setting's
// problem, named by cmd's flags, and the migration file's rows; as a JSON
// array on stdout with --output json, else on stderr. It says whether it
// printed.
func reportProblems(g *globalOptions, cmd *cobra.Command, err error) bool {
	var settings migration.ValidationErrors
	if !errors.As(err, &settings) {
		var ve *migration.ValidationError
		if errors.As(err, &ve) {
			settings = migration.ValidationErrors{ve}
		}
	}
	var file *csvfile.ProblemsError
	errors.As(err, &file)
	if len(settings) == 0 && file == nil {
		return false
	}
	if g.output == "json" {
		list := []problemJSON{}
		for _, p := range settings {
			j := problemJSON{Field: p.Field, Value: p.Value, Fix: p.Fix}
			if p.Field != "" {
				j.Flag = fieldFlag(cmd, p.Field)
			}
			list = append(list, j)
		}
		if file != nil {
			for _, p := range file.Problems {
				list = append(list, problemJSON{Field: "CSV", Flag: fieldFlag(cmd, "CSV"), Row: p.Row, Column: p.Column, Message: p.Message, Fix: p.Fix})
			}
			if file.Omitted > 0 {
				list = append(list, problemJSON{Field: "CSV", Flag: fieldFlag(cmd, "CSV"),
					Message: fmt.Sprintf("%d more problems not listed", file.Omitted), Fix: "fix those listed and check the file again"})
			}
		}
		printJSON(g.stdout, list)
		return true
	}
	var lines []string
	for _, p := range settings {
		lines = append(lines, p.Message(fieldFlag(cmd, p.Field)))
	}
	if file != nil {
		lines = append(lines, fmt.Sprintf("%s: invalid migration file, %d %s:", fieldFlag(cmd, "CSV"), file.Total(), pluralS(file.Total(), "problem")))
		for _, p := range file.Problems {
			lines = append(lines, "  "+p.String())
		}
		if file.Omitted > 0 {
			lines = append(lines, fmt.Sprintf("  … and %d more", file.Omitted))
		}
	}
	// One setting, or only the file: its line heads the message.
	if len(settings) <= 1 && (len(settings) == 0 || file == nil) {
		fmt.Fprintln(g.stderr, "imapmigrate:", lines[0])
		for _, l := range lines[1:] {
			fmt.Fprintln(g.stderr, l)
		}
		return true
	}
	n := len(settings)
	if file != nil {
		n += file.Total()
	}
	fmt.Fprintf(g.stderr, "imapmigrate: %d %s:\n", n, pluralS(n, "problem"))
	for _, l := range lines {
		fmt.Fprintln(g.stderr, "  "+l)
	}
	return true
}
