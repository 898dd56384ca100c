package optout

import (
	"sync"
	"time"
)

// Clock is the compliance clock: for every captured opt-out it takes when
// the opt-out was asked for and when the block was in force, and keeps the
// count, the worst and the mean delay, in all and per source ("unsubscribe",
// "sms", "bounce", "complaint"). An operator reads it to show that opt-outs
// are honoured within the rules' limits (Gmail and Yahoo: 2 days for
// one-click unsubscribe; the FCC: 10 business days for an SMS revocation).
//
// Share one Clock between an [Unsubscriber], an [SMSHandler] and a
// [Recorder] (the Clock field of their configs) to read them together; each
// makes its own when given none. The counts are since the Clock was made;
// the durable record of each opt-out is its block: the entry's CreatedAt is
// when it was asked for, and the change-log record's Time is when it was
// enforced.
//
// The zero Clock is ready to use. A Clock is safe for concurrent use by
// multiple goroutines.
type Clock struct {
	mu    sync.Mutex
	all   delays
	bySrc map[string]*delays
}

// Delays summarises the delays between asking and enforcement.
type Delays struct {
	Count uint64        // opt-outs observed
	Worst time.Duration // the longest delay
	Mean  time.Duration // the mean delay
	// Last is when the latest observed opt-out was enforced; zero if none.
	Last time.Time
}

// ClockStats is a snapshot of a [Clock].
type ClockStats struct {
	Delays                     // over every source
	BySource map[string]Delays // per block source; the map is the caller's
}

type delays struct {
	n     uint64
	total time.Duration
	worst time.Duration
	last  time.Time
}

func (d *delays) add(delay time.Duration, enforced time.Time) {
	d.n++
	d.total += delay
	d.worst = max(d.worst, delay)
	if enforced.After(d.last) {
		d.last = enforced
	}
}

func (d *delays) stats() Delays {
	s := Delays{Count: d.n, Worst: d.worst, Last: d.last}
	if d.n > 0 {
		s.Mean = d.total / time.Duration(d.n)
	}
	return s
}

// Observe records one opt-out from source that was asked for at requested
// and enforced at enforced. A requested time after enforced (a clock skew
// between the reporter and us) counts as no delay. A zero requested time
// counts as asked at enforcement.
func (c *Clock) Observe(source string, requested, enforced time.Time) {
	delay := enforced.Sub(requested)
	if requested.IsZero() || delay < 0 {
		delay = 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.all.add(delay, enforced)
	if c.bySrc == nil {
		c.bySrc = make(map[string]*delays)
	}
	d := c.bySrc[source]
	if d == nil {
		d = new(delays)
		c.bySrc[source] = d
	}
	d.add(delay, enforced)
}

// Stats returns the counts, worst and mean delays so far.
func (c *Clock) Stats() ClockStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := ClockStats{Delays: c.all.stats(), BySource: make(map[string]Delays, len(c.bySrc))}
	for src, d := range c.bySrc {
		s.BySource[src] = d.stats()
	}
	return s
}
