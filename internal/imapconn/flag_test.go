package imapconn_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/imapconn"
	"github.com/imapmigrate/imapmigrate/internal/testenv"
)

// The advice of a failed connection names the setting as Config.Flag
// spells it, for Connect and Probe alike; without Flag, --NAME-setting.
func TestHintsNameSettingsByFlag(t *testing.T) {
	srv := testenv.StartMemServer(t, testenv.MemServerOptions{Users: map[string]string{"terry": "x"}})
	stored := func(name string) string { return "endpoint set old --" + name }
	for _, tt := range []struct {
		name string
		cfg  imapconn.Config
		want []string
	}{
		{"plain port, ssl", imapconn.Config{Port: srv.Port, Security: imapconn.SecuritySSL, Flag: stored}, []string{"endpoint set old --security tls"}},
		{"untrusted", imapconn.Config{Port: srv.TLSPort, Security: imapconn.SecuritySSL, Flag: stored},
			[]string{"endpoint set old --ca-file", "endpoint set old --insecure-skip-verify"}},
		{"untrusted, named", imapconn.Config{Name: "source", Port: srv.TLSPort, Security: imapconn.SecuritySSL}, []string{"--source-ca-file"}},
		{"no CA file", imapconn.Config{Port: srv.TLSPort, Security: imapconn.SecuritySSL, CAFile: t.TempDir() + "/none.pem", Flag: stored},
			[]string{"endpoint set old --ca-file must name a readable PEM file"}},
	} {
		cfg := tt.cfg
		cfg.Host, cfg.User, cfg.Password, cfg.Auth = srv.Host, "terry", "x", imapconn.AuthLogin
		cfg.DialTimeout, cfg.CommandTimeout = 2*time.Second, 5*time.Second
		_, err := imapconn.Connect(context.Background(), &cfg, slog.New(slog.DiscardHandler))
		if err == nil {
			t.Errorf("%s: connected", tt.name)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q lacks %q", tt.name, err, w)
			}
		}
		if tt.cfg.Flag != nil && strings.Contains(err.Error(), "--"+"security") && !strings.Contains(err.Error(), "old --security") {
			t.Errorf("%s: a flag not spelled by Flag: %v", tt.name, err)
		}
		cfg.User = ""
		r := imapconn.Probe(context.Background(), &cfg, false, nil)
		f := r.FirstFailure()
		if f == nil {
			t.Errorf("%s: probe passed", tt.name)
			continue
		}
		if !strings.Contains(f.Fix, tt.want[0][:strings.Index(tt.want[0], "--")+2]) {
			t.Errorf("%s: probe fix %q does not name the setting as Flag does", tt.name, f.Fix)
		}
	}
}
