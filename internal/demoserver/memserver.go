package demoserver

import (
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"strconv"
	"strings"
	"sync"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-sasl"
)

// MemServerOptions configures NewMemServer. The zero value is usable.
type MemServerOptions struct {
	// Users are created at start: name → password. Each gets an INBOX.
	Users map[string]string
	// MasterUser, when set, accepts Dovecot's master-user forms: LOGIN
	// user<MasterSeparator>MasterUser + MasterPassword, and SASL PLAIN with
	// authzid=user, authcid=MasterUser + MasterPassword, both as user.
	MasterUser, MasterPassword string
	// MasterSeparator defaults to "*".
	MasterSeparator string
	// Caps is the capability set announced. Default: IMAP4rev1, UIDPLUS,
	// MOVE, NAMESPACE and LITERAL+ (the server adds IDLE, UNSELECT, ENABLE,
	// SASL-IR, LITERAL-, STARTTLS and AUTH=PLAIN itself).
	Caps imap.CapSet
	// Logger receives the server's error messages. Default: log.Default()
	// (testenv.StartMemServer: the test log).
	Logger imapserver.Logger
	// DebugWriter receives the raw protocol, credentials included.
	DebugWriter io.Writer
}

// MemServer is the in-process go-imap server (imapmemserver) on 127.0.0.1,
// with a plain listener offering STARTTLS and an implicit-TLS listener, both
// presenting a certificate from CA. Mailboxes live in memory; the hierarchy
// delimiter is '/'. Like Dovecot it lower-cases login names.
type MemServer struct {
	Host          string
	Port, TLSPort int
	CA            *CA

	MasterUser, MasterPassword, MasterSeparator string

	server *imapserver.Server
	wg     sync.WaitGroup

	mu    sync.Mutex
	users map[string]*memUser
}

type memUser struct {
	user     *imapmemserver.User
	password string
}

// NewMemServer starts a MemServer whose certificate comes from ca; the caller
// must Close it.
func NewMemServer(ca *CA, opts MemServerOptions) (*MemServer, error) {
	if opts.MasterSeparator == "" {
		opts.MasterSeparator = defaultMasterSeparator
	}
	if opts.Caps == nil {
		opts.Caps = imap.CapSet{
			imap.CapIMAP4rev1:   {},
			imap.CapUIDPlus:     {},
			imap.CapMove:        {},
			imap.CapNamespace:   {},
			imap.CapLiteralPlus: {},
		}
	}
	if opts.Logger == nil {
		opts.Logger = log.Default()
	}
	s := &MemServer{
		Host:            "127.0.0.1",
		CA:              ca,
		MasterUser:      strings.ToLower(opts.MasterUser),
		MasterPassword:  opts.MasterPassword,
		MasterSeparator: opts.MasterSeparator,
		users:           map[string]*memUser{},
	}
	for name, password := range opts.Users {
		if err := s.AddUser(name, password); err != nil {
			return nil, err
		}
	}
	s.server = imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return &memSession{srv: s}, nil, nil
		},
		Caps:         opts.Caps,
		Logger:       opts.Logger,
		TLSConfig:    ca.ServerTLSConfig(),
		InsecureAuth: true, // LOGIN without TLS, like the Dovecot config
		DebugWriter:  opts.DebugWriter,
	})

	ln, err := net.Listen("tcp", net.JoinHostPort(s.Host, "0"))
	if err != nil {
		return nil, fmt.Errorf("mem server listen: %w", err)
	}
	tln, err := net.Listen("tcp", net.JoinHostPort(s.Host, "0"))
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("mem server listen: %w", err)
	}
	s.Port = ln.Addr().(*net.TCPAddr).Port
	s.TLSPort = tln.Addr().(*net.TCPAddr).Port
	for _, l := range []net.Listener{ln, tls.NewListener(tln, ca.ServerTLSConfig())} {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := s.server.Serve(l); err != nil {
				opts.Logger.Printf("demoserver: mem server: %v", err)
			}
		}()
	}
	return s, nil
}

// Close closes the listeners and every connection, and waits for the
// listeners' goroutines.
func (s *MemServer) Close() error {
	err := s.server.Close()
	s.wg.Wait()
	return err
}

// Addr is the plain listener (STARTTLS offered), host:port.
func (s *MemServer) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// TLSAddr is the implicit-TLS listener, host:port.
func (s *MemServer) TLSAddr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.TLSPort)) }

// MasterLogin is the login name that reaches user's mailbox with the master
// password, e.g. user*mailadmin.
func (s *MemServer) MasterLogin(user string) string {
	return user + s.MasterSeparator + s.MasterUser
}

// AddUser creates an account with an empty INBOX, or replaces its password.
func (s *MemServer) AddUser(name, password string) error {
	if err := checkAccount(name, password); err != nil {
		return err
	}
	name = strings.ToLower(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	if u, ok := s.users[name]; ok {
		u.password = password
		return nil
	}
	u := imapmemserver.NewUser(name, password)
	if err := u.Create("INBOX", nil); err != nil {
		return fmt.Errorf("add user %q: create INBOX: %w", name, err)
	}
	s.users[name] = &memUser{user: u, password: password}
	return nil
}

// User returns the backend of an account, for tests that inspect or alter
// the server's state directly; nil if there is none.
func (s *MemServer) User(name string) *imapmemserver.User {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.users[strings.ToLower(name)]; u != nil {
		return u.user
	}
	return nil
}

// Client logs in to the plain listener as user; closed when the test ends.
// t is a testing.TB.
func (s *MemServer) Client(t TB, user, password string) *imapclient.Client {
	t.Helper()
	return Login(t, s.Addr(), user, password)
}

var errAuthFailed = imapserver.ErrAuthFailed

// defaultMasterSeparator is Dovecot's conventional master user separator.
const defaultMasterSeparator = "*"

// checkAccount rejects names and passwords the real servers' account files
// cannot hold (testenv's checkAccount, with no master separator), so a
// test passes on the in-process server only with accounts Dovecot accepts
// too.
func checkAccount(name, password string) error {
	switch {
	case name == "":
		return errors.New("empty user name")
	case strings.ContainsAny(name, ":/\\\x00\r\n\t ") || strings.HasPrefix(name, "."):
		return fmt.Errorf("user name %q: must not contain ':', '/', '\\', white space or start with '.'", name)
	case strings.ContainsAny(password, ":\x00\r\n"):
		return fmt.Errorf("password of %q: must not contain ':' or line breaks", name)
	}
	return nil
}

// check verifies an account's own password.
func (s *MemServer) check(name, password string) (*imapmemserver.User, error) {
	s.mu.Lock()
	u := s.users[strings.ToLower(name)]
	s.mu.Unlock()
	if u == nil || !equalSecret(u.password, password) {
		return nil, errAuthFailed
	}
	return u.user, nil
}

// isMaster reports whether name and password are the master credentials.
func (s *MemServer) isMaster(name, password string) bool {
	return s.MasterUser != "" && strings.ToLower(name) == s.MasterUser && equalSecret(s.MasterPassword, password)
}

// login resolves a LOGIN (or a PLAIN without authzid): an account, or
// user<sep>master + the master password.
func (s *MemServer) login(name, password string) (*imapmemserver.User, error) {
	if s.MasterUser != "" {
		if i := strings.LastIndex(name, s.MasterSeparator); i >= 0 {
			target, master := name[:i], name[i+len(s.MasterSeparator):]
			return s.asMaster(target, master, password)
		}
	}
	return s.check(name, password)
}

// asMaster logs master in as target.
func (s *MemServer) asMaster(target, master, password string) (*imapmemserver.User, error) {
	if !s.isMaster(master, password) {
		return nil, errAuthFailed
	}
	s.mu.Lock()
	u := s.users[strings.ToLower(target)]
	s.mu.Unlock()
	if u == nil {
		return nil, errAuthFailed
	}
	return u.user, nil
}

func equalSecret(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// memSession is imapmemserver's session with our own authentication.
type memSession struct {
	*imapmemserver.UserSession // nil until authenticated
	srv                        *MemServer
}

var (
	_ imapserver.SessionIMAP4rev2 = (*memSession)(nil)
	_ imapserver.SessionSASL      = (*memSession)(nil)
)

func (s *memSession) Login(username, password string) error {
	u, err := s.srv.login(username, password)
	if err != nil {
		return err
	}
	s.UserSession = imapmemserver.NewUserSession(u)
	return nil
}

func (s *memSession) AuthenticateMechanisms() []string { return []string{sasl.Plain} }

// Authenticate implements SASL PLAIN with an authorization identity
// (RFC 4616): authzid=user, authcid=master logs in as user.
func (s *memSession) Authenticate(mech string) (sasl.Server, error) {
	if !strings.EqualFold(mech, sasl.Plain) {
		return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Text: "Unsupported SASL mechanism"}
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		var (
			u   *imapmemserver.User
			err error
		)
		switch {
		case identity == "" || strings.EqualFold(identity, username):
			u, err = s.srv.login(username, password)
		case s.srv.MasterUser != "":
			u, err = s.srv.asMaster(identity, username, password)
		default:
			err = &imap.Error{
				Type: imap.StatusResponseTypeNo,
				Code: imap.ResponseCodeAuthorizationFailed,
				Text: "Authorization identity not allowed",
			}
		}
		if err != nil {
			return err
		}
		s.UserSession = imapmemserver.NewUserSession(u)
		return nil
	}), nil
}
