package testenv

import (
	"bytes"
	"fmt"
	"os"
	"syscall"
)

// postgresCanSwitchUser says whether initdb and postgres can be run as
// PostgresAccount when the tests run as root.
const postgresCanSwitchUser = true

// postgresSysProcAttr puts the child in its own process group and has the
// kernel send it deathSig when the test process dies. As root it runs as
// account, with no supplementary groups; Go sets the parent-death signal
// after the switch, which would otherwise clear it.
func postgresSysProcAttr(account *postgresAccount, deathSig syscall.Signal) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Setpgid: true, Pdeathsig: deathSig}
	if account != nil {
		a.Credential = &syscall.Credential{Uid: account.uid, Gid: account.gid}
	}
	return a
}

// processAlive says whether pid runs; a zombie (exited, not yet reaped)
// does not.
func processAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// pid (comm) state ...; comm may hold spaces and ')'.
	i := bytes.LastIndexByte(b, ')')
	f := bytes.Fields(b[i+1:])
	return i >= 0 && len(f) > 0 && string(f[0]) != "Z" && string(f[0]) != "X"
}
