package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/imapmigrate/imapmigrate/internal/migration"
)

// SkippedColumns are the columns of the skipped item details report (one
// row per message not migrated), in order.
var SkippedColumns = []string{"EmailAddress", "FolderName", "SourceUid", "DateReceived", "Subject", "MessageSize", "Kind", "Failure"}

// SkippedRow is one message of the skipped item details report.
type SkippedRow struct {
	EmailAddress string `json:"EmailAddress"`
	migration.SkippedItem
}

// SkippedWriter writes the skipped item details report of a batch, user by
// user, as CSV or JSON (an array of SkippedRow): memory is bounded by one
// user's items, not the batch's.
type SkippedWriter struct {
	w      io.Writer
	format string
	csv    *CSVWriter
	n      int
	err    error
}

// NewSkippedWriter starts a report in format "csv" or "json" on w.
func NewSkippedWriter(w io.Writer, format string) (*SkippedWriter, error) {
	s := &SkippedWriter{w: w, format: format}
	switch format {
	case "csv":
		s.csv = NewCSVWriter(w)
		s.csv.Write(SkippedColumns)
	case "json":
		_, s.err = io.WriteString(w, "[")
	default:
		return nil, fmt.Errorf("report format %q: must be csv or json", format)
	}
	return s, s.err
}

// Write adds the skipped items of one user.
func (s *SkippedWriter) Write(email string, items []migration.SkippedItem) error {
	for _, it := range items {
		if s.err != nil {
			return s.err
		}
		if s.csv != nil {
			s.err = s.csv.Write([]string{email, it.Folder, strconv.FormatUint(uint64(it.UID), 10), stamp(it.Date), it.Subject,
				strconv.FormatInt(it.Size, 10), it.Reason, it.Detail})
			s.n++
			continue
		}
		b, err := json.MarshalIndent(SkippedRow{EmailAddress: email, SkippedItem: it}, "  ", "  ")
		if err != nil {
			return err
		}
		sep := ",\n  "
		if s.n == 0 {
			sep = "\n  "
		}
		_, s.err = io.WriteString(s.w, sep+string(b))
		s.n++
	}
	return s.err
}

// Close ends the report; it says how many rows it wrote.
func (s *SkippedWriter) Close() (int, error) {
	if s.err != nil {
		return s.n, s.err
	}
	if s.csv != nil {
		s.csv.Flush()
		return s.n, s.csv.Error()
	}
	end := "]\n"
	if s.n > 0 {
		end = "\n]\n"
	}
	_, err := io.WriteString(s.w, end)
	return s.n, err
}
