package migration

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestCheckNotify(t *testing.T) {
	many := make([]string, MaxNotificationEmails+1)
	for i := range many {
		many[i] = "a" + strings.Repeat("x", i) + "@example.com"
	}
	tests := []struct {
		name         string
		emails       []string
		interval     time.Duration
		wantEmails   []string
		wantInterval time.Duration
		wantBad      []string // Field Value: …
	}{
		{name: "none", wantInterval: DefaultReportInterval},
		{name: "trimmed, each once", emails: []string{" a@x.example", "b@x.example", "A@X.example", ""}, interval: time.Hour,
			wantEmails: []string{"a@x.example", "b@x.example"}, wantInterval: time.Hour},
		{name: "not addresses", emails: []string{"a@x.example", "Boss <boss@x.example>", "nobody", "<c@x.example>", "a@b@c"},
			wantEmails: []string{"a@x.example"}, wantInterval: DefaultReportInterval,
			wantBad: []string{`NotificationEmails "Boss <boss@x.example>"`, "NotificationEmails nobody", `NotificationEmails "<c@x.example>"`, "NotificationEmails a@b@c"}},
		{name: "too many", emails: many, wantEmails: many, wantInterval: DefaultReportInterval,
			wantBad: []string{`NotificationEmails "21 addresses": at most 20`}},
		{name: "too often", interval: 59 * time.Minute, wantInterval: 59 * time.Minute, wantBad: []string{"ReportInterval 59m0s: must be at least 1h (the default is 24h)"}},
		{name: "negative", interval: -time.Hour, wantInterval: -time.Hour, wantBad: []string{"ReportInterval -1h0m0s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var bad problems
			emails, interval := checkNotify(&bad, tt.emails, tt.interval)
			if !slices.Equal(emails, tt.wantEmails) || interval != tt.wantInterval {
				t.Errorf("checkNotify = %q, %v; want %q, %v", emails, interval, tt.wantEmails, tt.wantInterval)
			}
			if len(bad) != len(tt.wantBad) {
				t.Fatalf("problems %v, want %d", ValidationErrors(bad), len(tt.wantBad))
			}
			for i, want := range tt.wantBad {
				if got := bad[i].Error(); !strings.HasPrefix(got, want) {
					t.Errorf("problem %d = %q, want %q…", i, got, want)
				}
			}
		})
	}
}
