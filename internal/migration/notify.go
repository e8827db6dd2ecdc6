package migration

import (
	"net/mail"
	"strconv"
	"strings"
	"time"
)

// Report e-mails (Exchange Online's NotificationEmails and ReportInterval):
// who is told when a batch finishes its initial sync, when it completes,
// and every ReportInterval while it syncs.
const (
	DefaultReportInterval = 24 * time.Hour
	MinReportInterval     = time.Hour
	MaxNotificationEmails = 20
)

// checkNotify validates a batch's notification addresses and report
// interval, recording each problem in bad, and returns them as stored:
// the addresses trimmed, each once (the first spelling kept), the
// interval DefaultReportInterval when 0.
func checkNotify(bad *problems, emails []string, interval time.Duration) ([]string, time.Duration) {
	var out []string
	seen := make(map[string]bool, len(emails))
	for _, e := range emails {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		a, err := mail.ParseAddress(e)
		if err != nil || a.Name != "" || a.Address != e || !strings.Contains(e, "@") {
			bad.add("NotificationEmails", e, "not a mailbox address: write it as admin@example.com, without a display name or <>")
			continue
		}
		if k := strings.ToLower(e); !seen[k] {
			seen[k] = true
			out = append(out, e)
		}
	}
	if len(out) > MaxNotificationEmails {
		bad.add("NotificationEmails", strconv.Itoa(len(out))+" addresses", "at most %d addresses: send the reports to a list instead", MaxNotificationEmails)
	}
	if interval == 0 {
		interval = DefaultReportInterval
	}
	if interval < MinReportInterval {
		bad.add("ReportInterval", interval.String(), "must be at least %s (the default is %s)", shortDuration(MinReportInterval), shortDuration(DefaultReportInterval))
	}
	return out, interval
}

// shortDuration is "1h" rather than "1h0m0s".
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
