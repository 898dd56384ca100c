package filter

import (
	"hash/maphash"
	"math"
	"math/bits"
	"sync/atomic"
)

// recentSet holds the keys added since the current bloom filter was built,
// until the next fold copies them into a new one. Readers ask a small bloom
// filter of its own whose bits are atomic words: set by the one writer
// (holding Filter.mu), read without locks. Its few bits per key stay in the
// CPU cache, and an absent key usually costs one hash and one load. The keys
// themselves are kept, exactly, for Add and the fold, where only the writer
// looks.
type recentSet struct {
	seed  maphash.Seed
	bits  []atomic.Uint64     // power-of-two number of words
	keys  map[string]struct{} // writer only
	limit int                 // fold when len(keys) reaches limit
}

// recentK is the number of bits set per key in a recentSet.
const recentK = 3

// maxRecentBits bounds a recentSet's bit array (1 MiB) whatever the rate.
const maxRecentBits = 1 << 23

// newRecentSet returns an empty set that reports full after limit keys, and
// whose false-positive rate when full is at most fpRate (the rate is raised
// rather than let the bits pass maxRecentBits).
func newRecentSet(limit int, fpRate float64) *recentSet {
	// With k = 3 hashes and n keys in m bits the rate is (1 − e^(−3n/m))³.
	perKey := -recentK / math.Log1p(-math.Cbrt(fpRate))
	m := min(max(64, uint64(perKey*float64(limit))), maxRecentBits)
	m = 1 << bits.Len64(m-1) // a power of two: masks, not divisions
	return &recentSet{
		seed:  maphash.MakeSeed(),
		bits:  make([]atomic.Uint64, m/64),
		keys:  make(map[string]struct{}),
		limit: limit,
	}
}

// locations returns the recentK bit positions of a key with hash h: double
// hashing (h1 + i·h2) over the two halves of h.
func (r *recentSet) locations(h uint64) (mask, h1, h2 uint64) {
	return uint64(len(r.bits))*64 - 1, h, h>>32 | 1
}

// mayContain reports whether key may have been inserted. Safe concurrently
// with insert; false positives are possible, false negatives are not.
func (r *recentSet) mayContain(key []byte) bool {
	mask, h1, h2 := r.locations(maphash.Bytes(r.seed, key))
	for i := range uint64(recentK) {
		loc := (h1 + i*h2) & mask
		if r.bits[loc>>6].Load()&(1<<(loc&63)) == 0 {
			return false
		}
	}
	return true
}

// has reports whether key was inserted, exactly. Writer only.
func (r *recentSet) has(key []byte) bool {
	_, ok := r.keys[string(key)]
	return ok
}

// insert adds a copy of key, which must not be present. Writer only.
func (r *recentSet) insert(key []byte) {
	r.keys[string(key)] = struct{}{}
	mask, h1, h2 := r.locations(maphash.Bytes(r.seed, key))
	for i := range uint64(recentK) {
		loc := (h1 + i*h2) & mask
		r.bits[loc>>6].Or(1 << (loc & 63))
	}
}

// full reports whether the set has reached its limit. Writer only.
func (r *recentSet) full() bool { return len(r.keys) >= r.limit }
