package guard

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/sendguard/sendguard/normalize"
	"github.com/sendguard/sendguard/storage"
)

// DefaultBlockedCacheSize is the number of confirmed blocks the guard keeps
// in memory by default (see [WithBlockedCacheSize]).
const DefaultBlockedCacheSize = 16384

// blockedCache keeps recently confirmed blocks, so that a recipient checked
// again (a campaign's next message, a retry) is answered without a store
// read. It holds blocks only: an allowed answer never comes from it.
//
// Correctness rests on two rules. Every write path invalidates the keys it
// changes after its store write (put, remove, import, the if-source
// unblock): a removed or changed block leaves the cache before the writer
// returns. And a check fills the cache only if no invalidation has happened
// since before its store read began (gen, compared and the fill made under
// mu, which invalidations hold too): a check that read a block just before
// it was removed cannot put it back after the removal invalidated it. An
// expiry is not a write: a cached block whose ExpiresAt has passed, by the
// guard's clock or by the real one (Badger's TTL runs on it), is a miss.
type blockedCache struct {
	lru  *lru.Cache[uint64, *cachedBlock] // keyed by a hash of the contact key
	seed maphash.Seed
	mu   sync.Mutex    // orders fills against invalidations
	gen  atomic.Uint64 // invalidations so far
	hits counter
}

// cachedBlock is one confirmed block: the contact it is for (the hash may
// collide; the contact's Value is the checked input's own string, not a
// copy) and the entry's fields a verdict shows.
type cachedBlock struct {
	contact              normalize.Contact
	reason, source       string
	createdAt, expiresAt time.Time
}

// newBlockedCache returns a cache of size blocks, or nil (no cache) when
// size <= 0.
func newBlockedCache(size int) *blockedCache {
	if size <= 0 {
		return nil
	}
	l, err := lru.New[uint64, *cachedBlock](size)
	if err != nil {
		return nil // unreachable: size > 0
	}
	return &blockedCache{lru: l, seed: maphash.MakeSeed()}
}

func (bc *blockedCache) hash(key []byte) uint64 { return maphash.Bytes(bc.seed, key) }

// get returns the cached block on c, whose key hashes to h, if there is
// one and it has not expired at now (nor in real time). It does not
// allocate.
func (bc *blockedCache) get(h uint64, c normalize.Contact, now func() time.Time) (*cachedBlock, bool) {
	cb, ok := bc.lru.Get(h)
	if !ok || cb.contact != c {
		return nil, false
	}
	if !cb.expiresAt.IsZero() && (!cb.expiresAt.After(now()) || !cb.expiresAt.After(time.Now())) {
		return nil, false
	}
	bc.hits.inc()
	return cb, true
}

// begin returns the generation a check must see unchanged to fill the
// cache with what it reads next. Call it before the store read.
func (bc *blockedCache) begin() uint64 { return bc.gen.Load() }

// fill caches e, the live block on c (whose key hashes to h) the store
// returned, unless an invalidation has happened since gen.
func (bc *blockedCache) fill(gen, h uint64, c normalize.Contact, e *storage.Entry) {
	cb := &cachedBlock{
		contact:   c,
		reason:    e.Reason,
		source:    e.Source,
		createdAt: e.CreatedAt,
		expiresAt: e.ExpiresAt,
	}
	bc.mu.Lock()
	if bc.gen.Load() == gen {
		bc.lru.Add(h, cb)
	}
	bc.mu.Unlock()
}

// invalidate drops the blocks on keys. Call it after the store write that
// changed them.
func (bc *blockedCache) invalidate(keys ...[]byte) {
	bc.mu.Lock()
	bc.gen.Add(1)
	for _, k := range keys {
		bc.lru.Remove(bc.hash(k))
	}
	bc.mu.Unlock()
}

// invalidateAll drops every block; for bulk writes.
func (bc *blockedCache) invalidateAll() {
	bc.mu.Lock()
	bc.gen.Add(1)
	bc.lru.Purge()
	bc.mu.Unlock()
}
