package storage

import (
	"context"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// RawSet writes val under key directly in Badger, bypassing every check:
// tests use it to plant corrupt values.
func (s *Store) RawSet(key, val []byte) error {
	return s.db.Update(func(txn *badger.Txn) error { return txn.Set(key, val) })
}

// RawKeys returns every key in the store (Badger's internal keys aside).
func (s *Store) RawKeys() ([]string, error) {
	var out []string
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			out = append(out, string(it.Item().Key()))
		}
		return nil
	})
	return out, err
}

// OpenWithGCTicks is Open with the background GC loop driven by ticks
// instead of a ticker. opts.GCInterval is ignored.
func OpenWithGCTicks(dir string, opts Options, ticks <-chan time.Time) (*Store, error) {
	opts.GCInterval = -1
	s, err := Open(dir, opts)
	if err != nil {
		return nil, err
	}
	s.startGC(ticks, func() {})
	return s, nil
}

// RawGet returns the value under key directly from Badger.
func (s *Store) RawGet(key []byte) ([]byte, error) {
	var v []byte
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(key)
		if err != nil {
			return err
		}
		v, err = item.ValueCopy(nil)
		return err
	})
	return v, err
}

// BenchBadgerOptions returns the Badger options Open uses for an on-disk
// store in dir with default Options: benchmarks compare the store with
// raw Badger under the same settings.
func BenchBadgerOptions(dir string) badger.Options {
	o := Options{}.withDefaults()
	return badgerOptions(dir, o, nil, false)
}

// ImportKVs returns the keys and values Import writes for e, a new
// contact, as change-log record seq: the entry and its block record.
func ImportKVs(e *Entry, seq uint64, now time.Time) (keys, vals [][]byte, err error) {
	key, err := e.check()
	if err != nil {
		return nil, nil, err
	}
	r := e.record(OpBlock, now)
	r.Seq = seq
	return [][]byte{key, appendSeqKey(nil, prefixLog, seq)}, [][]byte{appendEntry(nil, e), encodeRecord(nil, &r)}, nil
}

// Offsets returns every registered consumer's offset (LogStats has them
// for callers outside the package).
func (s *Store) Offsets(ctx context.Context) (map[string]uint64, error) {
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.leave()
	return s.offsets()
}

// CollectGarbage runs Badger's value-log GC now, in the calling goroutine:
// it rewrites value-log files that are at least half garbage until none is
// left (or ctx is done), and returns how many it rewrote. The store also
// does this in the background every Options.GCInterval. It returns (0, nil)
// for an in-memory store.
func (s *Store) CollectGarbage(ctx context.Context) (int, error) {
	if err := s.enterWrite(ctx); err != nil {
		return 0, err
	}
	defer s.leave()
	return s.collectGarbage(ctx)
}
