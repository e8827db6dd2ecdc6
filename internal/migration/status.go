package migration

// BatchStatusOf derives a batch's status from what was asked of it and its
// users' statuses. It is the only place where this rule lives.
func BatchStatusOf(intent Intent, users []UserStatus) BatchStatus {
	count := make(map[UserStatus]int)
	for _, s := range users {
		count[s]++
	}
	any := func(ss ...UserStatus) bool {
		for _, s := range ss {
			if count[s] > 0 {
				return true
			}
		}
		return false
	}
	switch intent {
	case IntentCreated:
		return BatchCreated
	case IntentRemoving:
		return BatchRemoving
	case IntentFailed:
		return BatchFailed
	case IntentStopped:
		if any(UserStopping, UserSyncing, UserIncrementalSyncing) {
			return BatchStopping
		}
		return BatchStopped
	case IntentCompleting:
		if any(UserQueued, UserSyncing, UserSynced, UserIncrementalSyncing, UserCompleting, UserStopping, UserStopped) {
			return BatchCompleting
		}
		if any(UserFailed, UserIncrementalFailed) {
			return BatchCompletedWithErrors
		}
		if any(UserCompletedWithWarnings) {
			// Only skipped items: the users are done, with a report to read.
			return BatchCompletedWithWarnings
		}
		return BatchCompleted
	}
	// Running.
	switch {
	case any(UserQueued, UserSyncing, UserStopped):
		return BatchSyncing
	case any(UserIncrementalSyncing):
		return BatchIncrementalSyncing
	case any(UserFailed, UserIncrementalFailed):
		return BatchSyncedWithErrors
	}
	return BatchSynced
}
