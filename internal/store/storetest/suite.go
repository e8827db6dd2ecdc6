// Package storetest is the conformance suite of the store: every engine
// (store/sqlite, store/postgres) must pass all of it. A test of an engine
// calls Run with a function that returns the DSN of a new, empty database.
package storetest

import "testing"

// Run runs the whole suite; newDB returns the DSN of a new empty database
// for each test.
func Run(t *testing.T, newDB func(t *testing.T) string) {
	tests := []struct {
		name string
		fn   func(t *testing.T, dsn string)
	}{
		{"ClaimLimitsAndLeases", testClaimLimitsAndLeases},
		{"MailboxStateRoundTrip", testMailboxStateRoundTrip},
		{"SetIntentFollowsCommand", testSetIntentFollowsCommand},
		{"ClaimFollowsDue", testClaimFollowsDue},
		{"ClaimEndpointLimits", testClaimEndpointLimits},
		{"ClaimConcurrency", testClaimConcurrency},
		{"Heartbeat", testHeartbeat},
		{"FinishSettles", testFinishSettles},
		{"ReleaseAll", testReleaseAll},
		{"EndpointCRUD", testEndpointCRUD},
		{"CreateBatch", testCreateBatch},
		{"CreateBatchConcurrently", testCreateBatchConcurrently},
		{"AddUsers", testAddUsers},
		{"DeleteBatch", testDeleteBatch},
		{"RemoveWhileDeleting", testRemoveWhileDeleting},
		{"RemoveUser", testRemoveUser},
		{"UpdateUser", testUpdateUser},
		{"FinishRemovals", testFinishRemovals},
		{"Workers", testWorkers},
		{"SecretKeyID", testSecretKeyID},
		{"SkippedItemsAndFolderStats", testSkippedItemsAndFolderStats},
		{"TimesRoundTripUTC", testTimesRoundTripUTC},
		{"OpenRefusesUnknownSchemes", testOpenRefusesUnknownSchemes},
	}
	tests = append(tests, more...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newDB(t))
		})
	}
}

// more is filled by the suite's other files.
var more []struct {
	name string
	fn   func(t *testing.T, dsn string)
}
