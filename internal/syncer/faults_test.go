package syncer_test

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/imapmigrate/imapmigrate/internal/imapconn"
	"github.com/imapmigrate/imapmigrate/internal/syncer"
	"github.com/imapmigrate/imapmigrate/internal/testenv"
)

// cuttingProxy forwards TCP to upstream and cuts the connection that
// carries the client's byte number cuts[i], once per cut: a network drop in
// the middle of whatever command is under way.
type cuttingProxy struct {
	ln       net.Listener
	upstream string
	mu       sync.Mutex
	cuts     []int64
	sent     atomic.Int64
	cutCount atomic.Int32
}

func newCuttingProxy(t *testing.T, upstream string, cuts ...int64) *cuttingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cuttingProxy{ln: ln, upstream: upstream, cuts: cuts}
	t.Cleanup(func() { ln.Close() })
	go p.serve()
	return p
}

func (p *cuttingProxy) port() int { return p.ln.Addr().(*net.TCPAddr).Port }

func (p *cuttingProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.handle(c)
	}
}

func (p *cuttingProxy) handle(c net.Conn) {
	u, err := net.Dial("tcp", p.upstream)
	if err != nil {
		c.Close()
		return
	}
	closeBoth := func() { c.Close(); u.Close() }
	go func() { io.Copy(c, u); closeBoth() }()
	buf := make([]byte, 32<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			total := p.sent.Add(int64(n))
			if p.shouldCut(total) {
				p.cutCount.Add(1)
				closeBoth()
				return
			}
			if _, werr := u.Write(buf[:n]); werr != nil {
				closeBoth()
				return
			}
		}
		if err != nil {
			closeBoth()
			return
		}
	}
}

func (p *cuttingProxy) shouldCut(total int64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.cuts) > 0 && total >= p.cuts[0] {
		p.cuts = p.cuts[1:]
		return true
	}
	return false
}

// Connections to the target drop in the middle of APPENDs: the folder
// resumes from its committed state, reconciles, and nothing is lost or
// duplicated.
func TestTargetConnectionDrops(t *testing.T) {
	p := newPair(t, '/', '/')
	seedCorpus(t, p, 400, "INBOX", "Work")
	proxy := newCuttingProxy(t, p.tgt.Addr(), 200_000, 1_500_000, 4_000_000, 6_000_000)
	tgt := p.targetConfig()
	tgt.Port = proxy.port()
	res, err := p.trySync(t, syncer.Options{}, p.sourceConfig(), tgt)
	if err != nil {
		t.Fatalf("sync: %v", err)
	}
	for _, f := range res.Folders {
		if f.Error != "" {
			t.Errorf("folder %q failed: %s", f.Source, f.Error)
		}
	}
	if proxy.cutCount.Load() < 2 || res.Reconnects < 2 {
		t.Errorf("cuts %d, reconnects %d: the test did not exercise reconnection", proxy.cutCount.Load(), res.Reconnects)
	}
	p.assertIdentical(t)
}

// A wrong password stops the sync at once with an auth error that names the
// server and the user, never the password.
func TestWrongPassword(t *testing.T) {
	p := newPair(t, '/', '/')
	src := p.sourceConfig()
	src.Password = "wrong-Secret-42"
	res, err := p.trySync(t, syncer.Options{}, src, p.targetConfig())
	if err == nil {
		t.Fatal("sync with a wrong password succeeded")
	}
	if imapconn.ClassOf(err) != imapconn.Auth {
		t.Errorf("error class %v, want auth: %v", imapconn.ClassOf(err), err)
	}
	msg := err.Error()
	if !strings.Contains(msg, p.src.MasterLogin(p.srcUser)) || !strings.Contains(msg, p.src.Host) {
		t.Errorf("error does not name the user and server: %v", msg)
	}
	if strings.Contains(msg, "wrong-Secret-42") {
		t.Errorf("error shows the password: %v", msg)
	}
	if res != nil && res.Copied != 0 {
		t.Errorf("copied %d messages", res.Copied)
	}
}

// TLS: implicit TLS and STARTTLS verify the server against --ca-file; without
// it the certificate is not trusted and the error says how to fix it.
func TestTLSVerification(t *testing.T) {
	p := newPair(t, '/', '/')
	ctx := context.Background()
	for _, sec := range []imapconn.Security{imapconn.SecuritySSL, imapconn.SecurityStartTLS} {
		cfg := p.sourceConfig()
		cfg.Security = sec
		if sec == imapconn.SecurityStartTLS {
			cfg.Port = p.src.Port
		}
		c, err := imapconn.Connect(ctx, cfg, nil)
		if err != nil {
			t.Errorf("%s with the CA: %v", sec, err)
		} else {
			c.Close()
		}
		cfg.CAFile = ""
		_, err = imapconn.Connect(ctx, cfg, nil)
		if err == nil || !strings.Contains(err.Error(), "ca-file") {
			t.Errorf("%s without the CA: want an untrusted-certificate error naming the CA file flag, got %v", sec, err)
		}
	}
	// Implicit TLS against the plain port says what is likely wrong.
	cfg := p.sourceConfig()
	cfg.Port = p.src.Port
	_, err := imapconn.Connect(ctx, cfg, nil)
	var e *imapconn.Error
	if err == nil || !errors.As(err, &e) || !strings.Contains(err.Error(), "plain text or STARTTLS") {
		t.Errorf("ssl to the STARTTLS port: got %v", err)
	}
}

// A message the target refuses is skipped with the server's answer; the
// others are copied, in the same MULTIAPPEND batch.
func TestTargetRejectsMessage(t *testing.T) {
	p := newPairConfig(t, '/', "", '/', `
mail_plugins = $mail_plugins quota
plugin {
  quota = maildir:User quota
  quota_max_mail_size = 50k
}
`)
	rng := rand.New(rand.NewPCG(5, 6))
	src := p.srcClient(t)
	big := msg(rng, 80_000, nil)
	testenv.Seed(t, src, "INBOX", msg(rng, 2000, nil), big, msg(rng, 3000, nil))
	res, err := p.trySync(t, syncer.Options{}, p.sourceConfig(), p.targetConfig())
	if err != nil {
		t.Fatal(err)
	}
	if res.Copied != 2 || res.Skipped[syncer.SkipRejected] != 1 {
		t.Fatalf("copied %d, skipped %v; want 2 copied and 1 rejected", res.Copied, res.Skipped)
	}
	var detail string
	for _, f := range res.Folders {
		for _, s := range f.SkippedItems {
			detail = s.Detail
		}
	}
	if !strings.Contains(strings.ToLower(detail), "size") && !strings.Contains(strings.ToLower(detail), "quota") {
		t.Errorf("skip detail does not carry the server's answer: %q", detail)
	}
	// A second pass does not retry it (it is recorded) and copies nothing.
	res, err = p.trySync(t, syncer.Options{}, p.sourceConfig(), p.targetConfig())
	if err != nil || res.Copied != 0 {
		t.Errorf("second pass: copied %d, err %v", res.Copied, err)
	}
}

// The other way round from the main test: SASL PLAIN authzid on the source,
// the Dovecot master login (user*admin) on the target.
func TestLoginFormsSwapped(t *testing.T) {
	p := newPair(t, '/', '/')
	seedCorpus(t, p, 20, "INBOX")
	src := p.sourceConfig()
	src.Auth, src.User, src.Authzid = imapconn.AuthPlain, p.src.MasterUser, p.srcUser
	tgt := p.targetConfig()
	tgt.Auth, tgt.User, tgt.Authzid = imapconn.AuthLogin, p.tgt.MasterLogin(p.tgtUser), ""
	res, err := p.trySync(t, syncer.Options{}, src, tgt)
	if err != nil || res.Copied != 20 {
		t.Fatalf("copied %d, err %v", res.Copied, err)
	}
	p.assertIdentical(t)
}
