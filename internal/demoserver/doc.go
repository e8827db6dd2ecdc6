// Package demoserver runs in-process go-imap servers (imapmemserver behind
// a master-user-aware login), a private CA for their certificates and
// sample mailboxes, for `imapmigrate demo` and for fast unit tests. It is
// never a substitute for the real servers in package testenv (Dovecot,
// Cyrus, Courier): the engine's promises are checked against those.
//
// It does not import package testing, so the production binary may link it;
// testenv forwards its in-process helpers here and adds the testing.TB
// forms. The few helpers taking a test take a TB, which *testing.T and
// testing.TB satisfy.
package demoserver
