package testenv

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// privateMountNamespace has the child start in a mount namespace of its own;
// Go makes every mount in it private, so nothing mounted there is seen
// outside. It reports whether the platform has mount namespaces.
func privateMountNamespace(a *syscall.SysProcAttr) bool {
	a.Unshareflags |= syscall.CLONE_NEWNS
	return true
}

// waitGroupExit waits, at most timeout, until every process of process
// group pgid has exited: killing a group only sends the signal, and a child
// that has not finished dying still holds its files and sockets. It finds
// the members in /proc and polls a pidfd for each, which turns readable
// when its process exits.
func waitGroupExit(pgid int, timeout time.Duration) error {
	var fds []unix.PollFd
	for _, pid := range groupMembers(pgid) {
		fd, err := unix.PidfdOpen(pid, 0)
		if err != nil {
			continue // gone already
		}
		defer unix.Close(fd)
		fds = append(fds, unix.PollFd{Fd: int32(fd), Events: unix.POLLIN})
	}
	deadline := time.Now().Add(timeout)
	for len(fds) > 0 {
		ms := int(time.Until(deadline).Milliseconds())
		if ms <= 0 {
			return fmt.Errorf("%d processes of group %d still running after %v", len(fds), pgid, timeout)
		}
		if _, err := unix.Poll(fds, ms); err != nil && err != unix.EINTR {
			return fmt.Errorf("wait for process group %d: %w", pgid, err)
		}
		fds = slices.DeleteFunc(fds, func(p unix.PollFd) bool { return p.Revents != 0 })
	}
	return nil
}

// groupMembers lists the processes of group pgid that have not exited.
func groupMembers(pgid int) []int {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var pids []int
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces and ')'.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := bytes.Fields(b[i+1:])
		if len(f) < 3 || string(f[0]) == "Z" || string(f[2]) != strconv.Itoa(pgid) {
			continue
		}
		if pid, err := strconv.Atoi(filepath.Base(filepath.Dir(p))); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}
