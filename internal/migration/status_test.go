package migration

import "testing"

func TestBatchStatusOf(t *testing.T) {
	tests := []struct {
		intent Intent
		users  []UserStatus
		want   BatchStatus
	}{
		{IntentCreated, []UserStatus{UserQueued, UserQueued}, BatchCreated},
		{IntentRunning, []UserStatus{UserQueued, UserSyncing}, BatchSyncing},
		{IntentRunning, []UserStatus{UserSynced, UserQueued}, BatchSyncing},
		{IntentRunning, []UserStatus{UserSynced, UserSynced}, BatchSynced},
		{IntentRunning, []UserStatus{UserSynced, UserFailed}, BatchSyncedWithErrors},
		{IntentRunning, []UserStatus{UserSynced, UserIncrementalSyncing}, BatchIncrementalSyncing},
		{IntentRunning, []UserStatus{UserSynced, UserIncrementalFailed}, BatchSyncedWithErrors},
		{IntentRunning, []UserStatus{UserFailed, UserSyncing}, BatchSyncing},
		{IntentRunning, nil, BatchSynced},
		{IntentStopped, []UserStatus{UserStopping, UserStopped}, BatchStopping},
		{IntentStopped, []UserStatus{UserStopped, UserSynced}, BatchStopped},
		{IntentCompleting, []UserStatus{UserCompleted, UserIncrementalSyncing}, BatchCompleting},
		{IntentCompleting, []UserStatus{UserCompleted, UserCompleted}, BatchCompleted},
		{IntentCompleting, []UserStatus{UserCompleted, UserCompletedWithWarnings}, BatchCompletedWithWarnings}, // only skipped items
		{IntentCompleting, []UserStatus{UserCompletedWithWarnings, UserIncrementalFailed}, BatchCompletedWithErrors},
		{IntentCompleting, []UserStatus{UserCompleted, UserFailed}, BatchCompletedWithErrors},
		{IntentRemoving, []UserStatus{UserSynced}, BatchRemoving},
		{IntentFailed, []UserStatus{UserQueued}, BatchFailed},
	}
	for _, tt := range tests {
		if got := BatchStatusOf(tt.intent, tt.users); got != tt.want {
			t.Errorf("BatchStatusOf(%s, %v) = %s, want %s", tt.intent, tt.users, got, tt.want)
		}
	}
}
