package imapconn

import (
	"context"
	"log/slog"
)

// Factory opens connections to one account; it is the syncer's Conns.
type Factory struct {
	Config *Config
	Log    *slog.Logger
}

func (f *Factory) Client(ctx context.Context) (*Client, error) {
	return Connect(ctx, f.Config, f.log())
}

func (f *Factory) Appender(ctx context.Context) (*Appender, error) {
	return DialAppender(ctx, f.Config, f.log())
}

func (f *Factory) log() *slog.Logger {
	if f.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return f.Log.With("side", f.Config.Name)
}
