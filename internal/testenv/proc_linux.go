package testenv

import (
	"os"
	"syscall"
)

// childSysProcAttr puts Dovecot in its own process group, so that Kill reaches
// every process it forked, and has the kernel send it SIGTERM if the process
// that started it dies first (a crashed or killed test binary).
func childSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}

func signalTerm(p *os.Process) error { return p.Signal(syscall.SIGTERM) }

// killGroup kills the process group led by p (see childSysProcAttr).
func killGroup(p *os.Process) {
	if err := syscall.Kill(-p.Pid, syscall.SIGKILL); err != nil {
		_ = p.Kill()
	}
}
