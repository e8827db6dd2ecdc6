package migration

import (
	"net"
	"strconv"
	"strings"

	"github.com/imapmigrate/imapmigrate/internal/secret"
)

// Where each stored secret lives. A sealed value is bound to its place
// (package secret): one moved to another row or column, or an endpoint's
// password after its server was changed in the database, does not open,
// so whoever can write the database cannot make the service send a secret
// where it was not given for. The names are those of the SQLite schema and
// are part of every sealed value: they must never change.

// adminPasswordPlace is an endpoint's admin password, for its server.
func adminPasswordPlace(e *Endpoint) secret.Place {
	return secret.Place{Table: "endpoint", Column: "admin_password", Row: "name=" + e.Name,
		Server: net.JoinHostPort(e.Server, strconv.Itoa(e.Port))}
}

// userPasswordPlace is a migration user's source password; the user's row
// is the batch and the address (lower case, as the store's email_key).
func userPasswordPlace(batch, email string) secret.Place {
	return secret.Place{Table: "migration_user", Column: "password", Row: userRow(batch, email)}
}

// targetPasswordPlace is a migration user's TargetPassword.
func targetPasswordPlace(batch, email string) secret.Place {
	return secret.Place{Table: "migration_user", Column: "target_password", Row: userRow(batch, email)}
}

func userRow(batch, email string) string {
	return "batch=" + batch + " email=" + strings.ToLower(email)
}
