package imapconn

import "fmt"

// CleartextWarning is the one warning for a connection whose password (or
// token) crosses the network unencrypted, security none; it is "" for ssl
// and tls. who names the connection ("source", "target endpoint old-imap"),
// addr is the server's host:port, and setting is what to change, as the
// user would type it ("--source-security", "endpoint set old-imap
// --security").
func CleartextWarning(security Security, who, addr, setting string) string {
	if security != SecurityNone {
		return ""
	}
	return fmt.Sprintf("%s %s: the connection is not encrypted (security none): the password crosses the network in clear; use %s ssl (implicit TLS) or tls (STARTTLS) unless the network is trusted",
		who, addr, setting)
}
