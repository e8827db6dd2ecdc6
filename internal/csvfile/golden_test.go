package csvfile

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the current output")

// encodingOf reads the encoding a testdata file needs from its name:
// "excel-zh-cn.gbk.csv" needs gbk; "excel-csv-utf8-bom.csv" none (auto).
func encodingOf(name string) string {
	parts := strings.Split(name, ".")
	if len(parts) == 3 {
		return parts[1]
	}
	return ""
}

// report renders everything Parse says about a file, as an admin would read
// it: the golden files are the reviewed listings.
func report(f *File, err error) string {
	var b strings.Builder
	var pe *ProblemsError
	switch {
	case errors.As(err, &pe):
		b.WriteString(pe.Error() + "\n")
		for _, n := range pe.Notices {
			b.WriteString("notice: " + n + "\n")
		}
		for _, w := range pe.Warnings {
			b.WriteString("warning: " + w.String() + "\n")
		}
	case err != nil:
		b.WriteString("error: " + err.Error() + "\n")
	default:
		fmt.Fprintf(&b, "valid: %d rows, encoding %s, separator %q\n", len(f.Rows), f.Encoding, f.Separator)
		for _, n := range f.Notices {
			b.WriteString("notice: " + n + "\n")
		}
		for _, w := range f.Warnings {
			b.WriteString("warning: " + w.String() + "\n")
		}
		if f.WarningsOmitted > 0 {
			fmt.Fprintf(&b, "warning: … and %d more\n", f.WarningsOmitted)
		}
		for _, r := range f.Rows {
			fmt.Fprintf(&b, "%v\n    %s\n", r, r.Login)
		}
	}
	return b.String()
}

func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.*")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			f, err := Parse(strings.NewReader(string(raw)), Options{Encoding: encodingOf(name)})
			got := report(f, err)
			if strings.HasPrefix(name, "invalid-") != (err != nil) {
				t.Errorf("Parse error = %v; files named invalid-* must fail and only those", err)
			}
			if strings.Contains(got, "P@ssw0rd") || strings.Contains(got, "1091990") || strings.Contains(got, "密码") {
				t.Errorf("the report shows a password:\n%s", got)
			}
			golden := filepath.Join("testdata", "golden", name+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("report differs from %s (go test -update rewrites it):\n--- got\n%s--- want\n%s", golden, got, want)
			}
		})
	}
}
