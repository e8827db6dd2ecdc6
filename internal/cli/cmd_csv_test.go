package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const csvSecret = "Csv-Secret-Pässword-9"

func writeCSV(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCSVCheck(t *testing.T) {
	valid := writeCSV(t, "valid.csv", "\xEF\xBB\xBFEmailAddress;UserName;Password\r\n"+
		"terrya@contoso.edu;terry.adams*mailadmin;"+csvSecret+"\r\n"+
		"annb@contoso.edu;ann.beebe*mailadmin;"+csvSecret+"\r\n"+
		"paulc@contoso.edu;#paul@contoso.edu#mailadmin;"+csvSecret+"\r\n")
	invalid := writeCSV(t, "invalid.csv", "EmailAddress,UserName,Password\n"+
		"bob@,bob,"+csvSecret+"\n"+
		"\n"+
		"ann@contoso.edu,ann,"+csvSecret+"\"\n")
	gbk := writeCSV(t, "gbk.csv", "EmailAddress,UserName,Password\r\nzhang@contoso.cn,\xd5\xc5\xce\xb0,"+csvSecret+"\r\n")
	percent := writeCSV(t, "percent.csv", "EmailAddress,UserName,Password\nterry@contoso.edu,terry%admin,"+csvSecret+"\n")

	tests := []struct {
		name  string
		args  []string
		stdin string
		code  int
		want  []string // parts of stdout
		err   string   // part of stderr
	}{
		{name: "valid", args: []string{valid}, code: ExitOK, want: []string{
			"valid migration file, 3 mailboxes", "UTF-8 with BOM", `separator:    ";"`,
			"2 dovecot (Dovecot master user User*Admin)", "1 plain",
			`notice: cells are separated by ";"`,
			`warning: row 4, column UserName: starts with "#" like a Mirapoint admin login but has no closing "#"`,
			"warning: file: the file mixes login forms"}},
		{name: "valid with rows", args: []string{"--rows", valid}, code: ExitOK, want: []string{
			"ROW  EMAILADDRESS", "terry.adams*mailadmin", "***", "mailadmin"}},
		{name: "invalid lists every problem", args: []string{invalid}, code: ExitPartial, want: []string{
			"invalid migration file, 3 problems",
			`  row 2, column EmailAddress: "bob@" is not an email address — write it as name@domain`,
			"  row 3: blank row — delete the row",
			"  row 4, column Password: a double quote inside a value"}},
		{name: "legacy code page", args: []string{"--csv-encoding", "gbk", gbk}, code: ExitOK, want: []string{"encoding:     GBK", "1 plain"}},
		{name: "legacy code page not named", args: []string{gbk}, code: ExitPartial, want: []string{
			"row 2, column UserName: contains bytes that are not valid", "--csv-encoding windows-1252"}},
		{name: "master separator", args: []string{"--master-separator", "%", percent}, code: ExitOK, want: []string{"1 dovecot"}},
		{name: "default master separator", args: []string{percent}, code: ExitOK, want: []string{"1 plain"}},
		{name: "row limit", args: []string{"--max-rows", "2", valid}, code: ExitPartial, want: []string{
			"file: the file has 3 mailbox rows, more than the limit of 2"}},
		{name: "size limit", args: []string{"--max-size", "40B", valid}, code: ExitPartial, want: []string{
			"file: the file is larger than 40 bytes"}},
		{name: "standard input", args: []string{"-"}, stdin: "EmailAddress,UserName,Password\na@b.c,u,p\n", code: ExitOK,
			want: []string{"-: valid migration file, 1 mailbox"}},
		{name: "unknown encoding", args: []string{"--csv-encoding", "klingon", valid}, code: ExitUsage, err: `--csv-encoding: encoding "klingon" is unknown`},
		{name: "bad size", args: []string{"--max-size", "big", valid}, code: ExitUsage, err: "--max-size"},
		{name: "bad row limit", args: []string{"--max-rows", "0", valid}, code: ExitUsage, err: "--max-rows 0"},
		{name: "empty master separator", args: []string{"--master-separator", "", valid}, code: ExitUsage, err: "--master-separator"},
		{name: "missing file", args: []string{filepath.Join(t.TempDir(), "nope.csv")}, code: ExitUsage, err: "no such file"},
		{name: "no file", args: nil, code: ExitUsage, err: "accepts 1 arg"},
		{name: "bad output", args: []string{"-o", "yaml", valid}, code: ExitUsage, err: "--output"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := Execute(context.Background(), append([]string{"csv", "check"}, tt.args...), strings.NewReader(tt.stdin), &out, &errb)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, out.String(), errb.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("stdout lacks %q:\n%s", w, out.String())
				}
			}
			if tt.err != "" && !strings.Contains(errb.String(), tt.err) {
				t.Errorf("stderr lacks %q:\n%s", tt.err, errb.String())
			}
			if strings.Contains(out.String()+errb.String(), csvSecret) {
				t.Errorf("a password is printed:\n%s%s", out.String(), errb.String())
			}
		})
	}
}

func TestCSVCheckJSON(t *testing.T) {
	valid := writeCSV(t, "valid.csv", "EmailAddress,UserName,Password,UserRoot\n"+
		"terrya@contoso.edu,mailadmin,"+csvSecret+",/users/terry.adams\n")
	var out, errb bytes.Buffer
	code := Execute(context.Background(), []string{"csv", "check", "-o", "json", valid}, strings.NewReader(""), &out, &errb)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if strings.Contains(out.String(), csvSecret) {
		t.Fatalf("password in JSON:\n%s", out.String())
	}
	var got struct {
		Valid     bool           `json:"Valid"`
		Rows      int            `json:"Rows"`
		Forms     map[string]int `json:"Forms"`
		Problems  []any          `json:"Problems"`
		Mailboxes []struct {
			Row      int    `json:"Row"`
			Email    string `json:"EmailAddress"`
			UserName string `json:"UserName"`
			Password string `json:"Password"`
			UserRoot string `json:"UserRoot"`
			Login    struct {
				Form, User, Admin string
			} `json:"Login"`
		} `json:"Mailboxes"`
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("%v:\n%s", err, out.String())
	}
	m := got.Mailboxes
	if !got.Valid || got.Rows != 1 || got.Forms["userroot"] != 1 || got.Problems == nil || len(m) != 1 ||
		m[0].Row != 2 || m[0].Email != "terrya@contoso.edu" || m[0].UserName != "mailadmin" || m[0].Password != "***" ||
		m[0].UserRoot != "/users/terry.adams" || m[0].Login.Form != "userroot" || m[0].Login.User != "terry.adams" || m[0].Login.Admin != "mailadmin" {
		t.Errorf("JSON:\n%s", out.String())
	}

	// An invalid file: exit 1, every problem, capped with a count.
	var b strings.Builder
	b.WriteString("EmailAddress,UserName,Password\n")
	for i := range 120 {
		fmt.Fprintf(&b, "u%d@contoso.edu,,%s\n", i, csvSecret)
	}
	invalid := writeCSV(t, "invalid.csv", b.String())
	out.Reset()
	code = Execute(context.Background(), []string{"csv", "check", "--output", "json", invalid}, strings.NewReader(""), &out, &errb)
	if code != ExitPartial {
		t.Fatalf("exit %d, want %d", code, ExitPartial)
	}
	var bad struct {
		Valid           bool `json:"Valid"`
		ProblemsOmitted int  `json:"ProblemsOmitted"`
		Problems        []struct {
			Row     int    `json:"Row"`
			Column  string `json:"Column"`
			Message string `json:"Message"`
			Fix     string `json:"Fix"`
		} `json:"Problems"`
	}
	if err := json.Unmarshal(out.Bytes(), &bad); err != nil {
		t.Fatal(err)
	}
	if bad.Valid || len(bad.Problems) != 100 || bad.ProblemsOmitted != 20 ||
		bad.Problems[0].Row != 2 || bad.Problems[0].Column != "UserName" || bad.Problems[0].Message != "empty" || bad.Problems[0].Fix == "" {
		t.Errorf("valid %v, %d problems, %d omitted, first %+v", bad.Valid, len(bad.Problems), bad.ProblemsOmitted, bad.Problems[0])
	}
	if strings.Contains(out.String(), csvSecret) {
		t.Error("password in JSON problems")
	}

	// The text form says how many were left out.
	out.Reset()
	Execute(context.Background(), []string{"csv", "check", invalid}, strings.NewReader(""), &out, &errb)
	if !strings.Contains(out.String(), "invalid migration file, 120 problems") || !strings.Contains(out.String(), "  … and 20 more problems") {
		t.Errorf("text:\n%s", out.String())
	}
}
