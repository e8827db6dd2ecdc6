package csvfile

import (
	"bytes"
	"errors"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fuzzEncodings are the encodings FuzzParse reads its input with.
var fuzzEncodings = []string{"", "utf-8", "utf-16le", "utf-16be", "windows-1252", "gbk", "big5", "gb18030"}

// FuzzParse proves that Parse never panics, and never accepts a file that
// breaks a rule: every accepted row has a bare, unique email address, a
// non-empty UserName and Password and no undecodable text, and there are
// between 1 and MaxRows of them. A rejected file has at least one problem,
// each with a message and a fix.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.*")
	for _, path := range files {
		raw, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		enc := byte(0)
		for i, e := range fuzzEncodings {
			if e != "" && e == encodingOf(filepath.Base(path)) {
				enc = byte(i)
			}
		}
		f.Add(raw, enc)
	}
	for _, s := range []string{
		hdr + "a@b.c,u,p\nA@B.C,u,p\n",
		hdr + "a@b.c,\"u\nv\",\"p\"\"\"\n",
		"sep=;\nEmailAddress;UserName;Password;UserRoot\na@b.c;u*a;p;/r\n",
		"EmailAddress\tUserName\tPassword\r\na@b.c\t#a@b#c#\tp\r\n\r\n",
	} {
		f.Add([]byte(s), byte(0))
	}

	opts := Options{MaxRows: 8, MaxBytes: 4096, MaxProblems: 20}
	f.Fuzz(func(t *testing.T, data []byte, enc byte) {
		o := opts
		o.Encoding = fuzzEncodings[int(enc)%len(fuzzEncodings)]
		file, err := Parse(bytes.NewReader(data), o)
		if err != nil {
			var pe *ProblemsError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse error %v is no *ProblemsError", err)
			}
			if file != nil {
				t.Fatal("Parse returned a file and problems")
			}
			if pe.Total() == 0 || len(pe.Problems) == 0 {
				t.Fatal("ProblemsError without problems")
			}
			checkProblems(t, pe.Problems)
			checkProblems(t, pe.Warnings)
			return
		}
		if int64(len(data)) > o.MaxBytes {
			t.Fatalf("accepted %d bytes, limit %d", len(data), o.MaxBytes)
		}
		if n := len(file.Rows); n == 0 || n > o.MaxRows {
			t.Fatalf("accepted %d rows, want 1..%d", n, o.MaxRows)
		}
		checkProblems(t, file.Warnings)
		last := 1
		for i, r := range file.Rows {
			if r.Number <= last {
				t.Fatalf("row number %d after %d", r.Number, last)
			}
			last = r.Number
			a, err := mail.ParseAddress(r.EmailAddress)
			if err != nil || a.Name != "" || a.Address != r.EmailAddress {
				t.Fatalf("row %d: accepted EmailAddress %q (%v)", r.Number, r.EmailAddress, err)
			}
			if strings.TrimSpace(r.UserName()) == "" {
				t.Fatalf("row %d: accepted empty UserName %q", r.Number, r.UserName())
			}
			if r.Password.Reveal() == "" {
				t.Fatalf("row %d: accepted empty Password", r.Number)
			}
			for _, v := range []string{r.EmailAddress, r.UserName(), r.Password.Reveal(), r.UserRoot()} {
				if strings.ContainsAny(v, "\uFFFD\x00") {
					t.Fatalf("row %d: accepted undecodable text %q", r.Number, v)
				}
			}
			for _, other := range file.Rows[:i] {
				if strings.EqualFold(other.EmailAddress, r.EmailAddress) {
					t.Fatalf("rows %d and %d: accepted the same EmailAddress %q, %q", other.Number, r.Number, other.EmailAddress, r.EmailAddress)
				}
			}
		}
	})
}

func checkProblems(t *testing.T, ps []Problem) {
	t.Helper()
	for i, p := range ps {
		if p.Row < 0 || p.Message == "" || p.Fix == "" {
			t.Fatalf("malformed problem %#v", p)
		}
		if i > 0 && p.Row < ps[i-1].Row {
			t.Fatalf("problems out of row order: %v before %v", ps[i-1], p)
		}
	}
}
