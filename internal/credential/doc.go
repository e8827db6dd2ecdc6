// Package credential recognises the login forms an administrator writes in
// the UserName (and UserRoot) cells of a migration file, so that every part
// of imapmigrate (file check, batch preview, connection set-up) names them the
// same way. It is pure: no I/O, no passwords.
//
// A source server is reached with the user's own password or, more often, with
// the password of a mailbox administrator and a login name that says both who
// logs in and whose mailbox to open. The forms are those of Exchange Online's
// IMAP migration:
//
//	Plain      terry.adams                    the user's own login and password
//	Exchange   contoso/mailadmin/terry.adams  Domain/Admin_UserName/User_UserName, admin's password
//	Dovecot    terry.adams*mailadmin          User_UserName*Admin_UserName, admin's password;
//	                                          "*" is the server's master user separator
//	                                          (auth_master_user_separator), configurable per endpoint
//	Mirapoint  #terry@contoso.edu#mailadmin#  #user@domain#Admin_UserName#, admin's password
//	UserRoot   mailadmin + UserRoot           Courier IMAP / Oracle IMAP virtual shared folders:
//	           /users/terry.adams             UserName is the admin's plain login, UserRoot the
//	                                          folder under which the user's mailbox appears
//
// The login name always goes to the server exactly as written (Login.Raw):
// recognition never rewrites it. The parts (User, Admin, Domain) are for
// display (which mailbox, which admin) and for the explicit alternative the
// admin forms stand for, SASL PLAIN with an authorization identity (RFC 4616;
// see Login.SASLPlain).
//
// Recognition is tried in this order, and the first form whose marker is
// present decides:
//
//  1. Mirapoint: the name starts with "#". Well formed only as exactly
//     "#user@domain#admin#".
//  2. Exchange: the name contains "/" (unless the master separator itself
//     contains "/"). Well formed only as exactly three non-empty parts.
//  3. Dovecot: the name contains the master separator. Dovecot splits at the
//     first separator: the user is before it, the admin after it; both must be
//     non-empty and the admin must not contain the separator again.
//  4. Plain otherwise, or UserRoot when a UserRoot is given.
//
// A name that carries a form's marker but is not well formed (for example
// "#a@b#admin" without the closing "#") is not an error: some servers accept
// such login names, and it is sent as written. It is recognised as Plain and
// Parse returns a Warning saying what looks wrong and how the form is written,
// so that a check of the migration file can show it before anything runs.
package credential
