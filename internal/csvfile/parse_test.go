package csvfile

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"testing/iotest"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
	"golang.org/x/text/encoding/unicode"

	"github.com/imapmigrate/imapmigrate/internal/credential"
)

const hdr = "EmailAddress,UserName,Password\n"

// p is an expected problem or warning: its row, its column, and a part of
// its message.
type p struct {
	row      int
	col, msg string
}

// ruleTest is one input and everything Parse must say about it.
type ruleTest struct {
	name     string
	in       string
	opts     Options
	problems []p // nil: the file must be valid
	rows     int // rows of a valid file
	warnings []p
	notices  []string // parts of the notices, in order
}

func (tt ruleTest) run(t *testing.T) {
	t.Helper()
	f, err := Parse(strings.NewReader(tt.in), tt.opts)
	var warnings []Problem
	var notices []string
	if tt.problems == nil {
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		if len(f.Rows) != tt.rows {
			t.Errorf("%d rows, want %d", len(f.Rows), tt.rows)
		}
		warnings, notices = f.Warnings, f.Notices
	} else {
		var pe *ProblemsError
		if !errors.As(err, &pe) {
			t.Fatalf("Parse error = %v (file %+v), want a *ProblemsError", err, f)
		}
		if f != nil {
			t.Errorf("Parse returned a file with its problems")
		}
		matchProblems(t, "problem", pe.Problems, tt.problems)
		warnings, notices = pe.Warnings, pe.Notices
	}
	matchProblems(t, "warning", warnings, tt.warnings)
	if len(notices) != len(tt.notices) {
		t.Errorf("notices %q, want %d containing %q", notices, len(tt.notices), tt.notices)
		return
	}
	for i, n := range tt.notices {
		if !strings.Contains(notices[i], n) {
			t.Errorf("notice %q, want it to contain %q", notices[i], n)
		}
	}
}

func matchProblems(t *testing.T, kind string, got []Problem, want []p) {
	t.Helper()
	ok := len(got) == len(want)
	for i := 0; ok && i < len(want); i++ {
		g, w := got[i], want[i]
		ok = g.Row == w.row && g.Column == w.col && strings.Contains(g.Message, w.msg) && g.Fix != ""
	}
	if !ok {
		var b strings.Builder
		for _, g := range got {
			fmt.Fprintf(&b, "\n\t%d %q %s", g.Row, g.Column, g)
		}
		t.Errorf("%ss:%s\nwant %+v", kind, b.String(), want)
	}
}

func runRules(t *testing.T, tests []ruleTest) {
	for _, tt := range tests {
		t.Run(tt.name, tt.run)
	}
}

func TestHeaderRules(t *testing.T) {
	runRules(t, []ruleTest{
		{name: "attributes in any order", in: "Password,EmailAddress,UserName\np,a@b.c,u\n", rows: 1},
		{name: "case-insensitive", in: "emailaddress,USERNAME,PassWord,userroot\na@b.c,u,p,/r\n", rows: 1},
		{name: "quoted names", in: `"EmailAddress","UserName","Password"` + "\na@b.c,u,p\n", rows: 1},
		{name: "UserRoot is optional", in: hdr + "a@b.c,u,p\n", rows: 1},
		{name: "trailing empty cells are Excel padding", in: "EmailAddress,UserName,Password,,\na@b.c,u,p,,\n", rows: 1},
		{name: "value below padding", in: "EmailAddress,UserName,Password,,\na@b.c,u,p,,x\n",
			problems: []p{{2, "E", "no attribute name"}}},
		{name: "space before a name", in: " EmailAddress,UserName,Password\na@b.c,u,p\n",
			problems: []p{{1, "A", `" EmailAddress" has a space before it`}}},
		{name: "space after a name", in: "EmailAddress,UserName,Password \na@b.c,u,p\n",
			problems: []p{{1, "C", `"Password " has a space after it`}}},
		{name: "spaces around a name still check the column", in: "EmailAddress,\tUserName ,Password\na@b.c,,p\n",
			problems: []p{{1, "B", "spaces before and after it"}, {2, "UserName", "empty"}}},
		{name: "space-only trailing cell is no padding", in: "EmailAddress,UserName,Password, \na@b.c,u,p,\n",
			problems: []p{{1, "D", "no attribute name"}}},
		{name: "empty name before a named column", in: "EmailAddress,,UserName,Password\na@b.c,,u,p\n",
			problems: []p{{1, "B", "no attribute name"}}},
		{name: "unknown attribute", in: "EmailAddress,UserName,Password,Department\na@b.c,u,p,t\n",
			problems: []p{{1, "D", `unknown attribute "Department"`}}},
		{name: "target login without password", in: "EmailAddress,UserName,Password,TargetUserName,TargetPassword\na@b.c,u,p,t,\n",
			problems: []p{{2, "TargetPassword", "empty while TargetUserName is set"}}},
		{name: "unknown attribute close to a known one", in: "E-mail Address,UserName,Password\na@b.c,u,p\n",
			problems: []p{{1, "A", `unknown attribute "E-mail Address"`}}},
		{name: "attribute twice", in: "EmailAddress,UserName,Password,username\na@b.c,u,p,v\n",
			problems: []p{{1, "D", "UserName appears twice (columns B and D)"}}},
		{name: "missing required attributes", in: "EmailAddress,UserRoot\na@b.c,/r\n",
			problems: []p{{1, "", "no UserName attribute"}, {1, "", "no Password attribute"}}},
		{name: "no header: a mailbox row", in: "a@b.c,u,p\nd@e.f,u,p\n",
			problems: []p{{1, "", "looks like a mailbox, not a header"}}},
		{name: "no header: something else", in: "Name,Login,Secret\nx,y,z\n",
			problems: []p{{1, "", "is not a header"}}},
		{name: "quoting mistake in the header", in: `EmailAddress,UserName,Pass"word` + "\na@b.c,u,p\n",
			problems: []p{{1, "C", "double quote inside a value"}, {1, "C", "unknown attribute"}}},
		{name: "a row with an address is no header", in: "EmailAddress,u@x.com,Password\na@b.c,u,p\n",
			problems: []p{{1, "", "looks like a mailbox, not a header"}}},
	})
}

func TestRowRules(t *testing.T) {
	runRules(t, []ruleTest{
		{name: "reference sample", in: hdr + "terrya@contoso.edu,terry.adams,1091990\nannb@contoso.edu,ann.beebe,2111991\n", rows: 2},
		{name: "empty EmailAddress", in: hdr + ",u,p\n", problems: []p{{2, "EmailAddress", "empty"}}},
		{name: "space-only EmailAddress", in: hdr + "  ,u,p\n", problems: []p{{2, "EmailAddress", "empty"}}},
		{name: "EmailAddress trimmed", in: hdr + " a@b.c ,u,p\n", rows: 1},
		{name: "empty UserName", in: hdr + "a@b.c,,p\n", problems: []p{{2, "UserName", "empty"}}},
		{name: "space-only UserName", in: hdr + "a@b.c, ,p\n", problems: []p{{2, "UserName", "empty"}}},
		{name: "empty Password", in: hdr + "a@b.c,u,\n", problems: []p{{2, "Password", "empty"}}},
		{name: "all three empty in a row with content elsewhere", in: "EmailAddress,UserName,Password,UserRoot\n,,,/r\n",
			problems: []p{{2, "EmailAddress", "empty"}, {2, "UserName", "empty"}, {2, "Password", "empty"}}},
		{name: "spaces around UserName, Password and UserRoot are kept, with warnings",
			in: "EmailAddress,UserName,Password,UserRoot\na@b.c, u,p ,/r \n", rows: 1,
			warnings: []p{{2, "UserName", "space"}, {2, "Password", "space"}, {2, "UserRoot", "space"}}},
		{name: "space-only password is a warning", in: hdr + "a@b.c,u, \n", rows: 1,
			warnings: []p{{2, "Password", "space"}}},
		{name: "more cells than the header", in: hdr + "a@b.c,u,pass,word\n",
			problems: []p{{2, "", "4 cells but the header has 3"}}},
		{name: "fewer cells than the header", in: hdr + "a@b.c,u\n",
			problems: []p{{2, "", "2 cells but the header has 3"}}},
		{name: "same EmailAddress twice, both rows named", in: hdr + "a@b.c,u,p\nd@e.f,u,p\nA@B.C,v,q\n",
			problems: []p{{4, "EmailAddress", `"A@B.C" is also in row 2`}}},
		{name: "same EmailAddress three times", in: hdr + "a@b.c,u,p\na@b.c,u,p\na@b.c,u,p\n",
			problems: []p{{3, "EmailAddress", "also in row 2"}, {4, "EmailAddress", "also in row 2"}}},
		{name: "every problem of every row", in: hdr + "x,,\n,u,p\n",
			problems: []p{{2, "EmailAddress", "not an email address"}, {2, "UserName", "empty"}, {2, "Password", "empty"}, {3, "EmailAddress", "empty"}}},
	})
}

func TestEmailAddress(t *testing.T) {
	valid := []string{"a@b", "terry.adams@contoso.edu", "first.last+tag@sub.example.co.uk", "ünicode@例え.jp", "a@[192.0.2.1]"}
	for _, e := range valid {
		if msg, _ := checkEmail(e); msg != "" {
			t.Errorf("%q: %s", e, msg)
		}
	}
	invalid := map[string]string{
		"bob@":              "not an email address",
		"@contoso.com":      "not an email address",
		"bob":               "not an email address",
		"a..b@x.com":        "not an email address",
		"a@b@c":             "not an email address",
		"a@b.c, d@e.f":      "not an email address",
		"Bob <bob@x.com>":   "has a display name",
		"bob@x.com (Bob)":   "has a display name",
		"<bob@x.com>":       "not written as a bare address",
		`"bob smith"@x.com`: "not written as a bare address",
		"":                  "empty",
	}
	for e, want := range invalid {
		msg, fix := checkEmail(e)
		if !strings.Contains(msg, want) || fix == "" {
			t.Errorf("%q: %q — %q, want %q", e, msg, fix, want)
		}
	}
	runRules(t, []ruleTest{
		{name: "display name in a file", in: hdr + `"Terry Adams <terry@contoso.edu>",u,p` + "\n",
			problems: []p{{2, "EmailAddress", "has a display name"}}},
	})
}

func TestLineRules(t *testing.T) {
	runRules(t, []ruleTest{
		{name: "CRLF", in: "EmailAddress,UserName,Password\r\na@b.c,u,p\r\nd@e.f,u,p\r\n", rows: 2},
		{name: "LF", in: hdr + "a@b.c,u,p\nd@e.f,u,p\n", rows: 2},
		{name: "CR only", in: "EmailAddress,UserName,Password\ra@b.c,u,p\rd@e.f,u,p\r", rows: 2,
			notices: []string{"carriage return only"}},
		{name: "mixed line ends", in: "EmailAddress,UserName,Password\r\na@b.c,u,p\nd@e.f,u,p\r", rows: 2},
		{name: "no final line break", in: hdr + "a@b.c,u,p", rows: 1},
		{name: "one trailing empty line", in: hdr + "a@b.c,u,p\n\n", rows: 1,
			notices: []string{"ignored 1 blank row at the end of the file (row 3)"}},
		{name: "trailing Excel blank rows", in: hdr + "a@b.c,u,p\r\n,,\r\n,,\r\n\r\n", rows: 1,
			notices: []string{"ignored 3 blank rows at the end of the file (rows 3, 4, 5)"}},
		{name: "blank line in the middle", in: hdr + "a@b.c,u,p\n\nd@e.f,u,p\n",
			problems: []p{{3, "", "blank row"}}},
		{name: "empty cells row in the middle", in: hdr + "a@b.c,u,p\n,,\n , ,\nd@e.f,u,p\n",
			problems: []p{{3, "", "blank row"}, {4, "", "blank row"}}},
		{name: "blank rows above the header", in: "\n,,\n" + hdr + "a@b.c,u,p\n",
			problems: []p{{1, "", "blank row above the header"}, {2, "", "blank row above the header"}}},
		{name: "blank rows are counted in row numbers", in: "\n" + hdr + "\n,u,p\n",
			problems: []p{{1, "", "above the header"}, {3, "", "blank row"}, {4, "EmailAddress", "empty"}}},
	})
}

func TestQuoting(t *testing.T) {
	runRules(t, []ruleTest{
		{name: "separator, quote and line break inside quotes",
			in: hdr + `a@b.c,"u,1","p""w` + "\r\nx\"\nd@e.f,u,p\n", rows: 2},
		{name: "a quoted line break does not start a row", in: hdr + "a@b.c,u,\"p\n\nq\"\n,u,p\n",
			problems: []p{{3, "EmailAddress", "empty"}}},
		{name: "quote inside an unquoted value", in: hdr + "a@b.c,u,pa\"ss\n",
			problems: []p{{2, "Password", "double quote inside a value that does not start with one"}}},
		{name: "text after the closing quote", in: hdr + "a@b.c,\"u\"x,p\n",
			problems: []p{{2, "UserName", "text after the closing double quote"}}},
		{name: "quote never closed", in: hdr + "a@b.c,u,\"p\nd@e.f,u,p\n",
			problems: []p{{2, "Password", "never closed"}}},
		{name: "rows after a quoting mistake are checked", in: hdr + "a@b.c,u,p\"\n,u,p\n",
			problems: []p{{2, "Password", "double quote"}, {3, "EmailAddress", "empty"}}},
		{name: "quoting mistake in a cell without attribute", in: "EmailAddress,UserName,Password,\na@b.c,u,p,\"x\"y\n",
			problems: []p{{2, "D", "text after the closing double quote"}}},
	})
}

func TestSeparators(t *testing.T) {
	runRules(t, []ruleTest{
		{name: "semicolon (Swedish, German, French Excel)", in: "EmailAddress;UserName;Password\na@b.c;u;p,1\n", rows: 1,
			notices: []string{`separated by ";"`}},
		{name: "semicolon file with a comma-quoted header", in: `"EmailAddress";"UserName";"Password"` + "\na@b.c;u;p\n", rows: 1,
			notices: []string{`separated by ";"`}},
		{name: "semicolon inside a comma file is a value", in: hdr + "a@b.c,u,p;1\n", rows: 1},
		{name: "tab (Excel Unicode text)", in: "EmailAddress\tUserName\tPassword\na@b.c\tu\tp\n", rows: 1,
			notices: []string{"separated by tabs"}},
		{name: "sep= line", in: "sep=;\r\nEmailAddress;UserName;Password\r\na@b.c;u;p\r\n", rows: 1,
			notices: []string{"sets the separator (sep=;)"}},
		{name: "sep= line is not counted as a row", in: "sep=|\nEmailAddress|UserName|Password\n|u|p\n",
			problems: []p{{2, "EmailAddress", "empty"}}, notices: []string{"sep=|"}},
		{name: "sep= with a letter is no directive", in: "sep=x\n" + hdr + "a@b.c,u,p\n",
			problems: []p{{1, "", "not a header"}}},
		{name: "cell count hint names the separator", in: "EmailAddress;UserName;Password\na@b.c;u;p;q\n",
			problems: []p{{2, "", "4 cells"}}, notices: []string{`";"`}},
	})
	// The hint of a cell-count problem names the separator in use.
	_, err := Parse(strings.NewReader("EmailAddress;UserName;Password\na@b.c;u;p;q\n"), Options{})
	if pe := (*ProblemsError)(nil); !errors.As(err, &pe) || !strings.Contains(pe.Problems[0].Fix, `contains ";"`) {
		t.Errorf("fix does not name the separator: %v", err)
	}
}

func TestFileRules(t *testing.T) {
	runRules(t, []ruleTest{
		{name: "empty file", in: "", problems: []p{{0, "", "the file is empty"}}},
		{name: "spaces and line breaks only", in: " \r\n\n\t\n", problems: []p{{0, "", "the file is empty"}}},
		{name: "only empty quoted cells", in: `""` + "\n" + `"",""`, problems: []p{{0, "", "only blank rows"}}},
		{name: "header only", in: hdr, problems: []p{{0, "", "no mailbox rows"}}},
		{name: "header and blank rows only", in: hdr + ",,\n\n", problems: []p{{0, "", "no mailbox rows"}},
			notices: []string{"ignored 2 blank rows"}},
		{name: "rows at the limit", in: hdr + "a@b.c,u,p\nd@e.f,u,p\n", opts: Options{MaxRows: 2}, rows: 2},
		{name: "too many rows", in: hdr + "a@b.c,u,p\nd@e.f,u,p\ng@h.i,u,p\n", opts: Options{MaxRows: 2},
			problems: []p{{0, "", "3 mailbox rows, more than the limit of 2"}}},
		{name: "too many rows and row problems", in: hdr + "a@b.c,u,p\nd@e.f,u,\ng@h.i,u,p\n", opts: Options{MaxRows: 2},
			problems: []p{{0, "", "more than the limit"}, {3, "Password", "empty"}}},
		{name: "bytes at the limit", in: hdr + "a@b.c,u,p\n", opts: Options{MaxBytes: int64(len(hdr) + 10)}, rows: 1},
		{name: "too large", in: hdr + "a@b.c,u,p\n", opts: Options{MaxBytes: int64(len(hdr) + 9)},
			problems: []p{{0, "", "larger than 40 bytes"}}},
		{name: "no practical size limit", in: hdr + "a@b.c,u,p\n", opts: Options{MaxBytes: math.MaxInt64}, rows: 1},
		{name: "too large in MB", in: strings.Repeat("x", 1<<20+1), opts: Options{MaxBytes: 1 << 20},
			problems: []p{{0, "", "larger than 1 MiB"}}},
	})
}

func TestEncodings(t *testing.T) {
	enc := func(e encoding.Encoding, s string) string {
		out, err := e.NewEncoder().String(s)
		if err != nil {
			t.Fatalf("encode %q: %v", s, err)
		}
		return out
	}
	utf16le := unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM)
	utf16be := unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM)
	swedish := hdr + "asa@contoso.se,åsa.öberg,Lösenord€\n"
	tests := []struct {
		name     string
		in       string
		label    string
		encoding string // File.Encoding
		user     string // UserName of row 2
		problems []p
		notices  []string
	}{
		{name: "UTF-8", in: swedish, encoding: "UTF-8", user: "åsa.öberg"},
		{name: "UTF-8 with BOM", in: "\xEF\xBB\xBF" + swedish, encoding: "UTF-8 with BOM", user: "åsa.öberg"},
		{name: "UTF-16LE with BOM", in: "\xFF\xFE" + enc(utf16le, swedish), encoding: "UTF-16LE with BOM", user: "åsa.öberg"},
		{name: "UTF-16BE with BOM", in: "\xFE\xFF" + enc(utf16be, swedish), encoding: "UTF-16BE with BOM", user: "åsa.öberg"},
		{name: "UTF-16LE without BOM", in: enc(utf16le, swedish), encoding: "UTF-16LE", user: "åsa.öberg",
			notices: []string{"no byte-order mark"}},
		{name: "UTF-16BE without BOM", in: enc(utf16be, swedish), encoding: "UTF-16BE", user: "åsa.öberg",
			notices: []string{"no byte-order mark"}},
		{name: "UTF-16LE named", in: enc(utf16le, swedish), label: "utf-16le", encoding: "UTF-16LE", user: "åsa.öberg"},
		{name: "windows-1252", in: enc(charmap.Windows1252, swedish), label: "windows-1252", encoding: "windows-1252", user: "åsa.öberg"},
		{name: "latin1 means windows-1252", in: enc(charmap.Windows1252, swedish), label: "latin1", encoding: "windows-1252", user: "åsa.öberg"},
		{name: "auto is UTF-8", in: swedish, label: "auto", encoding: "UTF-8", user: "åsa.öberg"},
		{name: "GBK", in: enc(simplifiedchinese.GBK, hdr+"zhang@contoso.cn,张伟,密码\n"), label: "gbk", encoding: "GBK", user: "张伟"},
		{name: "GBK as GB18030", in: enc(simplifiedchinese.GBK, hdr+"zhang@contoso.cn,张伟,密码\n"), label: "GB18030", encoding: "GB18030", user: "张伟"},
		{name: "Big5", in: enc(traditionalchinese.Big5, hdr+"chen@contoso.tw,陳大文,密碼\n"), label: "big5", encoding: "Big5", user: "陳大文"},
		{name: "a BOM wins over the label", in: "\xEF\xBB\xBF" + swedish, label: "gbk", encoding: "UTF-8 with BOM", user: "åsa.öberg",
			notices: []string{"read as UTF-8, not GBK"}},
		{name: "a BOM that agrees says nothing", in: "\xEF\xBB\xBF" + swedish, label: "utf-8", encoding: "UTF-8 with BOM", user: "åsa.öberg"},
		{name: "windows-1252 read as UTF-8", in: enc(charmap.Windows1252, swedish),
			problems: []p{{2, "UserName", "not valid"}, {2, "Password", "not valid"}}},
		{name: "GBK read as UTF-8", in: enc(simplifiedchinese.GBK, hdr+"zhang@contoso.cn,张伟,x\n"),
			problems: []p{{2, "UserName", "not valid"}}},
		{name: "UTF-8 read as GBK", in: hdr + "zhang@contoso.cn,u,€\n", label: "gbk",
			problems: []p{{2, "Password", "not valid"}}},
		{name: "undefined windows-1252 byte", in: hdr + "a@b.c,u\x81,p\n", label: "windows-1252",
			problems: []p{{2, "UserName", "not valid"}}},
		{name: "a replacement character is never accepted", in: hdr + "a@b.c,u\uFFFD,p\n",
			problems: []p{{2, "UserName", "not valid"}}},
		{name: "odd UTF-16 length", in: "\xFF\xFE" + enc(utf16le, hdr+"a@b.c,u,p") + "x",
			problems: []p{{2, "Password", "not valid"}}, notices: nil},
		{name: "NUL in a UTF-8 file", in: hdr + "a@b.c,u\x00,p\n",
			problems: []p{{2, "UserName", "NUL"}}},
		{name: "bad bytes in the email are not also an address problem", in: hdr + "\xFF@b.c,u,p\n",
			problems: []p{{2, "EmailAddress", "not valid"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse(strings.NewReader(tt.in), Options{Encoding: tt.label})
			if tt.problems != nil {
				var pe *ProblemsError
				if !errors.As(err, &pe) {
					t.Fatalf("Parse error = %v, want problems", err)
				}
				matchProblems(t, "problem", pe.Problems, tt.problems)
				for _, pr := range pe.Problems {
					if strings.Contains(pr.Message, "not valid") && !strings.Contains(pr.Fix, "--csv-encoding") {
						t.Errorf("fix %q does not say how to choose the encoding", pr.Fix)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if f.Encoding != tt.encoding {
				t.Errorf("encoding %q, want %q", f.Encoding, tt.encoding)
			}
			if got := f.Rows[0].UserName(); got != tt.user {
				t.Errorf("UserName %q, want %q", got, tt.user)
			}
			if strings.Contains(tt.in, "Lösenord") || tt.user == "åsa.öberg" {
				if got := f.Rows[0].Password.Reveal(); got != "Lösenord€" {
					t.Errorf("Password %q, want Lösenord€", got)
				}
			}
			if strings.Join(f.Notices, "|") != strings.Join(tt.notices, "|") {
				ok := len(f.Notices) == len(tt.notices)
				for i := 0; ok && i < len(tt.notices); i++ {
					ok = strings.Contains(f.Notices[i], tt.notices[i])
				}
				if !ok {
					t.Errorf("notices %q, want %q", f.Notices, tt.notices)
				}
			}
		})
	}
}

func TestUnknownEncoding(t *testing.T) {
	_, err := Parse(strings.NewReader(hdr), Options{Encoding: "klingon"})
	var pe *ProblemsError
	if err == nil || errors.As(err, &pe) || !strings.Contains(err.Error(), `"klingon" is unknown`) {
		t.Errorf("Parse error = %v, want an unknown-encoding error that is no ProblemsError", err)
	}
}

func TestBadOptions(t *testing.T) {
	for _, o := range []Options{{MaxRows: -1}, {MaxBytes: -1}, {MaxProblems: -1}} {
		if _, err := Parse(strings.NewReader(hdr+"a@b.c,u,p\n"), o); err == nil {
			t.Errorf("Parse with %+v: no error", o)
		}
	}
}

func TestReadError(t *testing.T) {
	boom := errors.New("disk on fire")
	_, err := Parse(iotest.ErrReader(boom), Options{})
	if !errors.Is(err, boom) {
		t.Errorf("Parse error = %v, want it to wrap %v", err, boom)
	}
}

func TestCredentialForms(t *testing.T) {
	runRules(t, []ruleTest{
		{name: "exchange", in: hdr + "a@b.c,contoso/admin/a,p\n", rows: 1},
		{name: "dovecot", in: hdr + "a@b.c,a*admin,p\n", rows: 1},
		{name: "dovecot with the endpoint's separator", in: hdr + "a@b.c,a%admin,p\nd@e.f,d%admin,p\n",
			opts: Options{MasterSeparator: "%"}, rows: 2},
		{name: "mirapoint", in: hdr + "a@b.c,#a@b.c#admin#,p\n", rows: 1},
		{name: "userroot", in: "EmailAddress,UserName,Password,UserRoot\na@b.c,admin,p,/users/a\n", rows: 1},
		{name: "malformed mirapoint is a warning", in: hdr + "a@b.c,#a@b.c#admin,p\n", rows: 1,
			warnings: []p{{2, "UserName", `no closing "#"`}}},
		{name: "malformed exchange is a warning", in: hdr + "a@b.c,contoso/a,p\n", rows: 1,
			warnings: []p{{2, "UserName", `contains 1 "/"`}}},
		{name: "malformed dovecot is a warning", in: hdr + "a@b.c,a*,p\n", rows: 1,
			warnings: []p{{2, "UserName", "part is empty"}}},
		{name: "mixed forms", in: hdr + "a@b.c,a*admin,p\nd@e.f,d*admin,p\ng@h.i,g,p\nj@k.l,#j@k.l#admin#,p\n", rows: 4,
			warnings: []p{{0, "", "mixes login forms: 1 plain (row 4), 2 dovecot, 1 mirapoint (row 5)"}}},
		{name: "UserRoot for some rows only", in: "EmailAddress,UserName,Password,UserRoot\na@b.c,admin,p,/users/a\nd@e.f,d,p,\n", rows: 2,
			warnings: []p{{0, "", "mixes login forms"}}},
		{name: "warnings are kept for an invalid file", in: hdr + "a@b.c,#a@b.c#admin,\n",
			problems: []p{{2, "Password", "empty"}}, warnings: []p{{2, "UserName", `no closing "#"`}}},
	})

	f, err := Parse(strings.NewReader(hdr+"a@b.c,a*admin,p\nd@e.f,d*admin,p\ng@h.i,contoso/admin/g,p\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[credential.Form]int{credential.Dovecot: 2, credential.Exchange: 1}
	if got := f.Forms(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Forms() = %v, want %v", got, want)
	}
}

func TestRowFields(t *testing.T) {
	in := "Password,UserRoot,EmailAddress,UserName\r\n" +
		`"p,""1"" ",/users/terry, terry@contoso.edu ,terry.adams*admin` + "\r\n"
	f, err := Parse(strings.NewReader(in), Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := f.Rows[0]
	if r.Number != 2 || r.EmailAddress != "terry@contoso.edu" || r.UserName() != "terry.adams*admin" ||
		r.UserRoot() != "/users/terry" || r.Password.Reveal() != `p,"1" ` {
		t.Errorf("row %d %q %q %q %q", r.Number, r.EmailAddress, r.UserName(), r.UserRoot(), r.Password.Reveal())
	}
	if r.Login.Form != credential.Dovecot || r.Login.User != "terry.adams" || r.Login.Admin != "admin" {
		t.Errorf("login %#v", r.Login)
	}
	if f.Encoding != "UTF-8" || f.Separator != "," {
		t.Errorf("encoding %q separator %q", f.Encoding, f.Separator)
	}
}

func TestProblemCap(t *testing.T) {
	var b strings.Builder
	b.WriteString(hdr)
	for i := range 150 {
		fmt.Fprintf(&b, "u%d@contoso.edu,u,\n", i)
	}
	_, err := Parse(strings.NewReader(b.String()), Options{MaxRows: 10})
	var pe *ProblemsError
	if !errors.As(err, &pe) {
		t.Fatalf("Parse error = %v", err)
	}
	if len(pe.Problems) != 101 || pe.Omitted != 50 || pe.Total() != 151 {
		t.Errorf("%d problems kept, %d omitted, total %d; want 101 (100 rows + the file), 50, 151", len(pe.Problems), pe.Omitted, pe.Total())
	}
	if pe.Problems[0].Row != 0 || !strings.Contains(pe.Problems[0].Message, "more than the limit") {
		t.Errorf("first problem %v, want the row limit", pe.Problems[0])
	}
	msg := pe.Error()
	if !strings.HasPrefix(msg, "invalid migration file: 151 problems\n") || !strings.HasSuffix(msg, "\n… and 50 more problems") {
		t.Errorf("Error() = %q…%q", msg[:60], msg[len(msg)-40:])
	}

	_, err = Parse(strings.NewReader(b.String()), Options{MaxProblems: 3})
	if !errors.As(err, &pe) || len(pe.Problems) != 3 || pe.Omitted != 147 {
		t.Errorf("MaxProblems 3: %d kept, %d omitted", len(pe.Problems), pe.Omitted)
	}
}

func TestWarningCap(t *testing.T) {
	var b strings.Builder
	b.WriteString(hdr)
	for i := range 5 {
		fmt.Fprintf(&b, "u%d@contoso.edu, u,p\n", i)
	}
	f, err := Parse(strings.NewReader(b.String()), Options{MaxProblems: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Warnings) != 2 || f.WarningsOmitted != 3 {
		t.Errorf("%d warnings, %d omitted; want 2, 3", len(f.Warnings), f.WarningsOmitted)
	}
}

func TestProblemString(t *testing.T) {
	tests := map[string]Problem{
		"file: the file is empty — fix it":                   {Message: "the file is empty", Fix: "fix it"},
		"row 3: blank row — delete it":                       {Row: 3, Message: "blank row", Fix: "delete it"},
		`row 17, column EmailAddress: "bob@" is not — write`: {Row: 17, Column: "EmailAddress", Message: `"bob@" is not`, Fix: "write"},
		"row 2, column D: no name":                           {Row: 2, Column: "D", Message: "no name"},
	}
	for want, pr := range tests {
		if got := pr.String(); got != want {
			t.Errorf("String() = %q, want %q", got, want)
		}
	}
}

func TestColumnLetter(t *testing.T) {
	for i, want := range map[int]string{0: "A", 25: "Z", 26: "AA", 27: "AB", 701: "ZZ", 702: "AAA"} {
		if got := columnLetter(i); got != want {
			t.Errorf("columnLetter(%d) = %q, want %q", i, got, want)
		}
	}
}

func TestFoldKey(t *testing.T) {
	pairs := [][2]string{{"Terry@Contoso.EDU", "terry@contoso.edu"}, {"\u212A@x", "k@x"}, {"\u017F@x", "S@x"}, {"ÅSA@x", "åsa@x"}}
	for _, pr := range pairs {
		if !strings.EqualFold(pr[0], pr[1]) || foldKey(pr[0]) != foldKey(pr[1]) {
			t.Errorf("foldKey(%q) = %q, foldKey(%q) = %q", pr[0], foldKey(pr[0]), pr[1], foldKey(pr[1]))
		}
	}
	if foldKey("a@x") == foldKey("b@x") {
		t.Error("foldKey folds different letters together")
	}
}

// TestPasswordNeverShown prints a file's rows in every way a caller might
// and reads every problem and warning of bad files: the password must not
// appear.
func TestPasswordNeverShown(t *testing.T) {
	const secret = "Hunter2-Sëcret"
	f, err := Parse(strings.NewReader(hdr+"a@b.c,u,"+secret+"\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := f.Rows[0]
	if r.Password.Reveal() != secret {
		t.Fatalf("password %q", r.Password.Reveal())
	}
	var shown []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T %v"} {
		shown = append(shown,
			fmt.Sprintf(verb, r), fmt.Sprintf(verb, &r), fmt.Sprintf(verb, f.Rows),
			fmt.Sprintf(verb, f), fmt.Sprintf(verb, *f), fmt.Sprintf(verb, struct{ R Row }{r}))
	}
	for _, v := range []any{r, &r, f, f.Rows} {
		j, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		shown = append(shown, string(j))
	}
	bad := []string{
		hdr + "a@b.c,u," + secret + "\"\n",     // bare quote in the password
		hdr + "a@b.c,u,\"" + secret + "\"x\n",  // text after the closing quote
		hdr + "a@b.c,u," + secret + ",extra\n", // too many cells
		hdr + "a@b.c,u, " + secret + "\n",      // spaces: warning
		hdr + "a@b.c,u," + secret + "\xFF\n",   // bad byte
		hdr + "a@b.c,u,\"" + secret + "\n",     // never closed
		secret + ",u,p\n",                      // no header
		"a@b.c,username," + secret + "\n",      // no header, though a cell names an attribute
		hdr + "a@b.c,u," + secret + "\nA@b.c,u," + secret + "\n",
	}
	for _, in := range bad {
		f, err := Parse(strings.NewReader(in), Options{})
		var pe *ProblemsError
		if errors.As(err, &pe) {
			shown = append(shown, pe.Error())
			for _, w := range pe.Warnings {
				shown = append(shown, w.String())
			}
		}
		if f != nil {
			for _, w := range f.Warnings {
				shown = append(shown, w.String())
			}
		}
	}
	hexSecret := fmt.Sprintf("%x", secret)
	for _, s := range shown {
		if strings.Contains(s, secret) || strings.Contains(strings.ToLower(s), hexSecret) || strings.Contains(s, "Hunter2") {
			t.Errorf("password shown in %q", s)
		}
	}
}
