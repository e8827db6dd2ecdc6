package testenv

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"time"
)

// syslogSyncTimeout bounds Sync's wait for its marker to come through.
const syslogSyncTimeout = 2 * time.Second

// syslogSink receives syslog datagrams on a unix socket, as glibc's
// syslog(3) sends them to /dev/log ("<PRI>Mmm dd hh:mm:ss ident[pid]: msg"),
// and appends each to a file as one line: "15:04:05.000000 severity
// ident[pid]: msg". A server that can only log to syslog is given the socket
// as its /dev/log (see cyrusRootScript).
type syslogSink struct {
	path string
	conn *net.UnixConn
	f    *os.File
	done chan struct{} // closed when run has returned

	syncMu sync.Mutex
	seq    int
	synced chan string // markers seen by run

	closeOnce sync.Once
}

// listenSyslog listens on sockPath, which anyone may send to, and appends to
// logPath.
func listenSyslog(sockPath, logPath string) (*syslogSink, error) {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("syslog file: %w", err)
	}
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sockPath, Net: "unixgram"})
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("syslog socket: %w", err)
	}
	// The server's processes do not run as the test's user.
	if err := os.Chmod(sockPath, 0o666); err != nil {
		conn.Close()
		f.Close()
		return nil, fmt.Errorf("syslog socket: %w", err)
	}
	s := &syslogSink{path: sockPath, conn: conn, f: f, done: make(chan struct{}), synced: make(chan string, 16)}
	go s.run()
	return s, nil
}

// syncPrefix starts Sync's markers; no syslog datagram starts with NUL.
const syncPrefix = "\x00testenv-sync "

func (s *syslogSink) run() {
	defer close(s.done)
	buf := make([]byte, 64<<10)
	for {
		n, _, err := s.conn.ReadFromUnix(buf)
		if err != nil {
			return // closed
		}
		msg := buf[:n]
		if bytes.HasPrefix(msg, []byte(syncPrefix)) {
			select {
			case s.synced <- string(msg):
			default: // nobody waits for so many markers
			}
			continue
		}
		_, _ = s.f.Write(formatSyslog(time.Now(), msg))
	}
}

// Sync returns once every datagram sent before it was called is in the file:
// it sends a marker, which the socket queues behind them, and waits (at most
// syslogSyncTimeout) for run to read it.
func (s *syslogSink) Sync() {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	select {
	case <-s.done:
		return
	default:
	}
	s.seq++
	marker := syncPrefix + strconv.Itoa(s.seq)
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: s.path, Net: "unixgram"})
	if err != nil {
		return
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(marker)); err != nil {
		return
	}
	t := time.NewTimer(syslogSyncTimeout)
	defer t.Stop()
	for {
		select {
		case m := <-s.synced:
			if m == marker {
				return
			}
		case <-s.done:
			return
		case <-t.C:
			return
		}
	}
}

// Close stops receiving and closes the file. Safe to call twice.
func (s *syslogSink) Close() {
	s.closeOnce.Do(func() {
		s.conn.Close()
		<-s.done
		s.f.Close()
	})
}

var syslogSeverities = [8]string{"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"}

// formatSyslog turns one datagram into a log line: the time it arrived (the
// sender's stamp has whole seconds only), its severity, and the rest without
// the sender's stamp.
func formatSyslog(now time.Time, msg []byte) []byte {
	msg = bytes.TrimRight(msg, "\r\n\x00")
	severity := "-"
	if len(msg) > 2 && msg[0] == '<' {
		if end := bytes.IndexByte(msg[:min(len(msg), 6)], '>'); end > 1 {
			if pri, err := strconv.Atoi(string(msg[1:end])); err == nil && pri >= 0 {
				severity = syslogSeverities[pri&7]
				msg = msg[end+1:]
			}
		}
	}
	// "Mmm dd hh:mm:ss " (RFC 3164), as glibc writes it.
	const stamp = "Jan _2 15:04:05"
	if len(msg) > len(stamp) && msg[len(stamp)] == ' ' {
		if _, err := time.Parse(stamp, string(msg[:len(stamp)])); err == nil {
			msg = msg[len(stamp)+1:]
		}
	}
	line := make([]byte, 0, len(msg)+32)
	line = now.AppendFormat(line, "15:04:05.000000")
	line = append(line, ' ')
	line = append(line, severity...)
	line = append(line, ' ')
	line = append(line, bytes.ReplaceAll(msg, []byte("\n"), []byte(" "))...)
	return append(line, '\n')
}
