package migration

import "strings"

// UserStatuses are the statuses a migration user can have, in the order
// a user usually goes through them.
var UserStatuses = []UserStatus{
	UserQueued, UserSyncing, UserSynced, UserFailed, UserIncrementalSyncing, UserIncrementalFailed,
	UserStopping, UserStopped, UserCompleting, UserCompleted, UserCompletedWithWarnings, UserRemoving,
}

// ParseUserStatus reads a user status name in any case ("synced",
// "IncrementalFailed"); an unknown name is a *ValidationError (Field
// "Status") that lists the valid ones.
func ParseUserStatus(s string) (UserStatus, error) {
	for _, st := range UserStatuses {
		if strings.EqualFold(s, string(st)) {
			return st, nil
		}
	}
	names := make([]string, len(UserStatuses))
	for i, st := range UserStatuses {
		names[i] = string(st)
	}
	return "", &ValidationError{Field: "Status", Value: s, Fix: "unknown status: use one of " + strings.Join(names, ", ")}
}
