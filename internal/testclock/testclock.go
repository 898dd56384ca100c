// Package testclock is the settable clock the tests of several packages
// give as a Clock option (guard.WithClock, storage.Options.Clock).
package testclock

import (
	"sync"
	"time"
)

// Clock is a clock that moves only when told. It is safe for concurrent
// use by multiple goroutines.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// New returns a clock at the real time, truncated to the second. It
// starts there, not at a fixed date, because Badger's own TTL runs on the
// real clock: a fake clock far from it would make Badger hide or keep
// entries unlike the store's own expiry check.
func New() *Clock { return &Clock{now: time.Now().Truncate(time.Second)} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
