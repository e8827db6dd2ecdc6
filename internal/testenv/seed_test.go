package testenv

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

func TestDiffSnapshots(t *testing.T) {
	day := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	msg := func(uid imap.UID, sha string, flags ...imap.Flag) MessageInfo {
		return MessageInfo{UID: uid, SHA256: sha, Size: 10, BodyLen: 10, InternalDate: day, Flags: flags}
	}
	base := map[string][]MessageInfo{
		"INBOX": {msg(1, "aa", `\Seen`), msg(2, "bb"), msg(3, "bb")},
		"Empty": {},
	}
	tests := []struct {
		name string
		got  map[string][]MessageInfo
		want []string // substrings, one per difference
	}{
		{"same", base, nil},
		{"other UIDs and order, keyword case", map[string][]MessageInfo{
			"INBOX": {msg(9, "bb"), msg(7, "aa", `\SEEN`), msg(8, "bb")},
			"Empty": {},
		}, nil},
		{"missing mailbox and duplicate gone", map[string][]MessageInfo{
			"INBOX": {msg(1, "aa", `\Seen`), msg(2, "bb")},
		}, []string{`mailbox "Empty": missing`, `mailbox "INBOX": missing 1× sha256=bb`}},
		{"flag and date changed, extra mailbox", map[string][]MessageInfo{
			"INBOX": {msg(1, "aa"), msg(2, "bb"), {UID: 3, SHA256: "bb", Size: 10, BodyLen: 10, InternalDate: day.Add(time.Second)}},
			"Empty": {},
			"New":   {msg(1, "cc")},
		}, []string{
			`mailbox "INBOX": missing 1× sha256=aa`,
			`mailbox "INBOX": missing 1× sha256=bb`,
			`mailbox "INBOX": unexpected 1× sha256=aa`,
			`mailbox "INBOX": unexpected 1× sha256=bb`,
			`mailbox "New": unexpected`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			diff := DiffSnapshots(base, tt.got)
			if len(diff) != len(tt.want) {
				t.Fatalf("got %d differences, want %d:\n%s", len(diff), len(tt.want), joinLines(diff))
			}
			for i, w := range tt.want {
				if !strings.Contains(diff[i], w) {
					t.Errorf("difference %d = %q, want it to contain %q", i, diff[i], w)
				}
			}
			if !slices.IsSorted(diff) {
				t.Errorf("differences not sorted:\n%s", joinLines(diff))
			}
		})
	}
}

func TestNormalizeFlags(t *testing.T) {
	got := normalizeFlags([]imap.Flag{`\Seen`, `\Recent`, "$Label1", `\Answered`, `\RECENT`})
	want := []imap.Flag{"$Label1", `\Answered`, `\Seen`}
	if !slices.Equal(got, want) {
		t.Errorf("normalizeFlags = %v, want %v", got, want)
	}
	if got := normalizeFlags(nil); got == nil || len(got) != 0 {
		t.Errorf("normalizeFlags(nil) = %#v, want an empty slice", got)
	}
}

func TestLogTail(t *testing.T) {
	path := t.TempDir() + "/log"
	if got := logTail(path, 3); got != "" {
		t.Errorf("missing file: %q", got)
	}
	if err := os.WriteFile(path, []byte("1\n2\n3\n4\n5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := logTail(path, 3); got != "3\n4\n5" {
		t.Errorf("logTail = %q", got)
	}
	if got := logTail(path, 10); got != "1\n2\n3\n4\n5" {
		t.Errorf("logTail of a short file = %q", got)
	}
}
