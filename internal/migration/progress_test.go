package migration

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
)

var p0 = time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC)

func TestPassProgressArithmetic(t *testing.T) {
	tests := []struct {
		name       string
		p          *PassProgress
		elapsed    time.Duration // now - p0
		percent    int
		rate       float64
		eta        time.Duration
		etaUnknown bool
	}{
		{name: "nil", p: nil, elapsed: time.Minute},
		{name: "nothing yet, no estimate", p: &PassProgress{Started: p0}, elapsed: time.Minute},
		{name: "estimate, nothing done", p: &PassProgress{Started: p0, ItemsTotal: 2800}, elapsed: time.Minute},
		{name: "under way", p: &PassProgress{Started: p0, Items: 340, ItemsTotal: 2800}, elapsed: 68 * time.Second,
			percent: 12, rate: 5, eta: 492 * time.Second},
		{name: "rounds the percentage down, the ETA up", p: &PassProgress{Started: p0, Items: 2, ItemsTotal: 3}, elapsed: 3 * time.Second,
			percent: 66, rate: 2.0 / 3, eta: 2 * time.Second},
		{name: "one left is not 100%", p: &PassProgress{Started: p0, Items: 1<<53 - 1, ItemsTotal: 1 << 53}, elapsed: time.Second,
			percent: 99, rate: 1<<53 - 1, eta: time.Second},
		{name: "done", p: &PassProgress{Started: p0, Items: 2800, ItemsTotal: 2800}, elapsed: time.Minute,
			percent: 100, rate: 2800.0 / 60},
		{name: "more done than estimated", p: &PassProgress{Started: p0, Items: 3000, ItemsTotal: 2800}, elapsed: time.Minute,
			percent: 100, rate: 50},
		{name: "no estimate yet", p: &PassProgress{Started: p0, Items: 60}, elapsed: time.Minute, percent: 0, rate: 1},
		{name: "no time passed", p: &PassProgress{Started: p0, Items: 60, ItemsTotal: 100}, elapsed: 0, percent: 60},
		{name: "clock behind the start", p: &PassProgress{Started: p0, Items: 60, ItemsTotal: 100}, elapsed: -time.Minute, percent: 60},
		{name: "no start", p: &PassProgress{Items: 60, ItemsTotal: 100}, elapsed: time.Minute, percent: 60},
		{name: "negative counts", p: &PassProgress{Started: p0, Items: -5, ItemsTotal: -1}, elapsed: time.Minute},
		{name: "huge counts do not overflow", p: &PassProgress{Started: p0, Items: math.MaxInt64 / 2, ItemsTotal: math.MaxInt64}, elapsed: time.Hour,
			percent: 50, rate: float64(math.MaxInt64/2) / 3600, eta: time.Hour},
		{name: "an ETA past a century is capped", p: &PassProgress{Started: p0, Items: 1, ItemsTotal: math.MaxInt64}, elapsed: time.Hour,
			rate: 1.0 / 3600, eta: maxETA},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := p0.Add(tt.elapsed)
			if got := tt.p.Percent(); got != tt.percent {
				t.Errorf("Percent = %d, want %d", got, tt.percent)
			}
			if got := tt.p.Rate(now); math.Abs(got-tt.rate) > 1e-9*max(1, tt.rate) {
				t.Errorf("Rate = %v, want %v", got, tt.rate)
			}
			if got := tt.p.ETA(now); got != tt.eta {
				t.Errorf("ETA = %v, want %v", got, tt.eta)
			}
			tt.p.Derive(now) // nil-safe
			if tt.p != nil && (tt.p.PercentComplete != tt.percent || time.Duration(tt.p.TimeRemaining) != tt.eta) {
				t.Errorf("Derive: %d%%, %v", tt.p.PercentComplete, tt.p.TimeRemaining)
			}
		})
	}
}

func TestSumPasses(t *testing.T) {
	now := p0.Add(100 * time.Second)
	got := SumPasses([]PassProgress{
		{Started: p0, Items: 100, Bytes: 1000, ItemsTotal: 300},                       // 1/s, 200s left
		{Started: p0.Add(50 * time.Second), Items: 100, Bytes: 500, ItemsTotal: 1100}, // 2/s, 500s left
		{Started: now, ItemsTotal: 600},                                               // nothing yet
	}, now)
	want := PassesProgress{Passes: 3, Items: 200, Bytes: 1500, ItemsTotal: 2000, PercentComplete: 10, ItemsPerSecond: 3,
		TimeRemaining: TimeSpan(500 * time.Second)}
	if got != want {
		t.Errorf("SumPasses = %+v, want %+v", got, want)
	}
	if got := SumPasses(nil, now); got != (PassesProgress{}) {
		t.Errorf("SumPasses(nil) = %+v", got)
	}
}

func TestTimeSpan(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{0, "00:00:00"},
		{8*time.Minute + 20*time.Second + 900*time.Millisecond, "00:08:20"},
		{26*time.Hour + 3*time.Minute + 4*time.Second, "1.02:03:04"},
		{-90 * time.Second, "-00:01:30"},
	} {
		if got := TimeSpan(tt.d).String(); got != tt.want {
			t.Errorf("TimeSpan(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
	b, _ := json.Marshal(struct {
		D TimeSpan `json:"InitialSyncDuration,omitzero"`
		Z TimeSpan `json:"Zero,omitzero"`
	}{D: TimeSpan(time.Hour)})
	if string(b) != `{"InitialSyncDuration":"01:00:00"}` {
		t.Errorf("json = %s", b)
	}
}

func TestBatchSummarize(t *testing.T) {
	now := p0.Add(2 * time.Hour)
	started := p0
	tests := []struct {
		name     string
		intent   Intent
		started  time.Time
		statuses []UserStatus
		syncs    BatchSyncs
		want     Batch // the derived fields only
	}{
		{name: "not started", intent: IntentCreated, statuses: []UserStatus{UserQueued, UserQueued},
			want: Batch{Status: BatchCreated, Users: 2}},
		{name: "no users", intent: IntentRunning, started: started,
			want: Batch{Status: BatchSynced, InitialSyncDuration: TimeSpan(2 * time.Hour)}},
		{name: "initial sync under way", intent: IntentRunning, started: started,
			statuses: []UserStatus{UserSynced, UserSyncing, UserQueued, UserFailed},
			syncs:    BatchSyncs{FirstSynced: 1, FirstSyncMax: p0.Add(time.Hour), LastSyncMax: p0.Add(time.Hour)},
			want: Batch{Status: BatchSyncing, Users: 4, SyncedCount: 1, FailedCount: 1, PercentComplete: 25,
				InitialSyncDuration: TimeSpan(2 * time.Hour), LastSynced: p0.Add(time.Hour)}},
		{name: "every user had its first sync", intent: IntentRunning, started: started,
			statuses: []UserStatus{UserSynced, UserIncrementalSyncing, UserIncrementalFailed},
			syncs:    BatchSyncs{FirstSynced: 3, FirstSyncMax: p0.Add(90 * time.Minute), LastSyncMax: p0.Add(110 * time.Minute)},
			want: Batch{Status: BatchIncrementalSyncing, Users: 3, SyncedCount: 2, FailedCount: 1, PercentComplete: 100,
				InitialSyncDuration: TimeSpan(90 * time.Minute), LastSynced: p0.Add(110 * time.Minute)}},
		{name: "stopped before every first sync", intent: IntentStopped, started: started,
			statuses: []UserStatus{UserSynced, UserStopped}, syncs: BatchSyncs{FirstSynced: 1, FirstSyncMax: p0.Add(time.Minute)},
			want: Batch{Status: BatchStopped, Users: 2, SyncedCount: 1, PercentComplete: 50}},
		{name: "completed", intent: IntentCompleting, started: started,
			statuses: []UserStatus{UserCompleted, UserCompletedWithWarnings, UserCompleting},
			syncs:    BatchSyncs{FirstSynced: 3, FirstSyncMax: p0.Add(time.Hour), LastSyncMax: p0.Add(time.Hour)},
			want: Batch{Status: BatchCompleting, Users: 3, SyncedCount: 1, FinalizedCount: 2, PercentComplete: 100,
				InitialSyncDuration: TimeSpan(time.Hour), LastSynced: p0.Add(time.Hour)}},
		{name: "a first sync stamped before the start (clock skew)", intent: IntentRunning, started: started,
			statuses: []UserStatus{UserSynced}, syncs: BatchSyncs{FirstSynced: 1, FirstSyncMax: p0.Add(-time.Second)},
			want: Batch{Status: BatchSynced, Users: 1, SyncedCount: 1, PercentComplete: 100}},
		{name: "passes under way", intent: IntentRunning, started: started, statuses: []UserStatus{UserSyncing},
			syncs: BatchSyncs{Passes: []PassProgress{{Started: now.Add(-10 * time.Second), Items: 50, ItemsTotal: 100}}},
			want: Batch{Status: BatchSyncing, Users: 1, InitialSyncDuration: TimeSpan(2 * time.Hour),
				ActivePasses: &PassesProgress{Passes: 1, Items: 50, ItemsTotal: 100, PercentComplete: 50, ItemsPerSecond: 5,
					TimeRemaining: TimeSpan(10 * time.Second)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := Batch{Intent: tt.intent, StartedAt: tt.started}
			b.Summarize(tt.statuses, tt.syncs, now)
			w := tt.want
			if b.Status != w.Status || b.Users != w.Users || b.SyncedCount != w.SyncedCount || b.FinalizedCount != w.FinalizedCount ||
				b.FailedCount != w.FailedCount || b.PercentComplete != w.PercentComplete || b.InitialSyncDuration != w.InitialSyncDuration ||
				!b.LastSynced.Equal(w.LastSynced) {
				t.Errorf("got  %s total %d synced %d finalized %d failed %d %d%% initial %v last %v\nwant %s total %d synced %d finalized %d failed %d %d%% initial %v last %v",
					b.Status, b.Users, b.SyncedCount, b.FinalizedCount, b.FailedCount, b.PercentComplete, b.InitialSyncDuration, b.LastSynced,
					w.Status, w.Users, w.SyncedCount, w.FinalizedCount, w.FailedCount, w.PercentComplete, w.InitialSyncDuration, w.LastSynced)
			}
			if (b.ActivePasses == nil) != (w.ActivePasses == nil) || (b.ActivePasses != nil && *b.ActivePasses != *w.ActivePasses) {
				t.Errorf("ActivePasses = %+v, want %+v", b.ActivePasses, w.ActivePasses)
			}
			var n int
			for _, c := range b.Counts {
				n += c
			}
			if n != len(tt.statuses) {
				t.Errorf("Counts %v add up to %d", b.Counts, n)
			}
		})
	}
}

// The batch and the user as JSON: Exchange's names, PascalCase.
func TestJSONNames(t *testing.T) {
	b := Batch{Name: "B1", SourceEndpoint: "old", TargetEndpoint: "new", Intent: IntentRunning, StartedAt: p0}
	b.Summarize([]UserStatus{UserSynced}, BatchSyncs{FirstSynced: 1, FirstSyncMax: p0.Add(time.Minute), LastSyncMax: p0.Add(time.Minute)}, p0.Add(time.Hour))
	u := User{Batch: "B1", EmailAddress: "terry@new.example", Status: UserSyncing,
		Pass: &PassProgress{Kind: PassInitial, Started: p0, Items: 10, ItemsTotal: 20}}
	u.Pass.Derive(p0.Add(10 * time.Second))
	for _, v := range []struct {
		v    any
		want []string
	}{
		{b, []string{`"Identity":"B1"`, `"SourceEndpoint":"old"`, `"Status":"Synced"`, `"TotalCount":1`, `"SyncedCount":1`, `"FinalizedCount":0`,
			`"FailedCount":0`, `"PercentageComplete":100`, `"InitialSyncDuration":"00:01:00"`, `"LastSyncedTime":"2024-05-01T08:01:00Z"`}},
		{u, []string{`"BatchId":"B1"`, `"EmailAddress":"terry@new.example"`, `"ItemsSynced":0`, `"Pass":{`, `"ItemsSyncedThisPass":10`,
			`"EstimatedItemsThisPass":20`, `"PercentageComplete":50`, `"ItemsPerSecond":1`, `"EstimatedTimeRemaining":"00:00:10"`}},
		{Endpoint{Name: "old", Server: "imap.old.example"}, []string{`"Identity":"old"`, `"RemoteServer":"imap.old.example"`}},
	} {
		js, err := json.Marshal(v.v)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range v.want {
			if !strings.Contains(string(js), w) {
				t.Errorf("%T JSON lacks %s:\n%s", v.v, w, js)
			}
		}
		if strings.Contains(string(js), "_") {
			t.Errorf("%T JSON has a snake_case name:\n%s", v.v, js)
		}
	}
}
