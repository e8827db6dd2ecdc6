package cli

import (
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/imapmigrate/imapmigrate/internal/imapconn"
)

// newLogger returns the logger for --log-level. "trace" includes the IMAP
// protocol, with credentials and message bodies left out.
func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	switch strings.ToLower(level) {
	case "error":
		l = slog.LevelError
	case "warn", "warning":
		l = slog.LevelWarn
	case "info":
		l = slog.LevelInfo
	case "debug":
		l = slog.LevelDebug
	case "trace":
		l = imapconn.LevelTrace
	default:
		return nil, fmt.Errorf("--log-level %q: must be error, warn, info, debug or trace", level)
	}
	h := slog.NewTextHandler(w, &slog.HandlerOptions{Level: l, ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		if a.Key == slog.LevelKey && a.Value.Any() == imapconn.LevelTrace {
			a.Value = slog.StringValue("TRACE")
		}
		return a
	}})
	return slog.New(h), nil
}
