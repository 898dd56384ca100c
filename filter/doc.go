// Package filter is sendguard's fast path: a bloom filter over canonical key
// bytes (see package normalize) that answers "certainly not blocked" in
// nanoseconds and never gives a false negative.
//
// # Overview
//
// [New] sizes a [Filter] for an expected number of keys and a false-positive
// target. [Filter.Add] adds a key; [Filter.MayContain] answers false only for
// a key that was never added; true may be a false positive, which the caller
// confirms in the exact store. [Filter.Stats] reports size, fill and the
// false-positive rate the fill implies. Bits cannot be removed from a bloom
// filter: keys that leave the store (unblocks, expiries) and confirmed false
// positives are reported with [Filter.NoteStale], and [Filter.Rebuild] builds a
// fresh filter from a [KeySource] when [Filter.NeedsRebuild] says so.
// [Filter.WriteSnapshot] and [ReadSnapshot] save and restore a filter in a
// checksummed, versioned format.
//
// The package wraps github.com/bits-and-blooms/bloom/v3 and knows nothing of
// the store: keys come in as bytes, and rebuilds pull them from a function.
//
// # Concurrency
//
// A Filter is safe for concurrent use. bloom/v3 itself is not: it sets bits
// with a plain read-modify-write, so a concurrent write can lose a bit, and a
// lost bit is a false negative. A read-write mutex around one bloom filter is
// correct but slow: every reader writes the lock's counter, and two cores end
// up slower than one.
//
// So a published bloom filter is never written again. The Filter holds an
// atomic pointer to an immutable state: a bloom filter plus a small set of
// keys added since that filter was built. MayContain is an atomic load, a
// bloom/v3 Test, and, only when Test says no and the set is not empty, a look
// at the set's own small bloom filter, whose bits are atomic words (one hash,
// usually one load from the CPU cache). Add takes a writer mutex, skips keys
// already present, and adds to the set. Add folds the set when it holds a few
// thousand keys (more for bigger filters), and also at once when the last
// fold is older than a moment that grows with the filter (90 ms at a million
// keys): it copies the bloom filter, adds the keys to the copy, and publishes
// the copy with an empty set. So keys added one at a time, as blocks usually
// come, cost MayContain nothing afterwards; in a burst they are batched. While
// keys wait for a fold, the set adds at most a tenth of the target to the
// false-positive rate.
//
// Once Add returns, every MayContain of that key that starts afterwards says
// true, from any goroutine, during and after any Rebuild.
//
// # Sizing
//
// New(expected, fpRate) uses bloom/v3's estimates: m = −n·ln p/(ln 2)² bits and
// k = ⌈ln 2·m/n⌉ hash functions, about 14.4 bits (1.8 bytes) per key and k = 10
// at the default rate of 0.1%; a million keys take 1.7 MiB, ten million 17 MiB.
// expected 0 means [DefaultCapacity]; a rate outside (0, 1) means
// [DefaultFPRate]; rates below [MinFPRate] are raised to it; no filter is
// larger than [MaxBits] (2 GiB).
//
// Past its capacity a bloom filter's false-positive rate climbs steeply
// (1% at n becomes 15.8% at 2n). Stats.Count tracks the keys added and
// NeedsRebuild reports true once it passes Stats.Capacity.
//
// # Rebuilds
//
// Rebuild(ctx, expected, src) builds a new filter from src (for sendguard, a
// key-only scan of the store) outside the writer lock, while Add and
// MayContain carry on against the old filter. Keys Added meanwhile are
// recorded and, under the lock, added to the new filter just before it is
// swapped in atomically, so they are in both. Keys Added before Rebuild was
// called must come from src: write a key to the store first, then Add it.
// Concurrent Rebuild calls run one after the other; a cancelled context or a
// failing src leaves the old filter in place and returns the error wrapped.
//
// NeedsRebuild is true when the count passes the capacity, or when the stale
// count passes 10% of the count (and at least 128). A rebuild with expected 0
// sizes the new filter for twice the current count.
//
// # Snapshots
//
// WriteSnapshot writes the filter behind its own header: magic, format version,
// the hash scheme (with a probe that detects a bloom/v3 that places keys
// differently), m, k, count, capacity, false-positive rate, statistics, an
// opaque caller stamp of at most [MaxStampLen] bytes (say, the store's log
// position the filter covers), and a CRC-32C over all of it. bloom/v3's own
// encoding has no version and no checksum and depends on process-wide bitset
// settings, so it is not used. ReadSnapshot checks everything and never
// allocates more than the bytes it has actually read justify; any problem is
// an error wrapping [ErrSnapshot], which the caller answers by rebuilding.
//
// # Performance
//
// Benchmarks compare MayContain with a bare bloom/v3 Test on the same filter
// and keys, in the same run, serially and with b.RunParallel, at one million
// keys, and at ten million when SENDGUARD_BENCH_10M=1 is set in the
// environment:
//
//	go test -run='^$' -bench=. -cpu=1,2 ./filter
//	SENDGUARD_BENCH_10M=1 go test -run='^$' -bench=MayContain -cpu=1,2 ./filter
//
// MayContain does not allocate and its key does not escape. It costs a few
// percent over the bare Test, and parallel readers share nothing written, so
// reads scale with cores.
package filter
