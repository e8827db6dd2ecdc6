package testenv

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// courierOS says whether Courier can run here: it needs Linux mount and PID
// namespaces.
const courierOS = true

// courierSysProcAttr puts unshare(1) in its own process group, so that Kill
// and Stop reach every Courier process, and has the kernel kill it if the
// test binary dies. SIGKILL, not Dovecot's SIGTERM: unshare ignores SIGTERM
// while it waits for its child. When unshare dies, --kill-child kills the
// namespace's PID 1, and with it every process in the namespace.
func courierSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// courierTermGroup sends SIGTERM to the process group led by p.
func courierTermGroup(p *os.Process) error { return syscall.Kill(-p.Pid, syscall.SIGTERM) }

// courierCredential runs a child as uid:gid without supplementary groups.
func courierCredential(uid, gid int) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}}
}

// courierKillPID sends SIGKILL to one process.
func courierKillPID(pid int) error { return syscall.Kill(pid, syscall.SIGKILL) }

// courierChild returns the PID of pid's only child, or 0.
func courierChild(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) != 1 {
		return 0
	}
	child, _ := strconv.Atoi(f[0])
	return child
}
