package cli

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"

	"github.com/spf13/cobra"

	"github.com/imapmigrate/imapmigrate/internal/migration"
	"github.com/imapmigrate/imapmigrate/internal/report"
)

// printSkipped lists a user's skipped items (user stats --skipped).
func printSkipped(w io.Writer, items []migration.SkippedItem) error {
	if len(items) == 0 {
		fmt.Fprintln(w, "\nNo skipped items.")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nFOLDER\tUID\tDATE RECEIVED\tSUBJECT\tSIZE\tREASON\tDETAIL")
	for _, it := range items {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\n", printable(it.Folder), it.UID, when(it.Date), printable(it.Subject),
			humanBytes(it.Size), it.Reason, printable(it.Detail))
	}
	return tw.Flush()
}

// printable keeps what comes from a server from moving a terminal's
// cursor or breaking a table: control characters and tabs become spaces.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

// writeSkippedReport writes the skipped item details report of a batch
// (batch report --skipped) to out, or to stdout.
func writeSkippedReport(cmd *cobra.Command, g *globalOptions, a *app, batch, format, out string) error {
	w := g.stdout
	if out != "" {
		f, err := os.Create(out)
		if err != nil {
			return withExit(ExitUsage, err)
		}
		defer f.Close()
		w = f
	}
	sw, err := report.NewSkippedWriter(w, format)
	if err != nil {
		return withExit(ExitUsage, err)
	}
	err = a.svc.BatchSkippedItems(cmd.Context(), batch, func(u *migration.User, items []migration.SkippedItem) error {
		return sw.Write(u.EmailAddress, items)
	})
	if err != nil {
		return serviceError(err)
	}
	n, err := sw.Close()
	if err != nil {
		return withExit(ExitUsage, err)
	}
	if out != "" {
		fmt.Fprintf(g.stdout, "Skipped item details of batch %s (%s items) written to %s\n", batch, strconv.Itoa(n), out)
	}
	return nil
}
