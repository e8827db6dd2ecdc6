//go:build !linux

package testenv

import (
	"os"
	"syscall"
)

// Courier runs in Linux mount and PID namespaces only; elsewhere
// RequireCourier skips.

const courierOS = false

func courierSysProcAttr() *syscall.SysProcAttr { return nil }

func courierTermGroup(p *os.Process) error { return p.Signal(os.Interrupt) }

func courierCredential(uid, gid int) *syscall.SysProcAttr { return nil }

func courierKillPID(pid int) error { return syscall.ENOSYS }

func courierChild(pid int) int { return 0 }
