// Package auth is who may use the dashboard and the REST API: dashboard
// accounts, API tokens, sessions, CSRF protection, the login rate limit
// and the audit log, with the HTTP middlewares that apply them. Its state
// is in the store (Store), so that several serve processes sharing one
// database share accounts, tokens and sessions; only the login rate limit
// is per process.
//
// Invariants:
//
//   - No secret is stored in clear. A password is kept as an argon2id PHC
//     string ($argon2id$v=19$m=…,t=…,p=…$salt$key, DefaultKDF); an API
//     token ("imt_" and 43 base64url characters: 32 random bytes) and a
//     session id (32 random bytes) only as their SHA-256 digests. A token's
//     secret is returned once, by NewToken; a session's id only by Login,
//     for its cookie. None is ever logged.
//   - A login with a wrong password and one with an unknown account name
//     answer alike (ErrBadLogin) and take the same time: an unknown name is
//     verified against a hash of the same cost. Keys are compared in
//     constant time.
//   - Failed logins are limited per account name (DefaultAccountLimit: 5
//     in 15 minutes) and per remote address (DefaultAddressLimit: 20 in 15
//     minutes); beyond either, Login refuses with a *RateLimitError saying
//     when to try again, whatever the password, until the oldest counted
//     failure is 15 minutes old. A successful login clears its account's
//     count. The counts live in the process's memory (bounded to 10,000
//     keys): each serve process counts its own, and a restart forgets
//     them. The remote address is the connection's peer; behind a reverse
//     proxy it is the proxy's.
//   - A session ends 12 hours after its last request (DefaultSessionIdle)
//     and 7 days after its login however busy (DefaultSessionMax), at
//     logout, and when its account is removed. Its CSRF token is a second,
//     different SHA-256 of its id: one per session, not stored, not
//     derivable from the database. The last request time (and a token's
//     LastUsed) is written at most once a minute.
//   - Every unsafe request of a session (POST, PUT, PATCH, DELETE) carries
//     the CSRF token (form field csrf_token or header X-CSRF-Token); the
//     login form, before any session, carries a double-submit token
//     (LoginForm, CheckLoginForm). Cookies are HttpOnly, SameSite=Lax,
//     Path=/, and Secure under TLS.
//   - Names of accounts and tokens are case-insensitive (kept in
//     lowercase): 1 to 64 letters, digits, '.', '-', '_' or '@'. A
//     password has at least 12 characters.
//   - Every change made over HTTP with a principal is in the audit log
//     (AuditChanges), with the account (and token) that made it; logins
//     are audited by Login.
package auth
