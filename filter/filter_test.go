package filter

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bits-and-blooms/bloom/v3"
)

// key returns the i-th test key in a namespace, shaped like a contact key.
func key(ns string, i int) []byte {
	return []byte("e:" + ns + strconv.Itoa(i) + "@example.com")
}

// mustContain fails the test for every key in [from, to) of ns that f
// does not report present.
func mustContain(t *testing.T, f *Filter, ns string, from, to int) {
	t.Helper()
	missed := 0
	for i := from; i < to; i++ {
		if !f.MayContain(key(ns, i)) {
			if missed < 5 {
				t.Errorf("MayContain(%q) = false after Add", key(ns, i))
			}
			missed++
		}
	}
	if missed > 0 {
		t.Fatalf("%d of %d added keys missed", missed, to-from)
	}
}

func TestNewSizing(t *testing.T) {
	tests := []struct {
		name         string
		expected     uint
		fpRate       float64
		wantCapacity uint64
		wantFP       float64 // the rate the bloom filter must be sized with
	}{
		{"1M at 0.1%", 1_000_000, 0.001, 1_000_000, 0.001},
		{"10k at 1%", 10_000, 0.01, 10_000, 0.01},
		{"zero expected", 0, 0.01, DefaultCapacity, 0.01},
		{"zero rate", 5000, 0, 5000, DefaultFPRate},
		{"rate one", 5000, 1, 5000, DefaultFPRate},
		{"negative rate", 5000, -0.5, 5000, DefaultFPRate},
		{"NaN rate", 5000, math.NaN(), 5000, DefaultFPRate},
		{"tiny rate", 5000, 1e-30, 5000, MinFPRate},
		{"capped by MaxBits", 1 << 31, 0.001, uint64(MaxBits / (-math.Log(0.001) / (math.Ln2 * math.Ln2))), 0.001},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.wantCapacity > 1<<28 {
				// Only the sizing arithmetic; building a 2 GiB filter is not the point.
				f := &Filter{fpRate: tt.fpRate}
				if got := f.capacityFor(uint64(tt.expected)); got != tt.wantCapacity {
					t.Fatalf("capacityFor(%d) = %d, want %d", tt.expected, got, tt.wantCapacity)
				}
				m, _ := bloom.EstimateParameters(uint(tt.wantCapacity), tt.fpRate)
				if m > MaxBits {
					t.Fatalf("capped capacity %d still needs m = %d > MaxBits", tt.wantCapacity, m)
				}
				return
			}
			st := New(tt.expected, tt.fpRate).Stats()
			m, k := bloom.EstimateParameters(uint(tt.wantCapacity), tt.wantFP)
			want := Stats{Capacity: tt.wantCapacity, Bits: uint64(m), K: uint64(k), FillRatio: 0, EstimatedFPRate: 0}
			if st != want {
				t.Fatalf("Stats() = %+v, want %+v", st, want)
			}
		})
	}
}

func TestAddMayContain(t *testing.T) {
	for _, foldLimit := range []int{0, 1, 7, 100} {
		t.Run(fmt.Sprintf("foldLimit=%d", foldLimit), func(t *testing.T) {
			f := New(2000, 0.001)
			f.foldLimit = foldLimit
			if f.MayContain(key("a", 0)) {
				t.Fatal("empty filter reports a key present")
			}
			for i := range 1000 {
				f.Add(key("a", i))
				if !f.MayContain(key("a", i)) {
					t.Fatalf("MayContain(%q) = false right after Add", key("a", i))
				}
			}
			mustContain(t, f, "a", 0, 1000)
			st := f.Stats()
			// A false positive among the 1000 is skipped, not counted.
			if st.Count > 1000 || st.Count < 995 {
				t.Fatalf("Count = %d after 1000 distinct Adds", st.Count)
			}
			for i := range 1000 { // again: nothing new
				f.Add(key("a", i))
			}
			if got := f.Stats().Count; got != st.Count {
				t.Fatalf("Count went from %d to %d on re-adding the same keys", st.Count, got)
			}
		})
	}
}

func TestEmptyAndBinaryKeys(t *testing.T) {
	f := New(100, 0.01)
	keys := [][]byte{nil, {0}, {0, 0}, {0xff, 0, 0xfe}, make([]byte, 1000)}
	for _, k := range keys {
		f.Add(k)
	}
	for _, k := range keys {
		if !f.MayContain(k) {
			t.Errorf("MayContain(%x) = false after Add", k)
		}
	}
}

// stopClock makes f's clock stand still, so that only a full recent set
// makes Add fold, and returns a function that moves the clock on by d.
func stopClock(f *Filter) (advance func(d time.Duration)) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.now = func() time.Time { return now }
	f.lastFold = now
	return func(d time.Duration) { now = now.Add(d) }
}

func TestAddDoesNotRetainKey(t *testing.T) {
	f := New(100, 0.01)
	stopClock(f) // keep the key in the recent set, which copies it
	buf := []byte("e:ann@example.com")
	f.Add(buf)
	copy(buf, "e:bob@example.com")
	if f.cur.Load().recent == nil {
		t.Fatal("the key was folded: the test no longer tests the recent set")
	}
	if !f.MayContain([]byte("e:ann@example.com")) {
		t.Fatal("key lost after the caller reused its buffer")
	}
}

// TestFoldTiming checks when Add folds: at once for a key arriving long
// after the last fold, otherwise when the recent set is full.
func TestFoldTiming(t *testing.T) {
	f := New(1000, 0.001)
	f.foldLimit = 10
	advance := stopClock(f)
	interval := foldInterval(&f.cur.Load().bf)
	if interval != time.Millisecond {
		t.Fatalf("foldInterval = %v for a tiny filter, want the 1ms floor", interval)
	}
	recent := func() int {
		if r := f.cur.Load().recent; r != nil {
			return len(r.keys)
		}
		return 0
	}
	for i := range 9 {
		f.Add(key("burst", i))
		advance(interval / 20)
	}
	if got := recent(); got != 9 {
		t.Fatalf("%d recent keys after a quick burst of 9, want 9 (no fold yet)", got)
	}
	f.Add(key("burst", 9))
	if got := recent(); got != 0 {
		t.Fatalf("%d recent keys after the 10th, want 0: the set was full", got)
	}
	f.Add(key("late", 0)) // soon after that fold: waits
	if got := recent(); got != 1 {
		t.Fatalf("%d recent keys, want 1", got)
	}
	advance(interval)
	f.Add(key("late", 1)) // the interval has passed: folds both
	if got := recent(); got != 0 {
		t.Fatalf("%d recent keys after an Add one interval later, want 0", got)
	}
	mustContain(t, f, "burst", 0, 10)
	mustContain(t, f, "late", 0, 2)

	big := New(1_000_000, 0.001)
	if got := foldInterval(&big.cur.Load().bf); got < 50*time.Millisecond || got > 150*time.Millisecond {
		t.Fatalf("foldInterval = %v for a 1.7 MiB filter, want about 90ms", got)
	}
}

// TestFoldIdle checks that the last keys of a burst do not stay in the
// recent set once the burst is over: MayContain would ask it forever.
func TestFoldIdle(t *testing.T) {
	f := New(1000, 0.001)
	f.Add(key("burst", 0)) // long after the (zero) last fold: folded at once
	f.Add(key("burst", 1)) // right after it: waits in the recent set
	if f.cur.Load().recent == nil {
		t.Fatal("the second key was folded at once: the test no longer tests the idle fold")
	}
	deadline := time.Now().Add(5 * time.Second)
	for f.cur.Load().recent != nil {
		if time.Now().After(deadline) {
			t.Fatal("the recent set was not folded 5s after the last Add")
		}
		time.Sleep(time.Millisecond)
	}
	mustContain(t, f, "burst", 0, 2)
}

// TestFalsePositiveRate measures the false-positive rate of full filters and
// checks it against the target and against Stats' estimate.
func TestFalsePositiveRate(t *testing.T) {
	tests := []struct {
		n      int
		fpRate float64
		probes int
	}{
		{50_000, 0.01, 200_000},
		{50_000, 0.001, 400_000},
		{20_000, 0.05, 100_000},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("n=%d,p=%g", tt.n, tt.fpRate), func(t *testing.T) {
			f := New(uint(tt.n), tt.fpRate)
			for i := range tt.n {
				f.Add(key("in", i))
			}
			fp := 0
			for i := range tt.probes {
				if f.MayContain(key("out", i)) {
					fp++
				}
			}
			measured := float64(fp) / float64(tt.probes)
			// bloom/v3 rounds m and k up, so the real rate sits a little below
			// the target; allow for that and for sampling noise.
			if measured > 1.3*tt.fpRate || measured < 0.5*tt.fpRate {
				t.Errorf("measured false-positive rate %.5f, target %g", measured, tt.fpRate)
			}
			st := f.Stats()
			if math.Abs(st.EstimatedFPRate-measured) > 0.3*tt.fpRate {
				t.Errorf("Stats().EstimatedFPRate = %.5f, measured %.5f", st.EstimatedFPRate, measured)
			}
			if st.FillRatio < 0.4 || st.FillRatio > 0.6 {
				t.Errorf("FillRatio = %.3f for a filter filled to capacity, want about 0.5", st.FillRatio)
			}
		})
	}
}

// TestStatsFill checks the fill ratio Stats estimates from the count against
// the bits actually set, and that Rebuild and WriteSnapshot make it exact.
func TestStatsFill(t *testing.T) {
	f := New(10_000, 0.01)
	f.foldLimit = 100
	exact := func() float64 {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.foldLocked()
		bf := f.cur.Load().bf
		return float64(bf.BitSet().Count()) / float64(bf.Cap())
	}
	for _, n := range []int{100, 1000, 5000, 10_000} {
		for i := range n {
			f.Add(key("k", i))
		}
		if got, want := f.Stats().FillRatio, exact(); math.Abs(got-want) > 0.01 {
			t.Errorf("after %d keys: estimated FillRatio %.4f, bits say %.4f", n, got, want)
		}
	}
	if err := f.Rebuild(t.Context(), 20_000, keysSource("k", 0, 10_000)); err != nil {
		t.Fatal(err)
	}
	if got, want := f.Stats().FillRatio, exact(); got != want {
		t.Errorf("after Rebuild: FillRatio %v, bits say %v", got, want)
	}
	for i := range 500 {
		f.Add(key("more", i))
	}
	if _, err := f.WriteSnapshot(io.Discard, nil); err != nil {
		t.Fatal(err)
	}
	if got, want := f.Stats().FillRatio, exact(); got != want {
		t.Errorf("after WriteSnapshot: FillRatio %v, bits say %v", got, want)
	}
}

func TestNeedsRebuild(t *testing.T) {
	tests := []struct {
		name     string
		capacity uint
		adds     int
		stale    uint64
		want     bool
	}{
		{"empty", 1000, 0, 0, false},
		{"at capacity", 1000, 1000, 0, false},
		{"over capacity", 1000, 1100, 0, true},
		{"stale under floor", 100_000, 1000, staleFloor, false},
		{"stale over floor, small count", 100_000, 1000, staleFloor + 1, true},
		{"stale under 10%", 100_000, 10_000, 999, false},
		{"stale over 10%", 100_000, 10_000, 1010, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := New(tt.capacity, 1e-6) // low rate: no false positives in the count
			for i := range tt.adds {
				f.Add(key("k", i))
			}
			f.NoteStale(tt.stale)
			if got := f.NeedsRebuild(); got != tt.want {
				t.Fatalf("NeedsRebuild() = %v with %+v, want %v", got, f.Stats(), tt.want)
			}
		})
	}
}

// writerNS is the key namespace of writer w in the concurrency tests, and
// writerKey its i-th key.
func writerNS(w int) string     { return "w" + strconv.Itoa(w) + "-" }
func writerKey(w, i int) []byte { return key(writerNS(w), i) }

// readers keeps goroutines checking, until stopped, that f reports present
// keys whose Add has returned: for a random writer w, the last of the
// added[w] keys it has added and a random earlier one.
type readers struct {
	stop      chan struct{}
	wg        sync.WaitGroup
	checks    atomic.Int64
	misses    atomic.Int64
	firstMiss atomic.Value
}

func startReaders(f *Filter, n int, added []atomic.Int64) *readers {
	r := &readers{stop: make(chan struct{})}
	for g := range n {
		r.wg.Go(func() {
			rnd := rand.New(rand.NewPCG(uint64(g), 1))
			for {
				select {
				case <-r.stop:
					return
				default:
				}
				w := rnd.IntN(len(added))
				// Loaded before MayContain starts: these Adds have returned.
				if n := added[w].Load(); n > 0 {
					r.check(f, writerKey(w, int(n-1)))
					r.check(f, writerKey(w, rnd.IntN(int(n))))
				}
			}
		})
	}
	return r
}

func (r *readers) check(f *Filter, k []byte) {
	r.checks.Add(1)
	if !f.MayContain(k) {
		r.misses.Add(1)
		r.firstMiss.CompareAndSwap(nil, string(k))
	}
}

// finish stops the readers and fails t if any check missed.
func (r *readers) finish(t *testing.T) {
	t.Helper()
	close(r.stop)
	r.wg.Wait()
	if n := r.misses.Load(); n > 0 {
		t.Fatalf("%d of %d checks missed a key whose Add had returned (first: %v)", n, r.checks.Load(), r.firstMiss.Load())
	}
	if r.checks.Load() == 0 {
		t.Fatal("no checks ran")
	}
}

// TestConcurrentAddMayContain runs writers and readers together (under -race
// this also checks that no published bloom filter is ever written). Every
// key a writer has finished adding must be found by every reader.
func TestConcurrentAddMayContain(t *testing.T) {
	const writers, perWriter = 4, 3000
	f := New(writers*perWriter/2, 1e-9) // goes over capacity; rate kept low so a miss shows
	f.foldLimit = 64
	added := make([]atomic.Int64, writers) // keys [0, added[w]) of writer w: Add returned
	r := startReaders(f, 4, added)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				f.Add(writerKey(w, i))
				added[w].Store(int64(i + 1))
			}
		})
	}
	wg.Wait()
	r.finish(t)
	for w := range writers {
		mustContain(t, f, writerNS(w), 0, perWriter)
	}
}

func TestRecentSet(t *testing.T) {
	tests := []struct {
		limit  int
		fpRate float64
	}{
		{1024, 1e-4},
		{100, 1e-3},
		{64, 1e-10},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("limit=%d,p=%g", tt.limit, tt.fpRate), func(t *testing.T) {
			r := newRecentSet(tt.limit, tt.fpRate)
			for i := range tt.limit {
				if r.full() {
					t.Fatalf("full after %d of %d keys", i, tt.limit)
				}
				r.insert(key("in", i))
			}
			if !r.full() {
				t.Fatal("not full at the limit")
			}
			for i := range tt.limit {
				if !r.mayContain(key("in", i)) || !r.has(key("in", i)) {
					t.Fatalf("inserted key %d not found", i)
				}
			}
			const probes = 200_000
			fp := 0
			for i := range probes {
				if r.mayContain(key("out", i)) {
					fp++
				}
				if r.has(key("out", i)) {
					t.Fatalf("has(%q) = true for a key never inserted", key("out", i))
				}
			}
			// Expect at most fpRate, with room for sampling noise.
			if limit := 2*tt.fpRate*probes + 5; float64(fp) > limit {
				t.Errorf("%d false positives in %d probes, want about %g at most", fp, probes, tt.fpRate*probes)
			}
		})
	}
}

// TestAddIgnoresRecentFalsePositives checks that Add decides "already
// present" on exact grounds: a key the recent set's bits merely say may be
// there must still reach the next fold.
func TestAddIgnoresRecentFalsePositives(t *testing.T) {
	f := New(1000, 1e-6)
	stopClock(f)
	f.Add(key("k", 0))
	r := f.cur.Load().recent
	for i := range r.bits {
		r.bits[i].Store(^uint64(0)) // every key now looks present to readers
	}
	f.Add(key("k", 1))
	if !r.has(key("k", 1)) {
		t.Fatal("Add skipped a key on a false positive of the recent set")
	}
	f.mu.Lock()
	f.foldLocked()
	f.mu.Unlock()
	if s := f.cur.Load(); s.recent != nil || !s.bf.Test(key("k", 1)) {
		t.Fatal("the key is not in the folded bloom filter")
	}
	if got := f.Stats().Count; got != 2 {
		t.Fatalf("Count = %d, want 2", got)
	}
}

// TestAddAll checks the batch path: a big batch lands in one new bloom
// filter with the recent keys folded in, counts only new keys, and is not
// lost to a Rebuild running meanwhile; a small batch goes through Add.
func TestAddAll(t *testing.T) {
	f := New(100_000, 0.001)
	f.foldLimit = 100
	stopClock(f) // keep single Adds in the recent set
	f.Add(key("one", 0))
	f.Add(key("one", 1)) // in the recent set now
	batch := func(ns string, n int) [][]byte {
		var ks [][]byte
		for i := range n {
			ks = append(ks, key(ns, i))
		}
		return ks
	}
	f.AddAll(batch("small", 10)) // under the fold limit: Add one by one
	if f.cur.Load().recent == nil {
		t.Fatal("a small batch was folded: it should go through the recent set")
	}
	big := batch("big", 1000)
	big = append(big, key("big", 3), key("one", 1)) // a repeat, and a recent key
	f.AddAll(big)
	if f.cur.Load().recent != nil {
		t.Fatal("a big batch left a recent set: it should publish one new bloom filter")
	}
	mustContain(t, f, "one", 0, 2)
	mustContain(t, f, "small", 0, 10)
	mustContain(t, f, "big", 0, 1000)
	if got := f.Stats().Count; got < 1000 || got > 1012 { // false positives aside: 2 + 10 + 1000
		t.Fatalf("Count = %d after 1,012 distinct keys (and 2 repeats)", got)
	}

	// A batch added while a Rebuild runs is in the rebuilt filter.
	started, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- f.Rebuild(t.Context(), 100_000, func(ctx context.Context, add func([]byte)) error {
			close(started)
			<-release
			return keysSource("src", 0, 10)(ctx, add)
		})
	}()
	<-started
	f.AddAll(batch("during", 1000))
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mustContain(t, f, "during", 0, 1000)
	mustContain(t, f, "src", 0, 10)
}
