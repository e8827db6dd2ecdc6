//go:build !linux

package testenv

import (
	"os"
	"syscall"
)

// Dovecot is only exercised on Linux; elsewhere the master is signalled
// alone and its children exit when they notice it is gone.

func childSysProcAttr() *syscall.SysProcAttr { return nil }

func signalTerm(p *os.Process) error { return p.Signal(os.Interrupt) }

func killGroup(p *os.Process) { _ = p.Kill() }
