package filter

import (
	"context"
	"fmt"
	"time"
)

// KeySource yields every key a rebuilt filter must hold, by calling add once
// per key, and returns nil when it has yielded them all. It should stop early
// and return ctx.Err() when ctx ends.
//
// Rebuild calls the source once, on the goroutine that called Rebuild. add
// copies nothing it needs later, so the key may be a buffer the source reuses.
// add is not safe for concurrent use: call it from one goroutine at a time,
// and never after the source has returned.
type KeySource func(ctx context.Context, add func(key []byte)) error

// Rebuild replaces the bloom filter with a new one sized for expected keys
// (0 means twice the current count, and at least the current capacity) and
// filled from src. It is the cure for both growth and staleness (see
// NeedsRebuild).
//
// The new filter is built outside the writer lock, so Add and MayContain
// carry on meanwhile against the old one. Every key Added while Rebuild runs
// goes to both filters: when src is done, those keys are added to the new
// filter under the lock, and the new filter is swapped in atomically. For no
// key to be missed, src must yield every key whose Add returned before Rebuild
// was called: write keys to the source first, then Add them.
//
// Concurrent Rebuild calls run one after the other. If ctx ends (also while
// waiting for another Rebuild) or src returns an error, Rebuild returns it
// wrapped and the old filter stays in place, losing nothing.
func (f *Filter) Rebuild(ctx context.Context, expected uint, src KeySource) error {
	select {
	case f.rebuildSem <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("filter: rebuild: %w", ctx.Err())
	}
	defer func() { <-f.rebuildSem }()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("filter: rebuild: %w", err)
	}

	f.mu.Lock()
	capacity := uint64(expected)
	if capacity == 0 {
		capacity = max(2*f.count, f.capacity)
	}
	capacity = f.capacityFor(capacity)
	staleBefore := f.stale
	f.pending = [][]byte{} // non-nil: Add records keys from now on
	f.mu.Unlock()
	swapped := false
	defer func() {
		if !swapped { // failed, or src panicked: stop recording
			f.mu.Lock()
			f.pending = nil
			f.mu.Unlock()
		}
	}()

	bf := f.newBloom(capacity)
	var count uint64
	// Plain Add, not TestOrAdd: TestOrAdd branches on every bit it loads,
	// which serializes the cache misses and builds at half the speed. So
	// every key src yields counts, duplicates too.
	err := src(ctx, func(key []byte) {
		bf.Add(key)
		count++
	})
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("filter: rebuild: %w", err)
	}
	setBits, countAtSetBits := uint64(bf.BitSet().Count()), count // O(m): outside the lock

	f.mu.Lock()
	defer f.mu.Unlock()
	for _, key := range f.pending {
		if !bf.TestOrAdd(key) { // src may have yielded it too: count it once
			count++
		}
	}
	f.pending = nil
	swapped = true
	f.cur.Store(&state{bf: *bf})
	f.capacity = capacity
	f.count = count
	f.setBits, f.countAtSetBits = setBits, countAtSetBits
	f.stale -= staleBefore // what was noted during the build may be in bf
	f.rebuilds++
	f.lastRebuild = time.Now()
	return nil
}
