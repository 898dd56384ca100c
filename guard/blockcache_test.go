package guard_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sendguard/sendguard/guard"
	"github.com/sendguard/sendguard/internal/testclock"
	"github.com/sendguard/sendguard/normalize"
	"github.com/sendguard/sendguard/storage"
)

// cachedCheck checks r twice and fails unless the second answer came from
// the blocked cache (CacheHits went up) and both agree.
func cachedCheck(t *testing.T, g *guard.Guard, r string) guard.Verdict {
	t.Helper()
	first := mustCheck(t, g, r)
	before := g.Stats().CacheHits
	v := mustCheck(t, g, r)
	if !first.Blocked || !v.Blocked {
		t.Fatalf("Check(%q) = %+v then %+v; want blocked twice", r, first, v)
	}
	if g.Stats().CacheHits != before+1 {
		t.Fatalf("the second Check(%q) was not answered from the cache", r)
	}
	if v != first {
		t.Fatalf("Check(%q) from the cache = %+v; from the store %+v", r, v, first)
	}
	return v
}

// TestBlockedCache_EveryWriteInvalidates caches a block, then changes it
// through each write path and checks that the next Check sees the change:
// the cache never answers "blocked" for an unblocked contact, nor with a
// block's old terms.
func TestBlockedCache_EveryWriteInvalidates(t *testing.T) {
	ctx := t.Context()
	clk := testclock.New()
	g := openGuard(t, t.TempDir(), guard.WithClock(clk.Now))
	repl := g.Replication()
	norm := g.Normalizer()
	contact := func(r string) normalize.Contact {
		c, err := norm.Parse(r)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	allowed := func(what, r string) {
		t.Helper()
		if v := mustCheck(t, g, r); v.Blocked {
			t.Fatalf("after %s, Check(%q) = blocked (%+v)", what, r, v)
		}
	}

	mustBlock(t, g, "a@example.com", "x")
	cachedCheck(t, g, "a@example.com")
	if ok, err := g.Unblock(ctx, "a@example.com"); !ok || err != nil {
		t.Fatalf("Unblock = %v, %v", ok, err)
	}
	allowed("Unblock", "a@example.com")

	mustBlock(t, g, "b@example.com", "x")
	cachedCheck(t, g, "b@example.com")
	if _, err := repl.Apply(ctx, storage.Record{Op: storage.OpUnblock, Contact: contact("b@example.com"), Origin: "peer"}); err != nil {
		t.Fatal(err)
	}
	allowed("an applied unblock", "b@example.com")

	mustBlock(t, g, "c@example.com", "x", guard.WithSource("sms"))
	cachedCheck(t, g, "c@example.com")
	if ok, err := g.UnblockContactIfSource(ctx, contact("c@example.com"), "sms"); !ok || err != nil {
		t.Fatalf("UnblockContactIfSource = %v, %v", ok, err)
	}
	allowed("UnblockContactIfSource", "c@example.com")

	// Expiry is not a write: the cached block carries its ExpiresAt.
	mustBlock(t, g, "d@example.com", "x", guard.WithExpiry(time.Hour))
	cachedCheck(t, g, "d@example.com")
	clk.Advance(time.Hour)
	allowed("the block expired", "d@example.com")
	// An import after the expiry writes a new block; the next check
	// shows the new one, not the lapsed one.
	if _, err := g.Import(ctx, []string{"d@example.com"}, "imported"); err != nil {
		t.Fatal(err)
	}
	if v := cachedCheck(t, g, "d@example.com"); v.Reason != "imported" || !v.ExpiresAt.IsZero() {
		t.Fatalf("after the import: %+v", v)
	}

	// A longer block replaces the cached one.
	mustBlock(t, g, "e@example.com", "short", guard.WithExpiry(time.Hour))
	cachedCheck(t, g, "e@example.com")
	if _, err := repl.Apply(ctx, storage.Record{Op: storage.OpBlock, Contact: contact("e@example.com"),
		Reason: "long", Origin: "peer"}); err != nil {
		t.Fatal(err)
	}
	if v := cachedCheck(t, g, "e@example.com"); v.Reason != "long" || !v.ExpiresAt.IsZero() {
		t.Fatalf("after a longer applied block: %+v", v)
	}

	// A domain block, cached under the domain, and lifted.
	mustBlock(t, g, "blocked.test", "x")
	if v := cachedCheck(t, g, "f@mail.blocked.test"); v.Scope != guard.ScopeDomain {
		t.Fatalf("domain verdict %+v", v)
	}
	if ok, err := g.Unblock(ctx, "blocked.test"); !ok || err != nil {
		t.Fatalf("Unblock(domain) = %v, %v", ok, err)
	}
	allowed("the domain's unblock", "f@mail.blocked.test")
}

// TestBlockedCache_Off checks that WithBlockedCacheSize(0) turns the cache
// off: every blocked check reads the store.
func TestBlockedCache_Off(t *testing.T) {
	g := openGuard(t, t.TempDir(), guard.WithBlockedCacheSize(0))
	mustBlock(t, g, "a@example.com", "x")
	for range 3 {
		if !mustCheck(t, g, "a@example.com").Blocked {
			t.Fatal("not blocked")
		}
	}
	if st := g.Stats(); st.CacheHits != 0 || st.Blocked != 3 {
		t.Fatalf("CacheHits %d, Blocked %d; want 0, 3", st.CacheHits, st.Blocked)
	}
}

// TestBlockedCache_NeverWrongUnderConcurrency is the cache's promise under
// -race: while a writer blocks, unblocks, reblocks, applies changes and
// lets blocks expire (a fake clock), checkers check the same contacts over
// and over, and every check that ran entirely while a contact's state
// stood still answers that state — never "allowed" for a blocked contact,
// never "blocked" for an unblocked one.
func TestBlockedCache_NeverWrongUnderConcurrency(t *testing.T) {
	ctx := t.Context()
	var clock atomic.Int64 // the fake clock, ns since the epoch; only moves forward
	clock.Store(time.Now().UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	// A small cache, so that fills also evict.
	g := openGuard(t, t.TempDir(), guard.WithClock(now), guard.WithBlockedCacheSize(4))
	repl := g.Replication()

	// Each subject is a contact the writer changes and the inputs the
	// checkers check; the domain's input is an email under it.
	type subject struct {
		target string // what the writer blocks
		input  string // what the checkers check
		ver    atomic.Uint64
		state  atomic.Bool // blocked; meaningful while ver is even
	}
	subjects := []*subject{
		{target: "a@example.com", input: "a@example.com"},
		{target: "b@example.com", input: "B@Example.com"},
		{target: "+12025550101", input: "(202) 555-0101"},
		{target: "c@example.com", input: "c@example.com"},
		{target: "blocked.test", input: "x@mail.blocked.test"},
	}
	// change brackets one change of s: ver odd while it may be under way.
	change := func(s *subject, blocked bool, do func() error) {
		s.ver.Add(1)
		if err := do(); err != nil {
			t.Error(err)
		}
		s.state.Store(blocked)
		s.ver.Add(1)
	}

	var (
		stop                        atomic.Bool
		wrong, verifiedB, verifiedA atomic.Int64
		wg                          sync.WaitGroup
	)
	for w := range 4 {
		wg.Go(func() {
			for i := w; !stop.Load(); i++ {
				s := subjects[i%len(subjects)]
				v1 := s.ver.Load()
				want := s.state.Load()
				v, err := g.Check(ctx, s.input)
				if s.ver.Load() != v1 || v1%2 == 1 {
					continue // the state moved during the check: either answer is right
				}
				if err != nil {
					t.Errorf("Check(%q): %v", s.input, err)
					continue
				}
				if v.Blocked != want {
					wrong.Add(1)
					t.Errorf("Check(%q) = blocked %v while it stood %v", s.input, v.Blocked, want)
				} else if want {
					verifiedB.Add(1)
				} else {
					verifiedA.Add(1)
				}
			}
		})
	}

	norm := g.Normalizer()
	for round := range 30 {
		for i, s := range subjects {
			c, err := norm.Parse(s.target)
			if err != nil {
				t.Fatal(err)
			}
			switch (round + i) % 4 {
			case 0: // block, unblock
				change(s, true, func() error { _, err := g.Block(ctx, s.target, "x"); return err })
				time.Sleep(200 * time.Microsecond)
				change(s, false, func() error { _, err := g.Unblock(ctx, s.target); return err })
			case 1: // applied block and unblock, as a fleet member's
				change(s, true, func() error {
					_, err := repl.Apply(ctx, storage.Record{Op: storage.OpBlock, Contact: c, Origin: "peer"})
					return err
				})
				time.Sleep(200 * time.Microsecond)
				change(s, false, func() error {
					_, err := repl.Apply(ctx, storage.Record{Op: storage.OpUnblock, Contact: c, Origin: "peer"})
					return err
				})
			case 2: // a block that expires
				change(s, true, func() error {
					_, err := g.Block(ctx, s.target, "x", guard.WithExpiresAt(now().Add(time.Hour)))
					return err
				})
				time.Sleep(200 * time.Microsecond)
				change(s, false, func() error { clock.Add(int64(2 * time.Hour)); return nil })
			case 3: // import, then unblock
				change(s, true, func() error { _, err := g.Import(ctx, []string{s.target}, "x"); return err })
				time.Sleep(200 * time.Microsecond)
				change(s, false, func() error { _, err := g.Unblock(ctx, s.target); return err })
			}
			time.Sleep(200 * time.Microsecond)
		}
	}
	stop.Store(true)
	wg.Wait()
	st := g.Stats()
	t.Logf("verified %d blocked and %d allowed answers; %d cache hits; %d wrong",
		verifiedB.Load(), verifiedA.Load(), st.CacheHits, wrong.Load())
	if verifiedB.Load() == 0 || verifiedA.Load() == 0 || st.CacheHits == 0 {
		t.Fatalf("the test did not exercise the cache: %d blocked, %d allowed verified, %d hits",
			verifiedB.Load(), verifiedA.Load(), st.CacheHits)
	}
}
