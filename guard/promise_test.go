package guard_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sendguard/sendguard/guard"
)

// forms returns several inputs that all name contact i: an email for even
// i, a US phone number for odd i.
func forms(i int) []string {
	if i%2 == 0 {
		a := fmt.Sprintf("person%d@example.com", i)
		return []string{a, strings.ToUpper(a), "Person <" + a + ">", "mailto:" + a, " " + strings.ToUpper(a[:3]) + a[3:] + " "}
	}
	n := 1000 + i%9000
	area := 201 + (i/9000)%7
	return []string{
		fmt.Sprintf("+1%d555%04d", area, n),
		fmt.Sprintf("(%d) 555-%04d", area, n),
		fmt.Sprintf("%d.555.%04d", area, n),
		fmt.Sprintf("+1 %d 555 %04d", area, n),
		fmt.Sprintf("tel:+1-%d-555-%04d", area, n),
	}
}

// TestGuard_NoFalseNegativesUnderConcurrency is the promise: once Block
// returns, every later Check and wrapped send of that contact, in any input
// form, says blocked — while other goroutines block, check, send, and the
// filter is rebuilt over and over.
func TestGuard_NoFalseNegativesUnderConcurrency(t *testing.T) {
	ctx := t.Context()
	// A tiny filter so that it is over capacity (and rebuilt) many times.
	g := openGuard(t, t.TempDir(), guard.WithExpectedSize(64))

	const writers, perWriter, checkers = 4, 150, 4
	var (
		mu      sync.Mutex
		done    []int // contacts whose Block has returned
		stop    atomic.Bool
		fails   atomic.Int64
		checked atomic.Int64
		sentMu  sync.Mutex
		sent    []string
	)
	blockedNow := func() []int {
		mu.Lock()
		defer mu.Unlock()
		return done[:len(done):len(done)]
	}
	var sender guard.Sender[[]string] = guard.SenderFunc[[]string](func(_ context.Context, rcpts []string) error {
		sentMu.Lock()
		sent = append(sent, rcpts...)
		sentMu.Unlock()
		return nil
	})
	wrapped := guard.Wrap(g, sender, sliceAddressing{}, guard.WithPolicy(guard.DropBlocked))

	var wg sync.WaitGroup
	var writersWG sync.WaitGroup
	for w := range writers {
		writersWG.Add(1)
		wg.Go(func() {
			defer writersWG.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for j := range perWriter {
				i := w*perWriter + j // unique; even: email, odd: phone
				f := forms(i)
				if _, err := g.Block(ctx, f[rng.IntN(len(f))], "concurrent"); err != nil {
					t.Errorf("Block: %v", err)
					return
				}
				mu.Lock()
				done = append(done, i)
				mu.Unlock()
			}
		})
	}
	for c := range checkers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(c), 2))
			for !stop.Load() {
				b := blockedNow()
				if len(b) == 0 {
					continue
				}
				i := b[rng.IntN(len(b))]
				f := forms(i)
				v, err := g.Check(ctx, f[rng.IntN(len(f))])
				checked.Add(1)
				if err != nil || !v.Blocked {
					fails.Add(1)
					t.Errorf("contact %d (%q) not blocked after Block returned: %+v %v", i, f[0], v, err)
					return
				}
				// A message to a blocked and a never-blocked recipient: the
				// sender may only ever see the second.
				err = wrapped.Send(ctx, []string{f[rng.IntN(len(f))], fmt.Sprintf("free%d@example.net", rng.IntN(1000))})
				if !errors.Is(err, guard.ErrBlocked) {
					t.Errorf("send with blocked recipient: err %v", err)
					return
				}
			}
		})
	}
	// Rebuild the filter again and again while all this happens.
	wg.Go(func() {
		for !stop.Load() {
			if err := g.Rebuild(ctx); err != nil {
				t.Errorf("Rebuild: %v", err)
				return
			}
		}
	})
	writersWG.Wait()
	stop.Store(true)
	wg.Wait()

	if fails.Load() > 0 {
		t.Fatalf("%d false negatives", fails.Load())
	}
	if checked.Load() == 0 {
		t.Fatal("no checks ran")
	}
	for _, i := range blockedNow() {
		for _, f := range forms(i) {
			if v := mustCheck(t, g, f); !v.Blocked {
				t.Errorf("%q not blocked at the end", f)
			}
		}
	}
	sentMu.Lock()
	defer sentMu.Unlock()
	for _, r := range sent {
		if !strings.HasPrefix(r, "free") {
			t.Errorf("sender was given blocked recipient %q", r)
		}
	}
	if len(sent) == 0 {
		t.Error("sender never sent")
	}
	if g.Stats().Filter.Rebuilds == 0 {
		t.Error("no rebuild ran during the test")
	}
}

// sliceAddressing addresses a message that is just its recipients.
type sliceAddressing struct{}

func (sliceAddressing) Recipients(m []string) []string { return m }

func (sliceAddressing) Without(m []string, drop []int) []string {
	out := make([]string, 0, len(m))
	for i, r := range m {
		skip := false
		for _, d := range drop {
			skip = skip || d == i
		}
		if !skip {
			out = append(out, r)
		}
	}
	return out
}
