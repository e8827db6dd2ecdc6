package testenv

import (
	"fmt"
	"strings"
	"testing"
)

// recordTB records Skipf and Fatalf instead of ending the test.
type recordTB struct {
	testing.TB
	skipped, fatal string
}

func (r *recordTB) Helper()                           {}
func (r *recordTB) Skipf(format string, args ...any)  { r.skipped = fmt.Sprintf(format, args...) }
func (r *recordTB) Fatalf(format string, args ...any) { r.fatal = fmt.Sprintf(format, args...) }

func TestRequireReal(t *testing.T) {
	tests := []struct {
		name, env           string
		ok                  bool
		wantSkip, wantFatal bool
	}{
		{name: "available", env: "1", ok: true},
		{name: "missing, skip", env: "", ok: false, wantSkip: true},
		{name: "missing, skip unless exactly 1", env: "yes", ok: false, wantSkip: true},
		{name: "missing, required", env: "1", ok: false, wantFatal: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(RequireRealEnv, tt.env)
			r := &recordTB{TB: t}
			RequireReal(r, "frobd (apt-get install frobd)", tt.ok)
			if got := r.skipped != ""; got != tt.wantSkip {
				t.Errorf("skipped = %q, want skip %v", r.skipped, tt.wantSkip)
			}
			if got := r.fatal != ""; got != tt.wantFatal {
				t.Errorf("fatal = %q, want fatal %v", r.fatal, tt.wantFatal)
			}
			for _, msg := range []string{r.skipped, r.fatal} {
				if msg != "" && (!strings.Contains(msg, "frobd (apt-get install frobd)") || !strings.Contains(msg, RequireRealEnv)) {
					t.Errorf("message %q does not name what is missing and %s", msg, RequireRealEnv)
				}
			}
		})
	}
}
