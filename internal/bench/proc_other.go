//go:build !linux

package bench

import (
	"errors"
	"syscall"
)

// The benchmark's servers are Debian packages: outside Linux it builds, but
// measures no memory and cannot kill a tool's children.

func sysProcAttr() *syscall.SysProcAttr { return nil }

func killGroup(int) error { return errors.ErrUnsupported }

func readVmHWM(int) (int64, error) { return 0, errors.ErrUnsupported }
