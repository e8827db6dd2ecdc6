package syncer

import (
	"strings"
	"testing"
)

func TestSubjectOf(t *testing.T) {
	long := strings.Repeat("ab ", 200)
	for _, tt := range []struct{ in, want string }{
		{"Subject: Hello\r\n\r\n", "Hello"},
		{"subject: =?UTF-8?B?R3LDvMOfZQ==?= aus\r\n\tBerlin\r\n\r\n", "Grüße aus Berlin"},
		{"Subject: =?ISO-8859-1?Q?Caf=E9?=\r\n\r\n", "Café"},
		{"Subject: =?windows-1252?Q?=80_100?=\r\n", "€ 100"},
		{"Subject: =?gb2312?B?1tDOxA==?=\r\n\r\n", "中文"},
		{"Subject: =?x-unknown?Q?abc?=\r\n\r\n", "=?x-unknown?Q?abc?="},
		{"Subject: a\x00b\x1bc\r\n\r\n", "a b c"},
		{"Subject: \xff\xferaw\r\n\r\n", "\uFFFDraw"},
		{"From: x@y\r\n\r\n", ""},
		{"", ""},
		{"Subject: " + long + "\r\n\r\n", strings.TrimSpace(long[:254]) + "…"},
		{"Subject: no blank line after it", "no blank line after it"},
	} {
		if got := subjectOf(strings.NewReader(tt.in)); got != tt.want {
			t.Errorf("SubjectOf(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzSubjectOf(f *testing.F) {
	f.Add([]byte("Subject: =?UTF-8?B?R3LDvMOfZQ==?=\r\n\r\n"))
	f.Add([]byte("Subject: =?utf-8?q?a?= =?utf-8?q?b?=\r\n \r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s := subjectOf(strings.NewReader(string(b)))
		if n := len([]rune(s)); n > 255 {
			t.Errorf("%d runes", n)
		}
		if strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			t.Errorf("control characters in %q", s)
		}
	})
}
