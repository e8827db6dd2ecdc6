package auth

import (
	"sync"
	"time"
)

// Limit is how many failed logins are allowed within Window; the next
// login is refused until the oldest of them is older than Window.
type Limit struct {
	Failures int
	Window   time.Duration
}

// The default limits: 5 failures of one account, or 20 from one remote
// address (an office behind one NAT address), per 15 minutes.
var (
	DefaultAccountLimit = Limit{Failures: 5, Window: 15 * time.Minute}
	DefaultAddressLimit = Limit{Failures: 20, Window: 15 * time.Minute}
)

// maxTracked bounds the limiter's memory: beyond it, the keys whose last
// failure is oldest are forgotten first.
const maxTracked = 10000

// limiter counts failed logins per key ("account:NAME", "address:IP") in
// process memory: each serve process counts its own.
type limiter struct {
	mu    sync.Mutex
	fails map[string][]time.Time // oldest first, within the key's window
}

func newLimiter() *limiter { return &limiter{fails: map[string][]time.Time{}} }

// until is when key may try again (the zero time: now).
func (l *limiter) until(key string, lim Limit, now time.Time) time.Time {
	if lim.Failures <= 0 {
		return time.Time{}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.prune(key, lim, now)
	if len(f) < lim.Failures {
		return time.Time{}
	}
	return f[len(f)-lim.Failures].Add(lim.Window)
}

// fail records a failure of key.
func (l *limiter) fail(key string, lim Limit, now time.Time) {
	if lim.Failures <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.prune(key, lim, now)
	if f == nil && len(l.fails) >= maxTracked {
		l.evict(now, lim)
	}
	f = append(f, now)
	if len(f) > lim.Failures { // older ones no longer decide
		f = f[len(f)-lim.Failures:]
	}
	l.fails[key] = f
}

// reset forgets key's failures (a successful login of the account).
func (l *limiter) reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.fails, key)
}

// prune drops key's failures older than the window; l.mu is held.
func (l *limiter) prune(key string, lim Limit, now time.Time) []time.Time {
	f := l.fails[key]
	i := 0
	for i < len(f) && now.Sub(f[i]) >= lim.Window {
		i++
	}
	if i == len(f) {
		delete(l.fails, key)
		return nil
	}
	f = f[i:]
	l.fails[key] = f
	return f
}

// evict makes room: every key without a failure within lim's window goes,
// then, if none did, the key with the oldest last failure.
func (l *limiter) evict(now time.Time, lim Limit) {
	var oldestKey string
	var oldest time.Time
	n := len(l.fails)
	for k, f := range l.fails {
		last := f[len(f)-1]
		if now.Sub(last) >= lim.Window {
			delete(l.fails, k)
			continue
		}
		if oldestKey == "" || last.Before(oldest) {
			oldestKey, oldest = k, last
		}
	}
	if len(l.fails) == n && oldestKey != "" {
		delete(l.fails, oldestKey)
	}
}
