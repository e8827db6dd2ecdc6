package migration_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/imapmigrate/imapmigrate/internal/migration"
)

func TestParseUserStatus(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want migration.UserStatus
	}{
		{"synced", migration.UserSynced},
		{"SYNCED", migration.UserSynced},
		{"Synced", migration.UserSynced},
		{"incrementalfailed", migration.UserIncrementalFailed},
		{"CompletedWithWarnings", migration.UserCompletedWithWarnings},
	} {
		got, err := migration.ParseUserStatus(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseUserStatus(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{"", "sync", "Synced ", "done"} {
		_, err := migration.ParseUserStatus(in)
		var ve *migration.ValidationError
		if !errors.As(err, &ve) || ve.Field != "Status" || ve.Value != in {
			t.Errorf("ParseUserStatus(%q): %v, want a ValidationError of Status", in, err)
			continue
		}
		for _, st := range migration.UserStatuses {
			if !strings.Contains(ve.Fix, string(st)) {
				t.Errorf("ParseUserStatus(%q): %q does not list %s", in, ve.Fix, st)
			}
		}
	}
	// Every status is listed once.
	seen := map[migration.UserStatus]bool{}
	for _, st := range migration.UserStatuses {
		if seen[st] {
			t.Errorf("%s listed twice", st)
		}
		seen[st] = true
	}
}

func TestValidationErrorMessage(t *testing.T) {
	for _, tt := range []struct {
		e    migration.ValidationError
		want string
	}{
		{migration.ValidationError{Field: "MaxConcurrentMigrations", Value: "500", Fix: "must be between 1 and 300"},
			"MaxConcurrentMigrations 500: must be between 1 and 300"},
		{migration.ValidationError{Field: "Name", Value: "two words", Fix: "use letters"}, `Name "two words": use letters`},
		{migration.ValidationError{Field: "Server", Fix: "required"}, "Server: required"},
		{migration.ValidationError{Fix: "batch B is Completed: it cannot be started again"}, "batch B is Completed: it cannot be started again"},
	} {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.e, got, tt.want)
		}
	}
	e := migration.ValidationError{Field: "MaxConcurrentMigrations", Value: "500", Fix: "must be between 1 and 300"}
	if got, want := e.Message("--max-concurrent-migrations"), "--max-concurrent-migrations 500: must be between 1 and 300"; got != want {
		t.Errorf("Message: %q, want %q", got, want)
	}
}
