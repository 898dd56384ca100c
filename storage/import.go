package storage

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// ImportResult counts what [Store.Import] did with its entries.
type ImportResult struct {
	Added   int // written, each with a block record
	Present int // not written: the contact already had a live entry (or came earlier in the same call)
	Expired int // not written: the entry had already expired
}

// importChunk is how many entries Import checks and writes per step; the
// change-log lock is held for one step at a time, so Puts interleave.
const importChunk = 8192

// Import adds entries in bulk, each with its block record, and clears the
// tombstones of the contacts it adds. Entries whose contact already has a
// live entry are counted as Present and not written (Import never replaces
// or extends, unlike Put); so are repeats within entries. Presence is
// checked with key-only lookups.
//
// Import works in steps of a few thousand entries. Each entry and its
// record are written in the same transaction (transactions are packed to
// Badger's size limit, never splitting an entry from its record), and when
// Import returns nil everything it counted as Added is durable as Put's
// writes are. On an error (ctx done, Close), the steps already done stay
// done and the returned result counts them. An invalid entry fails the
// whole call, before anything is written, with an error wrapping
// [ErrInvalid] that names its index. Entries with a zero CreatedAt are
// stored with now (entries itself is not modified).
func (s *Store) Import(ctx context.Context, entries []Entry) (ImportResult, error) {
	return s.ImportAbsent(ctx, entries, nil)
}

// ImportAbsent is [Store.Import] for a caller that knows some contacts have
// no live entry in the store: absent[i] true says so for entries[i]
// (absent may be nil, or shorter than entries: the rest are unknown).
// Those entries are written without the presence read (a lapsed entry
// is replaced, as Import would). The guard knows it from its filter, which
// has no false negatives.
//
// The hint must be right: an entry wrongly said absent replaces the live
// entry in the store, without Put's "only if longer" rule.
func (s *Store) ImportAbsent(ctx context.Context, entries []Entry, absent []bool) (ImportResult, error) {
	var res ImportResult
	keys := make([][]byte, len(entries))
	for i := range entries {
		k, err := entries[i].check()
		if err != nil {
			return res, fmt.Errorf("storage: import entry %d: %w", i, err)
		}
		keys[i] = k
	}
	if err := s.enter(ctx); err != nil {
		return res, err
	}
	defer s.leave()
	for start := 0; start < len(entries); start += importChunk {
		if err := s.stopped(ctx); err != nil {
			return res, err
		}
		if err := s.roomToWrite(); err != nil { // checked per step: a long import may fill the disk
			return res, err
		}
		end := min(start+importChunk, len(entries))
		var hint []bool
		if start < len(absent) {
			hint = absent[start:min(end, len(absent))]
		}
		if err := s.importChunk(entries[start:end], keys[start:end], hint, &res); err != nil {
			return res, err
		}
	}
	return res, nil
}

// importPlan says what to write for one entry of a chunk.
type importPlan struct {
	i         int  // index in the chunk
	clearTomb bool // the contact has a tombstone to delete
}

func (s *Store) importChunk(entries []Entry, keys [][]byte, absent []bool, res *ImportResult) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	now := s.clock()
	plan, err := s.planImport(entries, keys, absent, now, res)
	if err != nil || len(plan) == 0 {
		return err
	}
	g := s.newGroupTxn(3 * len(plan))
	defer g.discard()
	// One buffer for the chunk's log keys and values (Badger keeps the
	// slices until commit): fewer allocations, less GC work per entry.
	size := 0
	for _, p := range plan {
		e := &entries[p.i]
		size += 8 + len(prefixLog) + 2*entrySize(e) + 2*len(e.Contact.Value)
	}
	buf := make([]byte, 0, size)
	var last uint64
	for _, p := range plan {
		e := entries[p.i] // a copy: the caller's slice is not modified
		if e.CreatedAt.IsZero() {
			e.CreatedAt = now
		}
		r := e.record(OpBlock, now)
		n, err := s.logSeq.Next()
		if err != nil {
			return s.wrap("import", keys[p.i], err)
		}
		r.Seq = n + 1
		var val, lkey, rec []byte
		buf, val = appendSlice(buf, func(b []byte) []byte { return appendEntry(b, &e) })
		buf, lkey = appendSlice(buf, func(b []byte) []byte { return appendSeqKey(b, prefixLog, r.Seq) })
		buf, rec = appendSlice(buf, func(b []byte) []byte { return encodeRecord(b, &r) })
		ops := [3]groupOp{
			{key: keys[p.i], val: val, expiresAt: badgerExpiry(e.ExpiresAt)},
			{key: lkey, val: rec},
		}
		k := 2
		if p.clearTomb {
			ops[2] = groupOp{key: tombKey(keys[p.i]), del: true}
			k = 3
		}
		if err := g.add(ops[:k]...); err != nil {
			return s.wrap("import", keys[p.i], err)
		}
		last = r.Seq
	}
	if err := g.commit(); err != nil {
		return s.wrap("import", keys[plan[0].i], err)
	}
	s.lastSeq.Store(last)
	s.stats.imported.Add(uint64(len(plan)))
	res.Added += len(plan)
	return nil
}

// Outcomes of planning one entry of an import chunk.
const (
	planAdd uint8 = iota
	planAddClearTomb
	planPresent
	planExpired
)

// planImport decides which entries of a chunk to write: not expired, not
// repeated in the chunk, no live entry in the store. The lookups (key-only
// Gets, values read only for entries with an expiry; none for an entry
// absent says is absent) are split between up to two goroutines, each in
// its own read transaction; the caller holds the change-log lock, so no
// entry changes meanwhile.
func (s *Store) planImport(entries []Entry, keys [][]byte, absent []bool, now time.Time, res *ImportResult) ([]importPlan, error) {
	outcome := make([]uint8, len(entries))
	seen := make(map[string]struct{}, len(entries))
	var todo []int // indexes to look up
	for i := range entries {
		switch _, dup := seen[string(keys[i])]; {
		case entries[i].expired(now):
			outcome[i] = planExpired
		case dup:
			outcome[i] = planPresent
		default:
			seen[string(keys[i])] = struct{}{}
			todo = append(todo, i)
		}
	}
	// Entries known absent need no presence read; only a tombstone to
	// clear, which costs nothing when the store has few (the usual case:
	// smallTombSet loads them once).
	var reads int
	for _, i := range todo {
		if i >= len(absent) || !absent[i] {
			reads++
		}
	}
	workers := 1
	if reads >= 2048 && runtime.GOMAXPROCS(0) > 1 {
		workers = 2
	}
	errs := make([]error, workers)
	var wg sync.WaitGroup
	per := (len(todo) + workers - 1) / workers
	for w := range workers {
		part := todo[min(w*per, len(todo)):min((w+1)*per, len(todo))]
		wg.Go(func() {
			errs[w] = s.db.View(func(txn *badger.Txn) error {
				return s.lookUp(txn, part, keys, absent, now, outcome)
			})
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	plan := make([]importPlan, 0, len(todo))
	for i, o := range outcome {
		switch o {
		case planAdd, planAddClearTomb:
			plan = append(plan, importPlan{i: i, clearTomb: o == planAddClearTomb})
		case planPresent:
			res.Present++
		case planExpired:
			res.Expired++
		}
	}
	return plan, nil
}

// lookUp sets outcome[i] for each i in idx: planPresent when keys[i] has a
// live entry, else planAdd or planAddClearTomb. keys[i] is not read when
// absent[i] says it is absent.
func (s *Store) lookUp(txn *badger.Txn, idx []int, keys [][]byte, absent []bool, now time.Time, outcome []uint8) error {
	tombs, all := smallTombSet(txn)
	for _, i := range idx {
		var item *badger.Item
		err := badger.ErrKeyNotFound
		if i >= len(absent) || !absent[i] {
			item, err = txn.Get(keys[i])
		}
		switch {
		case err == nil:
			live, err := s.liveItem(item, now)
			if err != nil {
				return err
			}
			if live {
				outcome[i] = planPresent
				continue
			}
		case !errors.Is(err, badger.ErrKeyNotFound):
			return s.wrap("import", keys[i], err)
		}
		if all {
			if _, ok := tombs[string(keys[i])]; ok {
				outcome[i] = planAddClearTomb
			}
			continue
		}
		switch _, err := txn.Get(tombKey(keys[i])); {
		case err == nil:
			outcome[i] = planAddClearTomb
		case !errors.Is(err, badger.ErrKeyNotFound):
			return s.wrap("import", keys[i], err)
		}
	}
	return nil
}

// appendSlice appends what fn appends to buf and returns buf and the
// appended part (capacity-limited, so later appends never overwrite it).
func appendSlice(buf []byte, fn func([]byte) []byte) ([]byte, []byte) {
	start := len(buf)
	buf = fn(buf)
	return buf, buf[start:len(buf):len(buf)]
}

// groupOp is one write of a group: a set (with an optional Badger TTL) or
// a delete.
type groupOp struct {
	key, val  []byte
	expiresAt uint64
	del       bool
}

// groupTxn packs groups of writes into as few transactions as Badger's size
// limit allows, committing them in order, and never splitting a group: an
// entry and its change-log record always land in the same transaction. (A
// badger.WriteBatch splits wherever the limit falls, so a crash between two
// of its commits could keep an entry and lose its record.) Like WriteBatch,
// it commits asynchronously: the next transaction fills while Badger writes
// the last one.
type groupTxn struct {
	db          *badger.DB
	slab        []badger.Entry // backing for the entries given to Badger
	txn         *badger.Txn
	count, size int64
	maxCount    int64
	maxSize     int64
	wg          sync.WaitGroup
	mu          sync.Mutex
	err         error // the first commit error
}

// txnOverhead is what a fresh Badger transaction already counts: one entry
// and some bytes for its commit marker (see badger's newTransaction), plus a
// margin.
const (
	txnOverheadCount = 2
	txnOverheadSize  = 64
)

// newGroupTxn returns a groupTxn for about n writes.
func (s *Store) newGroupTxn(n int) *groupTxn {
	return &groupTxn{
		db:       s.db,
		slab:     make([]badger.Entry, 0, n),
		txn:      s.db.NewTransaction(true),
		count:    txnOverheadCount,
		size:     txnOverheadSize,
		maxCount: s.db.MaxBatchCount(),
		maxSize:  s.db.MaxBatchSize(),
	}
}

// add writes ops in the current transaction, first committing it if ops
// would not fit. The estimate is Badger's own (key + value + 12 bytes).
func (g *groupTxn) add(ops ...groupOp) error {
	var size int64
	for i := range ops {
		size += int64(len(ops[i].key)+len(ops[i].val)) + 12
	}
	if g.count > txnOverheadCount && (g.count+int64(len(ops)) >= g.maxCount || g.size+size >= g.maxSize) {
		if err := g.rotate(); err != nil {
			return err
		}
	}
	for i := range ops {
		var err error
		if ops[i].del {
			err = g.txn.Delete(ops[i].key)
		} else {
			// Badger keeps the pointer until commit; a slab that grows
			// leaves earlier entries in the old array, still referenced.
			g.slab = append(g.slab, badger.Entry{Key: ops[i].key, Value: ops[i].val, ExpiresAt: ops[i].expiresAt})
			err = g.txn.SetEntry(&g.slab[len(g.slab)-1])
		}
		if err != nil {
			return err
		}
	}
	g.count += int64(len(ops))
	g.size += size
	return nil
}

// rotate starts committing the current transaction and opens the next.
// The next one is opened first: a new transaction waits until every commit
// before it is applied, which would otherwise undo the overlap. (These
// transactions only write, so their read timestamp does not matter.)
func (g *groupTxn) rotate() error {
	if err := g.firstErr(); err != nil {
		return err
	}
	next := g.db.NewTransaction(true)
	g.wg.Add(1)
	g.txn.CommitWith(func(err error) {
		if err != nil {
			g.mu.Lock()
			if g.err == nil {
				g.err = err
			}
			g.mu.Unlock()
		}
		g.wg.Done()
	})
	g.txn = next
	g.count, g.size = txnOverheadCount, txnOverheadSize
	return nil
}

func (g *groupTxn) firstErr() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.err
}

// commit commits the last transaction and waits for every commit.
func (g *groupTxn) commit() error {
	err := g.txn.Commit()
	g.txn = nil
	g.wg.Wait()
	return errors.Join(err, g.firstErr())
}

// discard drops the uncommitted transaction and waits for the commits in
// flight.
func (g *groupTxn) discard() {
	if g.txn != nil {
		g.txn.Discard()
		g.txn = nil
	}
	g.wg.Wait()
}

// maxTombSet is the most tombstones planImport loads into a set instead of
// looking each imported contact's tombstone up.
const maxTombSet = 1024

// smallTombSet returns the contact keys of all tombstones, and true, when
// there are at most maxTombSet of them (usually none); otherwise false.
func smallTombSet(txn *badger.Txn) (map[string]struct{}, bool) {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefixTomb)})
	defer it.Close()
	var set map[string]struct{}
	for it.Rewind(); it.Valid(); it.Next() {
		if len(set) == maxTombSet {
			return nil, false
		}
		if set == nil {
			set = make(map[string]struct{})
		}
		set[string(it.Item().Key()[len(prefixTomb):])] = struct{}{}
	}
	return set, true
}
