package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/migration"
)

// userPassText is the progress column of a user in a pass ("-" for one in
// none): "12% 340/2800 5.1/s ETA 8m".
func userPassText(p *migration.PassProgress) string {
	if p == nil {
		return "-"
	}
	return passText(p.PercentComplete, p.Items, p.ItemsTotal, p.ItemsPerSecond, time.Duration(p.TimeRemaining))
}

// batchPassText is the progress column of a batch: its passes under way
// added up, with how many they are.
func batchPassText(p *migration.PassesProgress) string {
	if p == nil || p.Passes == 0 {
		return "-"
	}
	return fmt.Sprintf("%d: %s", p.Passes, passText(p.PercentComplete, p.Items, p.ItemsTotal, p.ItemsPerSecond, time.Duration(p.TimeRemaining)))
}

// passText writes what migration derives of a pass: the percentage and
// the estimate only once known, the rate once there is one, the ETA when
// it can be told.
func passText(pct int, items, total int64, rate float64, eta time.Duration) string {
	var b strings.Builder
	if total > 0 {
		fmt.Fprintf(&b, "%d%% %d/%d", pct, items, total)
	} else {
		fmt.Fprintf(&b, "%d/?", items)
	}
	if rate > 0 {
		b.WriteString(" " + rateText(rate))
	}
	if eta > 0 {
		b.WriteString(" ETA " + shortDuration(eta))
	}
	return b.String()
}

func rateText(r float64) string {
	switch {
	case r < 0.1:
		return fmt.Sprintf("%.2f/s", r)
	case r < 10:
		return fmt.Sprintf("%.1f/s", r)
	}
	return fmt.Sprintf("%.0f/s", r)
}

// shortDuration is a duration in its two largest units: "45s", "8m",
// "1h05m", "2d03h".
func shortDuration(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return fmt.Sprintf("%dd%02dh", int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour))
}
