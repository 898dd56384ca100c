package vendorhttp

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Window is a hard rate limit: at most Limit requests in any interval of
// length Per.
type Window struct {
	Limit int
	Per   time.Duration
}

// WindowFor converts a rate of n requests per period into a [Window] that
// never exceeds it: floor(n) per period when n ≥ 1, else one per period/n.
// ok is false when n ≤ 0 (no limit).
func WindowFor(n float64, period time.Duration) (w Window, ok bool) {
	switch {
	case n <= 0 || math.IsNaN(n) || math.IsInf(n, 0):
		return Window{}, false
	case n >= 1:
		return Window{Limit: int(math.Floor(n)), Per: period}, true
	default:
		return Window{Limit: 1, Per: time.Duration(float64(period) / n)}, true
	}
}

// PacerConfig configures a [Pacer].
type PacerConfig struct {
	// Windows are hard limits; all must allow a request.
	Windows []Window
	// Rate and Burst configure the smoothing token bucket, in requests per
	// second. Rate ≤ 0 disables it; Burst < 1 means 1.
	Rate  float64
	Burst int
	// MaxInFlight is the number of requests that may be in flight at once.
	// Values below 1 mean 1.
	MaxInFlight int
	// Slack is added to each window's Per, to absorb the difference between
	// the time a request is sent and the time the vendor counts it.
	Slack time.Duration
}

// Pacer decides when a request may be sent. See the package documentation.
// The zero Pacer is not usable: call [NewPacer].
//
// A Pacer is safe for concurrent use by multiple goroutines.
type Pacer struct {
	sem    chan struct{}
	bucket *rate.Limiter // nil: no smoothing

	mu       sync.Mutex
	windows  []ring
	hold     time.Time
	inFlight int
	finished chan struct{} // closed and replaced when a request finishes
}

type ring struct {
	per   time.Duration
	times []time.Time // circular; len == Limit once full
	next  int
}

// NewPacer returns a Pacer for cfg.
func NewPacer(cfg PacerConfig) *Pacer {
	n := max(cfg.MaxInFlight, 1)
	p := &Pacer{sem: make(chan struct{}, n), finished: make(chan struct{})}
	for _, w := range cfg.Windows {
		if w.Limit > 0 && w.Per > 0 {
			p.windows = append(p.windows, ring{per: w.Per + cfg.Slack, times: make([]time.Time, 0, w.Limit)})
		}
	}
	if cfg.Rate > 0 {
		p.bucket = rate.NewLimiter(rate.Limit(cfg.Rate), max(cfg.Burst, 1))
	}
	return p
}

// Acquire waits for an in-flight slot, then until the pace allows a request,
// and counts the request as sent now. The caller must call release once the
// exchange is over (response read or failed). waited is the time spent
// waiting.
//
// It returns ctx's error if ctx is done first, or an error wrapping
// [context.DeadlineExceeded] as soon as it knows the wait would pass ctx's
// deadline.
func (p *Pacer) Acquire(ctx context.Context) (release func(), waited time.Duration, err error) {
	start := time.Now()
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, time.Since(start), ctx.Err()
	}
	p.mu.Lock()
	p.inFlight++
	p.mu.Unlock()
	var once sync.Once
	release = func() { once.Do(p.release) }
	for {
		d := p.tryTake(time.Now())
		if d == 0 {
			return release, time.Since(start), nil
		}
		if dl, ok := ctx.Deadline(); ok && time.Now().Add(d).After(dl) {
			release()
			return nil, time.Since(start), fmt.Errorf("pace: a wait of %v would pass the deadline: %w", d, context.DeadlineExceeded)
		}
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			release()
			return nil, time.Since(start), ctx.Err()
		}
	}
}

// tryTake records a request at now and returns 0 if everything allows it,
// or else how long to wait before trying again.
func (p *Pacer) tryTake(now time.Time) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	var d time.Duration
	if now.Before(p.hold) {
		d = p.hold.Sub(now)
	}
	for i := range p.windows {
		w := &p.windows[i]
		if len(w.times) == cap(w.times) {
			if free := w.times[w.next].Add(w.per); free.After(now) {
				d = max(d, free.Sub(now))
			}
		}
	}
	if p.bucket != nil {
		if tok := p.bucket.TokensAt(now); tok < 1 {
			need := time.Duration((1 - tok) / float64(p.bucket.Limit()) * float64(time.Second))
			d = max(d, need, time.Millisecond)
		}
	}
	if d > 0 {
		return d
	}
	if p.bucket != nil && !p.bucket.AllowN(now, 1) {
		return time.Millisecond
	}
	for i := range p.windows {
		w := &p.windows[i]
		if len(w.times) < cap(w.times) {
			w.times = append(w.times, now)
		} else {
			w.times[w.next] = now
			w.next = (w.next + 1) % len(w.times)
		}
	}
	return 0
}

func (p *Pacer) release() {
	p.mu.Lock()
	p.inFlight--
	close(p.finished)
	p.finished = make(chan struct{})
	p.mu.Unlock()
	<-p.sem
}

// HoldUntil stops every request from being sent before t. A hold never
// shortens an earlier, later hold.
func (p *Pacer) HoldUntil(t time.Time) {
	p.mu.Lock()
	if t.After(p.hold) {
		p.hold = t
	}
	p.mu.Unlock()
}

// InFlight returns the number of requests acquired and not yet released.
func (p *Pacer) InFlight() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.inFlight
}

// AwaitInFlight returns once a request that was in flight when it was called
// has finished, at once if none was, or with ctx's error.
func (p *Pacer) AwaitInFlight(ctx context.Context) error {
	p.mu.Lock()
	n, ch := p.inFlight, p.finished
	p.mu.Unlock()
	if n == 0 {
		return nil
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
