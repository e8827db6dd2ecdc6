//go:build !linux

package testenv

import (
	"syscall"
	"time"
)

// privateMountNamespace: only Linux has mount namespaces, so Cyrus's syslog
// messages are not captured elsewhere.
func privateMountNamespace(*syscall.SysProcAttr) bool { return false }

// waitGroupExit: elsewhere Kill returns once master has exited.
func waitGroupExit(int, time.Duration) error { return nil }
