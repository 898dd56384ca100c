package filter

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
)

// keysSource returns a KeySource that yields keys [from, to) of ns through
// one reused buffer (add must copy what it keeps).
func keysSource(ns string, from, to int) KeySource {
	return func(ctx context.Context, add func([]byte)) error {
		var buf []byte
		for i := from; i < to; i++ {
			buf = append(buf[:0], key(ns, i)...)
			add(buf)
		}
		return nil
	}
}

func TestRebuild(t *testing.T) {
	f := New(1000, 0.001)
	for i := range 2000 { // twice the capacity
		f.Add(key("k", i))
	}
	f.NoteStale(500)
	countBefore := f.Stats().Count
	if !f.NeedsRebuild() {
		t.Fatal("NeedsRebuild() = false at twice the capacity")
	}
	// Keys [0, 500) were unblocked: the source no longer has them.
	if err := f.Rebuild(t.Context(), 0, keysSource("k", 500, 2000)); err != nil {
		t.Fatal(err)
	}
	mustContain(t, f, "k", 500, 2000)
	gone := 0
	for i := range 500 {
		if f.MayContain(key("k", i)) {
			gone++
		}
	}
	if gone > 10 { // false positives only: about 0.5 expected
		t.Errorf("%d of 500 keys missing from the source still reported present", gone)
	}
	st := f.Stats()
	if st.Capacity != 2*countBefore { // expected 0: twice the count
		t.Errorf("Capacity = %d after Rebuild(expected 0) at count %d, want twice that", st.Capacity, countBefore)
	}
	if st.Count < 1495 || st.Count > 1500 {
		t.Errorf("Count = %d after rebuilding from 1500 keys", st.Count)
	}
	if st.Stale != 0 || st.Rebuilds != 1 || st.LastRebuild.IsZero() {
		t.Errorf("Stats() = %+v after one rebuild, want Stale 0, Rebuilds 1, LastRebuild set", st)
	}
	if f.NeedsRebuild() {
		t.Error("NeedsRebuild() = true right after a rebuild")
	}
	if err := f.Rebuild(t.Context(), 123, keysSource("k", 0, 10)); err != nil {
		t.Fatal(err)
	}
	if st := f.Stats(); st.Capacity != 123 || st.Rebuilds != 2 {
		t.Errorf("Stats() = %+v after Rebuild(expected 123), want Capacity 123, Rebuilds 2", st)
	}
}

func TestRebuildKeepsKeysAddedMeanwhile(t *testing.T) {
	f := New(1000, 0.001)
	f.foldLimit = 10
	for i := range 100 {
		f.Add(key("old", i))
	}
	f.NoteStale(7)
	src := func(ctx context.Context, add func([]byte)) error {
		for i := range 100 {
			add(key("old", i))
			if i == 50 {
				// Adds (and a fold or two) while the new filter is half built.
				for j := range 30 {
					f.Add(key("new", j))
				}
				f.Add(key("old", 80)) // also still to come from src: counted once
				f.NoteStale(3)
				mustContain(t, f, "new", 0, 30)
			}
		}
		return nil
	}
	if err := f.Rebuild(t.Context(), 1000, src); err != nil {
		t.Fatal(err)
	}
	mustContain(t, f, "old", 0, 100)
	mustContain(t, f, "new", 0, 30)
	st := f.Stats()
	if st.Count < 128 || st.Count > 130 {
		t.Errorf("Count = %d, want 130 (100 from src, 30 added during the rebuild)", st.Count)
	}
	if st.Stale != 3 {
		t.Errorf("Stale = %d, want the 3 noted during the rebuild", st.Stale)
	}
}

func TestRebuildFailureKeepsOldFilter(t *testing.T) {
	srcErr := errors.New("scan failed")
	tests := []struct {
		name    string
		src     func(cancel context.CancelFunc) KeySource
		wantErr error
	}{
		{"source error", func(context.CancelFunc) KeySource {
			return func(ctx context.Context, add func([]byte)) error {
				add(key("x", 0))
				return srcErr
			}
		}, srcErr},
		{"cancelled during build", func(cancel context.CancelFunc) KeySource {
			return func(ctx context.Context, add func([]byte)) error {
				add(key("x", 0))
				cancel()
				return nil // a source that ignores ctx: Rebuild still aborts
			}
		}, context.Canceled},
		{"cancelled source", func(cancel context.CancelFunc) KeySource {
			return func(ctx context.Context, add func([]byte)) error {
				cancel()
				return ctx.Err()
			}
		}, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := New(100, 0.01)
			for i := range 50 {
				f.Add(key("k", i))
			}
			before := f.Stats()
			oldBits := f.cur.Load().bf.BitSet()
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			err := f.Rebuild(ctx, 1000, tt.src(cancel))
			if !errors.Is(err, tt.wantErr) || !strings.HasPrefix(err.Error(), "filter: rebuild: ") {
				t.Fatalf("Rebuild() = %v, want an error wrapping %v", err, tt.wantErr)
			}
			if f.cur.Load().bf.BitSet() != oldBits || f.Stats() != before {
				t.Fatalf("failed Rebuild changed the filter: %+v, was %+v", f.Stats(), before)
			}
			if f.pending != nil {
				t.Fatal("failed Rebuild left Add recording keys")
			}
			mustContain(t, f, "k", 0, 50)
		})
	}
}

func TestRebuildCancelledBeforeStart(t *testing.T) {
	f := New(100, 0.01)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	called := false
	err := f.Rebuild(ctx, 0, func(context.Context, func([]byte)) error { called = true; return nil })
	if !errors.Is(err, context.Canceled) || called {
		t.Fatalf("Rebuild(cancelled ctx) = %v, src called: %v; want context.Canceled, src not called", err, called)
	}
}

func TestRebuildSourcePanics(t *testing.T) {
	f := New(100, 0.01)
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("the source's panic did not propagate")
			}
		}()
		_ = f.Rebuild(t.Context(), 0, func(context.Context, func([]byte)) error { panic("boom") })
	}()
	if f.pending != nil {
		t.Fatal("Add still records keys for a rebuild that panicked")
	}
	if err := f.Rebuild(t.Context(), 0, keysSource("k", 0, 10)); err != nil {
		t.Fatalf("Rebuild after a panicking one: %v", err)
	}
	mustContain(t, f, "k", 0, 10)
}

// TestRebuildSerialized checks that a second Rebuild waits for the first to
// finish before it calls its source, and that it gives up waiting when its
// context ends.
func TestRebuildSerialized(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := New(100, 0.01)
		release := make(chan struct{})
		var firstRunning, secondCalled atomic.Bool
		errs := make(chan error, 3)
		go func() {
			errs <- f.Rebuild(t.Context(), 0, func(ctx context.Context, add func([]byte)) error {
				firstRunning.Store(true)
				<-release
				firstRunning.Store(false)
				add(key("first", 0))
				return nil
			})
		}()
		synctest.Wait()
		if !firstRunning.Load() {
			t.Fatal("first Rebuild did not start")
		}
		go func() {
			errs <- f.Rebuild(t.Context(), 0, func(ctx context.Context, add func([]byte)) error {
				if firstRunning.Load() {
					return errors.New("ran while the first rebuild was running")
				}
				secondCalled.Store(true)
				add(key("second", 0))
				return nil
			})
		}()
		ctx, cancel := context.WithCancel(t.Context())
		go func() {
			errs <- f.Rebuild(ctx, 0, func(context.Context, func([]byte)) error {
				return errors.New("a cancelled waiter ran its source")
			})
		}()
		synctest.Wait()
		if secondCalled.Load() {
			t.Fatal("second Rebuild called its source while the first was running")
		}
		cancel()
		if err := <-errs; !errors.Is(err, context.Canceled) {
			t.Fatalf("waiting Rebuild with a cancelled context = %v, want context.Canceled", err)
		}
		close(release)
		for range 2 {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		if !secondCalled.Load() || f.Stats().Rebuilds != 2 {
			t.Fatalf("second Rebuild did not run after the first: %+v", f.Stats())
		}
		if !f.MayContain(key("second", 0)) {
			t.Fatal("the last rebuild's key is missing")
		}
	})
}

// store stands in for the exact store: keys are committed to it before they
// are added to the filter, and a scan sees the keys committed when it began.
type store struct {
	mu   sync.Mutex
	keys [][]byte
}

func (s *store) commit(k []byte) {
	s.mu.Lock()
	s.keys = append(s.keys, k)
	s.mu.Unlock()
}

// committed returns the keys committed so far.
func (s *store) committed() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keys[:len(s.keys):len(s.keys)]
}

func (s *store) scan(ctx context.Context, add func([]byte)) error {
	for _, k := range s.committed() {
		add(k)
	}
	return ctx.Err()
}

// TestNoKeyMissedAcrossRebuilds is the filter's promise under fire: writers
// commit keys to a store and add them, readers check keys whose Add has
// returned, and rebuilds (growing the filter from a small start) run all the
// while. Every check of a key Added before the check started must say true.
// The false-positive rate is kept tiny so that a lost key would show.
func TestNoKeyMissedAcrossRebuilds(t *testing.T) {
	const writers, perWriter, minRebuilds = 4, 3000, 4
	f := New(2000, 1e-9)
	f.foldLimit = 32
	db := &store{}
	added := make([]atomic.Int64, writers) // keys [0, added[w]) of writer w: Add returned
	r := startReaders(f, 3, added)

	// The first rebuild holds its scan open until every writer has added
	// keys after it started, so some keys surely land mid-rebuild; writers
	// then wait for more rebuilds at a checkpoint, so rebuilds keep
	// overlapping adds.
	rebuildStarted := make(chan struct{})
	var startOnce sync.Once
	var midRebuild sync.WaitGroup
	midRebuild.Add(writers)
	var rebuilds atomic.Int64
	enoughRebuilds := make(chan struct{})

	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				switch i {
				case perWriter / 3:
					<-rebuildStarted
				case 2 * perWriter / 3:
					<-enoughRebuilds
				}
				k := writerKey(w, i)
				db.commit(k) // the store first, then the filter
				f.Add(k)
				added[w].Store(int64(i + 1))
				if i == perWriter/2 {
					midRebuild.Done()
				}
			}
		})
	}

	stop := make(chan struct{})
	rebuildErr := make(chan error, 1)
	var rebuilder sync.WaitGroup
	rebuilder.Go(func() {
		for {
			src := func(ctx context.Context, add func([]byte)) error {
				first := false
				startOnce.Do(func() { first = true; close(rebuildStarted) })
				if !first {
					return db.scan(ctx, add)
				}
				keys := db.committed()
				midRebuild.Wait()
				for _, k := range keys {
					add(k)
				}
				return nil
			}
			if err := f.Rebuild(context.Background(), writers*perWriter*2, src); err != nil {
				rebuildErr <- err
				return
			}
			if rebuilds.Add(1) == minRebuilds {
				close(enoughRebuilds)
			}
			select {
			case <-stop:
				return
			default:
			}
		}
	})

	wg.Wait()
	close(stop)
	rebuilder.Wait()
	r.finish(t)
	select {
	case err := <-rebuildErr:
		t.Fatalf("Rebuild: %v", err)
	default:
	}
	for w := range writers {
		mustContain(t, f, writerNS(w), 0, perWriter)
	}
	// One more rebuild after all the adds: nothing lost either.
	if err := f.Rebuild(t.Context(), 0, db.scan); err != nil {
		t.Fatal(err)
	}
	for w := range writers {
		mustContain(t, f, writerNS(w), 0, perWriter)
	}
	t.Logf("%d checks, %d rebuilds, final %+v", r.checks.Load(), rebuilds.Load(), f.Stats())
}
