package filter

import (
	"bytes"
	"hash/maphash"
	"math/bits"
	"sync/atomic"
)

// recentSet holds the keys added since the current bloom filter was built:
// an insert-only open-addressing hash table whose slots are atomic pointers.
// One writer (holding Filter.mu) inserts; any number of readers look up
// without locks. A slot, once filled, never changes, so a reader that sees
// a key sees all of it. Inserting is O(1): unlike a copy-on-write map, no
// Add copies the set.
type recentSet struct {
	seed  maphash.Seed
	slots []atomic.Pointer[recentKey] // power-of-two length, at most half full
	n     int                         // filled slots; written by the writer only
	limit int                         // fold when n reaches limit
}

type recentKey struct {
	hash uint64
	key  []byte
}

// newRecentSet returns an empty set that reports full after limit keys.
func newRecentSet(limit int) *recentSet {
	size := 1 << bits.Len(uint(2*limit-1)) // ≥ 2*limit: load factor ≤ 1/2
	return &recentSet{
		seed:  maphash.MakeSeed(),
		slots: make([]atomic.Pointer[recentKey], size),
		limit: limit,
	}
}

// contains reports whether key was inserted. Safe concurrently with insert.
func (r *recentSet) contains(key []byte) bool {
	h := maphash.Bytes(r.seed, key)
	mask := uint64(len(r.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		e := r.slots[i].Load()
		if e == nil {
			return false
		}
		if e.hash == h && bytes.Equal(e.key, key) {
			return true
		}
	}
}

// insert adds a copy of key, which must not be present. Writer only.
func (r *recentSet) insert(key []byte) {
	e := &recentKey{hash: maphash.Bytes(r.seed, key), key: bytes.Clone(key)}
	mask := uint64(len(r.slots) - 1)
	i := e.hash & mask
	for r.slots[i].Load() != nil {
		i = (i + 1) & mask
	}
	r.slots[i].Store(e)
	r.n++
}

// full reports whether the set has reached its limit. Writer only.
func (r *recentSet) full() bool { return r.n >= r.limit }

// each calls fn for every key. Writer only.
func (r *recentSet) each(fn func(key []byte)) {
	for i := range r.slots {
		if e := r.slots[i].Load(); e != nil {
			fn(e.key)
		}
	}
}
