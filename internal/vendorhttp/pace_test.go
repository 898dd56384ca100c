package vendorhttp_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sendguard/sendguard/internal/vendorhttp"
)

// maxInWindow returns the most times that fall in any half-open interval
// (t-per, t].
func maxInWindow(times []time.Time, per time.Duration) int {
	best := 0
	for i := range times {
		n := 0
		for j := 0; j <= i; j++ {
			if times[i].Sub(times[j]) < per {
				n++
			}
		}
		best = max(best, n)
	}
	return best
}

func acquireN(t *testing.T, p *vendorhttp.Pacer, n int) []time.Time {
	t.Helper()
	var times []time.Time
	for i := range n {
		release, _, err := p.Acquire(t.Context())
		if err != nil {
			t.Fatalf("acquire %d: %v", i, err)
		}
		times = append(times, time.Now())
		release()
	}
	return times
}

func TestWindowFor(t *testing.T) {
	cases := []struct {
		n    float64
		want vendorhttp.Window
		ok   bool
	}{
		{10, vendorhttp.Window{Limit: 10, Per: time.Second}, true},
		{2.5, vendorhttp.Window{Limit: 2, Per: time.Second}, true},
		{0.5, vendorhttp.Window{Limit: 1, Per: 2 * time.Second}, true},
		{0, vendorhttp.Window{}, false},
		{-1, vendorhttp.Window{}, false},
	}
	for _, c := range cases {
		got, ok := vendorhttp.WindowFor(c.n, time.Second)
		if got != c.want || ok != c.ok {
			t.Errorf("WindowFor(%v) = %v, %v; want %v, %v", c.n, got, ok, c.want, c.ok)
		}
	}
}

func TestPacer_SlidingWindowsHold(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := vendorhttp.NewPacer(vendorhttp.PacerConfig{Windows: []vendorhttp.Window{
			{Limit: 10, Per: time.Second}, {Limit: 150, Per: time.Minute},
		}})
		start := time.Now()
		times := acquireN(t, p, 320)
		if got := maxInWindow(times, time.Second); got != 10 {
			t.Errorf("max per second = %d, want 10", got)
		}
		if got := maxInWindow(times, time.Minute); got != 150 {
			t.Errorf("max per minute = %d, want 150", got)
		}
		// 150 in the first 15 s, 150 more from 60 s, 20 more from 120 s.
		if d := time.Since(start); d < 120*time.Second || d > 125*time.Second {
			t.Errorf("320 requests took %v, want about 122s", d)
		}
	})
}

func TestPacer_SmoothingBucket(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := vendorhttp.NewPacer(vendorhttp.PacerConfig{
			Windows: []vendorhttp.Window{{Limit: 100, Per: time.Minute}},
			Rate:    100.0 / 60, Burst: 10,
		})
		start := time.Now()
		times := acquireN(t, p, 30)
		for i := 1; i < 10; i++ {
			if !times[i].Equal(start) {
				t.Fatalf("burst request %d waited %v", i, times[i].Sub(start))
			}
		}
		for i := 11; i < len(times); i++ {
			if gap := times[i].Sub(times[i-1]); gap < 590*time.Millisecond || gap > 610*time.Millisecond {
				t.Fatalf("gap before request %d = %v, want 0.6s", i, gap)
			}
		}
	})
}

func TestPacer_Slack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := vendorhttp.NewPacer(vendorhttp.PacerConfig{
			Windows: []vendorhttp.Window{{Limit: 1, Per: time.Second}}, Slack: 100 * time.Millisecond,
		})
		times := acquireN(t, p, 3)
		if gap := times[2].Sub(times[1]); gap != 1100*time.Millisecond {
			t.Fatalf("gap = %v, want 1.1s", gap)
		}
	})
}

func TestPacer_HoldUntil(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := vendorhttp.NewPacer(vendorhttp.PacerConfig{})
		start := time.Now()
		p.HoldUntil(start.Add(7 * time.Second))
		p.HoldUntil(start.Add(2 * time.Second)) // never shortens
		_, waited, err := p.Acquire(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if waited != 7*time.Second || time.Since(start) != 7*time.Second {
			t.Fatalf("waited %v, want 7s", waited)
		}
	})
}

func TestPacer_DeadlineFailsEarly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := vendorhttp.NewPacer(vendorhttp.PacerConfig{})
		p.HoldUntil(time.Now().Add(time.Minute))
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		start := time.Now()
		_, _, err := p.Acquire(ctx)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want DeadlineExceeded", err)
		}
		if time.Since(start) != 0 {
			t.Fatalf("waited %v before failing", time.Since(start))
		}
		if p.InFlight() != 0 {
			t.Fatalf("slot leaked: InFlight = %d", p.InFlight())
		}
	})
}

func TestPacer_MaxInFlightAndAwait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := vendorhttp.NewPacer(vendorhttp.PacerConfig{MaxInFlight: 2})
		if err := p.AwaitInFlight(t.Context()); err != nil {
			t.Fatalf("AwaitInFlight with none in flight: %v", err)
		}
		r1, _, _ := p.Acquire(t.Context())
		r2, _, _ := p.Acquire(t.Context())
		if p.InFlight() != 2 {
			t.Fatalf("InFlight = %d", p.InFlight())
		}
		var mu sync.Mutex
		var got []string
		note := func(s string) { mu.Lock(); got = append(got, s); mu.Unlock() }
		go func() {
			r3, _, err := p.Acquire(context.Background())
			if err == nil {
				note("third acquired")
				r3()
			}
		}()
		go func() {
			if p.AwaitInFlight(context.Background()) == nil {
				note("await returned")
			}
		}()
		synctest.Wait()
		if len(got) != 0 {
			t.Fatalf("before release: %v", got)
		}
		r1()
		r1() // release is idempotent
		synctest.Wait()
		if len(got) != 2 {
			t.Fatalf("after release: %v", got)
		}
		r4, _, _ := p.Acquire(t.Context()) // both slots held again: r2 and r4
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, _, err := p.Acquire(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("acquire with a canceled ctx and no free slot: %v", err)
		}
		r2()
		r4()
		if p.InFlight() != 0 {
			t.Fatalf("InFlight = %d after all released", p.InFlight())
		}
	})
}
