package filter

import (
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bits-and-blooms/bloom/v3"
)

// Sizing defaults and limits. See the package documentation, section Sizing.
const (
	// DefaultCapacity is the capacity used when New or Rebuild is given an
	// expected count of 0 and nothing better is known.
	DefaultCapacity = 1024
	// DefaultFPRate is the false-positive target used when New is given a
	// rate outside (0, 1).
	DefaultFPRate = 0.001
	// MinFPRate is the smallest false-positive target honoured; smaller
	// targets are raised to it (it already needs k = 40 hash functions).
	MinFPRate = 1e-12
	// MaxBits is the largest filter, in bits (2 GiB of memory). New lowers
	// the capacity so that the filter fits; ReadSnapshot refuses larger ones.
	MaxBits = 1 << 34
	// MaxCapacity is the largest capacity, in keys, New and Rebuild use and
	// ReadSnapshot accepts.
	MaxCapacity = 1 << 40
)

// Staleness thresholds for NeedsRebuild: the stale count must pass both
// staleFraction of the count and staleFloor.
const (
	staleFraction = 0.10
	staleFloor    = 128
)

// Filter is a bloom filter over key bytes (canonical contact keys, see
// package normalize) that never forgets a key it was given: no false
// negatives, also under concurrency and across rebuilds.
//
// A Filter is safe for concurrent use by any number of goroutines.
// MayContain never blocks and never allocates; Add, NoteStale, Stats,
// NeedsRebuild and WriteSnapshot briefly take an internal writer lock;
// Rebuild does its long work outside that lock. The zero Filter is not
// usable: create one with New or ReadSnapshot.
type Filter struct {
	// cur is the published state. Readers load it and use it without locks:
	// everything it points to is immutable once published, except the
	// atomic bits of its recent set.
	cur atomic.Pointer[state]

	fpRate float64 // fixed for the Filter's life

	mu       sync.Mutex // guards the fields below and every write to cur
	capacity uint64     // keys the current bloom filter was sized for
	count    uint64     // keys added (Adds of keys already reported present are not counted)
	// The fill ratio is known exactly when a filter is built by Rebuild or
	// read from a snapshot (setBits bits set at count countAtSetBits) and
	// estimated from the keys added since: counting bits is O(m).
	setBits        uint64
	countAtSetBits uint64
	stale          uint64 // NoteStale total since the current filter was built
	rebuilds       uint64
	lastRebuild    time.Time
	pending        [][]byte // non-nil while a Rebuild runs: keys Added since it started
	lastFold       time.Time
	foldArmed      bool             // a foldIdle is scheduled
	foldLimit      int              // recent-set size that triggers a fold; 0 = derived from m
	now            func() time.Time // nil = time.Now; tests replace it

	// rebuildSem serializes Rebuild calls; a channel rather than a mutex so
	// that a waiting Rebuild can give up when its context ends.
	rebuildSem chan struct{}
}

// state is one immutable generation of the filter. bf is never written after
// the state is published (bloom/v3 sets bits with a plain read-modify-write, so
// writing a published filter could lose bits); keys added since bf was built
// live in recent until the next fold.
type state struct {
	bf     bloom.BloomFilter // by value: one pointer fewer to chase in MayContain
	recent *recentSet        // nil when empty, so the common case costs one nil check
}

// New returns an empty Filter sized for expected keys at the false-positive
// rate fpRate. expected 0 means DefaultCapacity; fpRate outside (0, 1) (or
// NaN) means DefaultFPRate, and rates below MinFPRate are raised to it. The
// capacity is lowered if the filter would exceed MaxBits.
func New(expected uint, fpRate float64) *Filter {
	if !(fpRate > 0 && fpRate < 1) {
		fpRate = DefaultFPRate
	}
	fpRate = max(fpRate, MinFPRate)
	f := &Filter{fpRate: fpRate, rebuildSem: make(chan struct{}, 1)}
	capacity := f.capacityFor(uint64(expected))
	f.capacity = capacity
	f.cur.Store(&state{bf: *f.newBloom(capacity)})
	return f
}

// capacityFor turns a requested capacity into the one New and Rebuild use:
// 0 means DefaultCapacity, and a capacity above MaxCapacity, or whose filter
// would pass MaxBits, is lowered to the largest that fits.
func (f *Filter) capacityFor(expected uint64) uint64 {
	if expected == 0 {
		expected = DefaultCapacity
	}
	bitsPerKey := -math.Log(f.fpRate) / (math.Ln2 * math.Ln2)
	return min(expected, MaxCapacity, uint64(MaxBits/bitsPerKey))
}

// newBloom returns an empty bloom filter for capacity keys at f's rate.
func (f *Filter) newBloom(capacity uint64) *bloom.BloomFilter {
	return bloom.NewWithEstimates(uint(capacity), f.fpRate)
}

// MayContain reports whether key may have been added. false is certain: key
// was not Added (since the last Rebuild began, if any) and was not yielded by
// that Rebuild's source. true may be a false positive. MayContain does not
// block, does not allocate, and does not retain key.
func (f *Filter) MayContain(key []byte) bool {
	s := f.cur.Load()
	return s.bf.Test(key) || (s.recent != nil && s.recent.mayContain(key))
}

// Add adds key. When Add returns, every MayContain(key) that starts afterwards
// reports true, whatever Rebuild does concurrently. key is copied, not retained.
// A key the filter already reports present (including a false positive) is
// not added again and not counted.
func (f *Filter) Add(key []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.addLocked(key)
}

// AddAll adds every key of keys, as Add does one by one. A batch of at
// least a fold's worth of keys (see foldLimitFor) goes straight into one
// new copy of the bloom filter, published once, instead of through the
// recent set and a fold every few thousand keys: a bulk import at 10M
// contacts copies the 18 MB bitset once per call, not once per 16,384
// keys. When AddAll returns, every MayContain of any of the keys that
// starts afterwards reports true. keys are copied, not retained.
func (f *Filter) AddAll(keys [][]byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.cur.Load()
	if len(keys) < f.foldLimitFor(&s.bf) {
		for _, k := range keys {
			f.addLocked(k)
		}
		return
	}
	if f.pending != nil {
		for _, k := range keys {
			f.pending = append(f.pending, append([]byte(nil), k...))
		}
	}
	bf := bloom.FromWithM(slices.Clone(s.bf.BitSet().Words()), s.bf.Cap(), s.bf.K())
	if s.recent != nil {
		for key := range s.recent.keys {
			bf.AddString(key)
		}
	}
	for _, k := range keys {
		// TestAndAdd reports the keys already present, which Add would not
		// count either (the recent keys are in bf by now).
		if !bf.TestAndAdd(k) {
			f.count++
		}
	}
	f.cur.Store(&state{bf: *bf})
	f.lastFold = f.clock()
}

// addLocked is Add with f.mu held.
func (f *Filter) addLocked(key []byte) {
	if f.pending != nil {
		// A Rebuild is building a new filter: it must learn this key even
		// if the current filter already reports it present.
		f.pending = append(f.pending, append([]byte(nil), key...))
	}
	s := f.cur.Load()
	// Exact tests only: a key skipped on a false positive of the recent set
	// would be missing from the next fold.
	if s.bf.Test(key) || (s.recent != nil && s.recent.has(key)) {
		return
	}
	f.count++
	r := s.recent
	if r == nil {
		r = newRecentSet(f.foldLimitFor(&s.bf), f.fpRate/10)
		r.insert(key)
		f.cur.Store(&state{bf: s.bf, recent: r})
	} else {
		r.insert(key)
	}
	if r.full() || f.clock().Sub(f.lastFold) >= foldInterval(&s.bf) {
		f.foldLocked()
	} else if !f.foldArmed {
		// The last keys of a burst would otherwise stay in the recent set
		// until the next Add, and every MayContain would ask it too (a
		// hash and three loads: a tenth of an allowed check). Fold them
		// once the burst has been quiet for an interval.
		f.foldArmed = true
		time.AfterFunc(foldInterval(&s.bf), f.foldIdle)
	}
}

// foldIdle folds the recent set, an interval after the Add that armed it
// deferred a fold: at most one fold per interval more than Add's own. A
// test clock (f.now) decides instead, so that tests control folds.
func (f *Filter) foldIdle() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.foldArmed = false
	s := f.cur.Load()
	if s.recent != nil && (f.now == nil || f.clock().Sub(f.lastFold) >= foldInterval(&s.bf)) {
		f.foldLocked()
	}
}

// foldInterval is how long after a fold Add waits before it folds again
// without the recent set being full: 50 ns per byte of filter (90 ms at a
// million keys), at least 1 ms. Keys added one at a time, less often than
// that, are folded at once, and the last keys of a burst an interval after
// it ends, so MayContain skips the recent set; a stream of keys spends at
// most a few percent of a core copying.
func foldInterval(bf *bloom.BloomFilter) time.Duration {
	return max(time.Millisecond, time.Duration(bf.Cap()/8)*50*time.Nanosecond)
}

// clock returns the current time (a test may replace it).
func (f *Filter) clock() time.Time {
	if f.now != nil {
		return f.now()
	}
	return time.Now()
}

// foldLimitFor returns how many recent keys to collect before folding them
// into a copy of bf. A fold copies all of bf, so bigger filters fold less
// often: about one fold per 2^15 bits of filter (2 KiB copied per recent key),
// between 1024 and 16384 keys.
func (f *Filter) foldLimitFor(bf *bloom.BloomFilter) int {
	if f.foldLimit > 0 {
		return f.foldLimit
	}
	return int(min(max(bf.Cap()>>15, 1024), 16384))
}

// foldLocked publishes a new state whose bloom filter is a copy of the current
// one with the recent keys added, and an empty recent set. f.mu must be held.
func (f *Filter) foldLocked() {
	s := f.cur.Load()
	if s.recent == nil {
		return
	}
	// A plain copy of the words: bf.Copy() would zero a new bitset and OR
	// the old one into it, twice the memory traffic.
	bf := bloom.FromWithM(slices.Clone(s.bf.BitSet().Words()), s.bf.Cap(), s.bf.K())
	for key := range s.recent.keys {
		bf.AddString(key)
	}
	f.cur.Store(&state{bf: *bf})
	f.lastFold = f.clock()
}

// Stats is a point-in-time report on a Filter.
//
// It is a plain value, safe to copy and to use from any goroutine.
type Stats struct {
	Capacity        uint64    // keys the current filter was sized for
	Count           uint64    // keys added (approximate: a key already reported present is not counted)
	Bits            uint64    // m, the size of the bloom filter in bits
	K               uint64    // number of hash functions
	FillRatio       float64   // fraction of the m bits that are set (exact after Rebuild, estimated for keys added since)
	EstimatedFPRate float64   // FillRatio^K: the false-positive rate the filter has now
	Rebuilds        uint64    // completed Rebuild calls
	LastRebuild     time.Time // end of the last completed Rebuild; zero if none
	Stale           uint64    // NoteStale total since the current filter was built
}

// Stats returns the Filter's current figures. It costs O(1): the fill ratio is
// counted exactly when the bloom filter is rebuilt or read from a snapshot, and
// estimated from the keys added since (within a fraction of a percent for
// filters of thousands of bits or more).
func (f *Filter) Stats() Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.cur.Load()
	m, k := float64(s.bf.Cap()), float64(s.bf.K())
	// Each key added since the bits were counted set about k bits, each
	// still clear with probability 1 - fill.
	fill := float64(f.setBits) / m
	if added := f.count - f.countAtSetBits; added > 0 {
		fill = 1 - (1-fill)*math.Exp(-k*float64(added)/m)
	}
	return Stats{
		Capacity:        f.capacity,
		Count:           f.count,
		Bits:            uint64(s.bf.Cap()),
		K:               uint64(s.bf.K()),
		FillRatio:       fill,
		EstimatedFPRate: math.Pow(fill, k),
		Rebuilds:        f.rebuilds,
		LastRebuild:     f.lastRebuild,
		Stale:           f.stale,
	}
}

// NoteStale records n more keys whose bits are set but should not be: keys
// removed from the source (unblocks, expiries) and confirmed false positives.
// They count towards NeedsRebuild; a Rebuild clears them.
func (f *Filter) NoteStale(n uint64) {
	f.mu.Lock()
	f.stale += n
	f.mu.Unlock()
}

// NeedsRebuild reports whether the filter should be rebuilt: more keys were
// added than it was sized for, or the stale count (see NoteStale) has passed
// 10% of the count and at least 128.
func (f *Filter) NeedsRebuild() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.count > f.capacity ||
		f.stale > max(staleFloor, uint64(staleFraction*float64(f.count)))
}
