package folders

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestEscape(t *testing.T) {
	tests := []struct {
		name    string
		segment string
		delim   rune
		want    string
	}{
		{"plain name unchanged", "Projects", '/', "Projects"},
		{"non-ASCII unchanged", "已发送", '/', "已发送"},
		{"ampersand unchanged", "R&D", '.', "R&D"},
		{"slash on a slash server", "R/D", '/', "R∕D"},
		{"dot on a dot server", "john.doe", '.', "john․doe"},
		{"dot on a slash server unchanged", "john.doe", '/', "john.doe"},
		{"several delimiters", "a/b/c", '/', "a∕b∕c"},
		{"only a delimiter", "/", '/', "∕"},
		{"backslash server", `C:\mail`, '\\', "C:⧵mail"},
		{"other ASCII delimiter: fullwidth", "a:b", ':', "a：b"},
		{"control delimiter: control picture", "a\x1fb", '\x1f', "a␟b"},
		{"look-alike already there is quoted", "a∕b", '/', "a␛∕b"},
		{"marker already there is quoted", "a␛b", '/', "a␛␛b"},
		{"look-alike of another delimiter untouched", "a∕b", '.', "a∕b"},
		{"flat server: nothing to escape", "a/b", 0, "a/b"},
		{"ESC as delimiter uses another marker", "a\x1bb␛", '\x1b', "a␛b␜␛"},
		{"invalid UTF-8 kept", "a\xffb/c", '/', "a\xffb∕c"},
		{"empty", "", '/', ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Escape(tt.segment, tt.delim)
			if got != tt.want {
				t.Fatalf("Escape(%q, %q) = %q, want %q", tt.segment, tt.delim, got, tt.want)
			}
			if back := Unescape(got, tt.delim); back != tt.segment {
				t.Fatalf("Unescape(%q, %q) = %q, want %q", got, tt.delim, back, tt.segment)
			}
		})
	}
}

func TestUnescapeLenient(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"a␛", "a␛"},         // lone marker at the end: not produced by Escape, kept
		{"a␛\xff", "a␛\xff"}, // marker before an invalid byte: kept
		{"Sent∕2023", "Sent/2023"},
		{"nothing here", "nothing here"},
	}
	for _, tt := range tests {
		if got := Unescape(tt.in, '/'); got != tt.want {
			t.Errorf("Unescape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzEscape proves that Escape never leaves the delimiter in a segment, that
// Unescape reverses it, and that a name without the three special runes is
// left alone.
func FuzzEscape(f *testing.F) {
	for _, seed := range []struct {
		s string
		d rune
	}{
		{"R/D", '/'}, {"john.doe", '.'}, {"a∕b␛", '/'}, {"已发送", '.'}, {"a\x1bb␛", 0x1b},
		{"x\u241By", 0x241B}, {"a∕b", 0x2215}, {"\xff/\xfe", '/'}, {"", '.'},
	} {
		f.Add(seed.s, seed.d)
	}
	f.Fuzz(func(t *testing.T, s string, d rune) {
		if d == 0 || d == utf8.RuneError || !utf8.ValidRune(d) {
			t.Skip("not a delimiter")
		}
		e := Escape(s, d)
		if strings.ContainsRune(e, d) {
			t.Fatalf("Escape(%q, %q) = %q contains the delimiter", s, d, e)
		}
		if back := Unescape(e, d); back != s {
			t.Fatalf("Unescape(Escape(%q, %q)) = %q", s, d, back)
		}
		look, mark := escapeRunes(d)
		if !containsAny(s, d, look, mark) && e != s {
			t.Fatalf("Escape(%q, %q) = %q changed an ordinary name", s, d, e)
		}
	})
}
