//go:build !linux

package testenv

import "syscall"

// Elsewhere the server runs as the invoking user only, without a
// parent-death signal, and no directory is ever swept.

const postgresCanSwitchUser = false

func postgresSysProcAttr(*postgresAccount, syscall.Signal) *syscall.SysProcAttr { return nil }

func processAlive(int) bool { return true }
