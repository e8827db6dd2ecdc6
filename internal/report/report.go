// Package report renders the migration users status report of a batch, as
// CSV or JSON: one row per user, never a password.
package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/migration"
)

// Row is one user's line of the report.
type Row struct {
	EmailAddress  string         `json:"EmailAddress"`
	Status        string         `json:"Status"`
	ItemsSynced   int            `json:"ItemsSynced"`
	ItemsSkipped  int            `json:"ItemsSkipped"`
	SkippedBy     map[string]int `json:"SkippedByReason"`
	BytesSynced   int64          `json:"BytesSynced"`
	Folders       int            `json:"Folders"`
	FirstSyncTime string         `json:"FirstSyncTime"`
	LastSyncTime  string         `json:"LastSyncedTime"`
	NextSyncTime  string         `json:"NextSyncTime"`
	Error         string         `json:"Error"`
}

// Columns of the CSV report, in order.
var Columns = []string{"EmailAddress", "Status", "ItemsSynced", "ItemsSkipped", "SkippedByReason", "BytesSynced", "Folders",
	"FirstSyncTime", "LastSyncedTime", "NextSyncTime", "Error"}

// Rows makes the report's rows.
func Rows(users []migration.User) []Row {
	out := make([]Row, 0, len(users))
	for _, u := range users {
		r := Row{EmailAddress: u.EmailAddress, Status: string(u.Status), ItemsSynced: u.ItemsSynced, ItemsSkipped: u.ItemsSkipped,
			SkippedBy: u.SkippedBy, BytesSynced: u.BytesSynced, Folders: u.Folders, FirstSyncTime: stamp(u.FirstSync),
			LastSyncTime: stamp(u.LastSync), Error: u.Error}
		if r.SkippedBy == nil {
			r.SkippedBy = map[string]int{}
		}
		if u.Status == migration.UserSynced || u.Status == migration.UserQueued || u.Status == migration.UserIncrementalFailed {
			r.NextSyncTime = stamp(u.NextSync)
		}
		out = append(out, r)
	}
	return out
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// Write writes the report in format "csv" or "json".
func Write(w io.Writer, format string, users []migration.User) error {
	rows := Rows(users)
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	case "csv":
		cw := NewCSVWriter(w)
		cw.Write(Columns)
		for _, r := range rows {
			cw.Write([]string{r.EmailAddress, r.Status, strconv.Itoa(r.ItemsSynced), strconv.Itoa(r.ItemsSkipped), reasons(r.SkippedBy),
				strconv.FormatInt(r.BytesSynced, 10), strconv.Itoa(r.Folders), r.FirstSyncTime, r.LastSyncTime, r.NextSyncTime, r.Error})
		}
		cw.Flush()
		return cw.Error()
	}
	return fmt.Errorf("report format %q: must be csv or json", format)
}

// CSVWriter writes CSV for spreadsheets: every cell goes through SafeCell.
// Every CSV the program writes goes through it (JSON is left as is).
type CSVWriter struct{ *csv.Writer }

// NewCSVWriter returns a CSVWriter on w.
func NewCSVWriter(w io.Writer) *CSVWriter { return &CSVWriter{csv.NewWriter(w)} }

// Write writes one record, its cells made safe.
func (w *CSVWriter) Write(record []string) error {
	safe := make([]string, len(record))
	for i, c := range record {
		safe[i] = SafeCell(c)
	}
	return w.Writer.Write(safe)
}

// SafeCell keeps a spreadsheet from running a cell as a formula (CSV
// injection: an address, folder name or server error such as
// "=cmd|'/C calc'!A0@x.example" comes from outside): a cell that starts
// with '=', '+', '-', '@', a tab or a carriage return gets a leading single
// quote, OWASP's rule. Spreadsheets show the quote; the value stays
// readable.
func SafeCell(s string) string {
	if s != "" && strings.IndexByte("=+-@\t\r", s[0]) >= 0 {
		return "'" + s
	}
	return s
}

// reasons renders "too_large=2; rejected=1".
func reasons(m map[string]int) string {
	var parts []string
	for k, v := range m {
		parts = append(parts, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(parts)
	return strings.Join(parts, "; ")
}
