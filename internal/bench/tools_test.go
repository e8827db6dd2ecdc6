package bench

import (
	"strings"
	"testing"
)

func TestMbsyncConfig(t *testing.T) {
	conf, err := mbsyncConfig(mbsyncParams{
		Channel:  "user01",
		CAFile:   "/tmp/b/ca.pem",
		State:    "/tmp/b/state/user01/",
		Far:      mbsyncAccount{Host: "localhost", Port: 993, TLS: "IMAPS", User: "user01*mailadmin", Pass: `pa"ss\word`},
		Near:     mbsyncAccount{Host: "localhost", Port: 143, TLS: "STARTTLS", User: "user01*mailadmin", Pass: "x"},
		Patterns: "*",
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"IMAPAccount user01-Far\nHost \"localhost\"\nPort 993\nUser \"user01*mailadmin\"\nPass \"pa\\\"ss\\\\word\"\nSSLType IMAPS\nCertificateFile \"/tmp/b/ca.pem\"\n\n",
		"IMAPStore user01-Far\nAccount user01-Far\n\n",
		"IMAPAccount user01-Near\nHost \"localhost\"\nPort 143\n",
		"SSLType STARTTLS\n",
		"Channel user01\nFar :user01-Far:\nNear :user01-Near:\nPatterns *\nCreate Near\nRemove None\nExpunge None\nSync Pull\nCopyArrivalDate yes\nSyncState \"/tmp/b/state/user01/\"\n",
	} {
		if !strings.Contains(conf, want) {
			t.Errorf("mbsyncrc lacks\n%s\ngot:\n%s", want, conf)
		}
	}
	// Sections end at an empty line: none may hide inside a section.
	if strings.Contains(conf, "\n\n\n") {
		t.Errorf("mbsyncrc has two empty lines in a row:\n%s", conf)
	}
	masked := maskPass(conf)
	if strings.Contains(masked, "pa\\\"ss") || strings.Count(masked, "Pass \"***\"") != 2 {
		t.Errorf("maskPass left a password:\n%s", masked)
	}
}

func TestCheckImapmigrateOutput(t *testing.T) {
	tests := []struct {
		name, json string
		wantErr    string // "" for none
	}{
		{"all copied", `{"MessagesCopied": 3, "Bytes": 300, "ItemsSkipped": 0, "FoldersFailed": 0}`, ""},
		{"too few", `{"MessagesCopied": 2, "Bytes": 200}`, "MessagesCopied 2"},
		{"matched is not copied", `{"MessagesCopied": 2, "MessagesMatched": 1, "Bytes": 300}`, "MessagesMatched 1"},
		{"bytes", `{"MessagesCopied": 3, "Bytes": 299}`, "Bytes 299, want 300"},
		{"skipped", `{"MessagesCopied": 3, "Bytes": 300, "ItemsSkipped": 1}`, "ItemsSkipped 1"},
		{"error", `{"MessagesCopied": 3, "Bytes": 300, "Error": "boom"}`, "error: boom"},
		{"not JSON", `Folders: 3`, "JSON output"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkImapmigrateOutput([]byte(tt.json), 3, 300)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("error %v, want none", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestDiffCounts(t *testing.T) {
	want := map[string]int{"INBOX": 3, "Sent": 2, "Empty": 0}
	tests := []struct {
		name string
		got  map[string]int
		diff []string
	}{
		{"equal", map[string]int{"INBOX": 3, "Sent": 2, "Empty": 0}, nil},
		{"empty folder not created, empty parent extra", map[string]int{"INBOX": 3, "Sent": 2, "Parent": 0}, nil},
		{"short and missing", map[string]int{"INBOX": 2}, []string{`"INBOX" has 2, want 3`, `"Sent" missing (want 2)`}},
		{"mail in another folder", map[string]int{"INBOX": 3, "Sent": 0, "Sent Items": 2}, []string{`"Sent" has 0, want 2`, `"Sent Items" unexpected with 2`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := diffCounts(want, tt.got)
			if strings.Join(got, "\n") != strings.Join(tt.diff, "\n") {
				t.Errorf("diffCounts = %q, want %q", got, tt.diff)
			}
		})
	}
}
