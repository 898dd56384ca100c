package storage

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/sendguard/sendguard/normalize"
)

// errStopScan carries an error that must leave a scan as it is: a
// caller's callback error, or ctx's (or the closing store's) error.
type errStopScan struct{ err error }

func (e errStopScan) Error() string { return e.err.Error() }
func (e errStopScan) Unwrap() error { return e.err }

// iterate calls fn with each item of an iterator over txn with opt, in key
// order from start (nil: the first), until fn returns false or an error.
// Every 256 items it checks that ctx is not done and the store not
// closing, and returns that error as an errStopScan.
func (s *Store) iterate(ctx context.Context, txn *badger.Txn, opt badger.IteratorOptions, start []byte, fn func(item *badger.Item) (more bool, err error)) error {
	it := txn.NewIterator(opt)
	defer it.Close()
	if start == nil {
		it.Rewind()
	} else {
		it.Seek(start)
	}
	for n := 1; it.Valid(); n++ {
		if n%256 == 0 {
			if err := s.stopped(ctx); err != nil {
				return errStopScan{err}
			}
		}
		more, err := fn(it.Item())
		if err != nil || !more {
			return err
		}
		it.Next()
	}
	return nil
}

// scanEntries iterates the live entries under the given prefixes, in key
// order, one read transaction for the whole scan. With values false it
// reads only keys (and the value of an entry that has an expiry, to check
// it exactly); fn then gets a nil Entry. The key passed to fn is valid only
// during fn.
func (s *Store) scanEntries(ctx context.Context, prefixes []string, values bool, fn func(key []byte, e *Entry) error) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.leave()
	now := s.clock()
	err := s.db.View(func(txn *badger.Txn) error {
		for _, p := range prefixes {
			if err := s.scanPrefix(ctx, txn, []byte(p), values, now, fn); err != nil {
				return err
			}
		}
		return nil
	})
	var stop errStopScan
	if errors.As(err, &stop) {
		return stop.err
	}
	if err != nil {
		return s.wrap("scan", nil, err)
	}
	return nil
}

func (s *Store) scanPrefix(ctx context.Context, txn *badger.Txn, prefix []byte, values bool, now time.Time, fn func(key []byte, e *Entry) error) error {
	opt := badger.IteratorOptions{Prefix: prefix}
	if values {
		opt.PrefetchValues, opt.PrefetchSize = true, 64
	}
	return s.iterate(ctx, txn, opt, nil, func(item *badger.Item) (bool, error) {
		key := item.Key()
		var e *Entry
		var live bool
		var err error
		if values {
			e = new(Entry)
			live, err = s.readEntry(item, key, now, e)
		} else {
			live, err = s.liveItem(item, now)
		}
		if err != nil || !live {
			return err == nil, err
		}
		if err := fn(key, e); err != nil {
			if isOurs(err) {
				return false, err
			}
			return false, errStopScan{err}
		}
		return true, nil
	})
}

// ScanKeys calls fn with the key (see [normalize.Contact.Key]) of every live
// entry, in key order, reading keys only: this is the source for a filter
// rebuild. key is valid only during fn; copy it to keep it. An error from fn
// stops the scan and is returned as it is. The scan is one consistent
// snapshot; entries written meanwhile may or may not be seen.
func (s *Store) ScanKeys(ctx context.Context, fn func(key []byte) error) error {
	p := entryPrefixes()
	return s.scanEntries(ctx, p[:], false, func(key []byte, _ *Entry) error { return fn(key) })
}

// Scan calls fn with every live entry, in key order. An error from fn stops
// the scan and is returned as it is; a value that cannot be decoded stops
// it with an error wrapping [ErrCorrupt].
func (s *Store) Scan(ctx context.Context, fn func(Entry) error) error {
	p := entryPrefixes()
	return s.scanEntries(ctx, p[:], true, func(_ []byte, e *Entry) error { return fn(*e) })
}

// ScanKind is [Store.Scan] over the entries of one kind, e.g. every
// domain block. An invalid kind gives an error wrapping [ErrInvalid].
func (s *Store) ScanKind(ctx context.Context, k normalize.Kind, fn func(Entry) error) error {
	p, ok := kindPrefix(k)
	if !ok {
		return errorf(ErrInvalid, "contact kind %d", k)
	}
	return s.scanEntries(ctx, []string{p}, true, func(_ []byte, e *Entry) error { return fn(*e) })
}

// Count returns the number of live entries. It is a key-only scan: linear
// in the store's size, not for a hot path.
func (s *Store) Count(ctx context.Context) (int, error) {
	n := 0
	p := entryPrefixes()
	err := s.scanEntries(ctx, p[:], false, func([]byte, *Entry) error { n++; return nil })
	return n, err
}

// ScanAt calls fn with every live entry, in key order, from one consistent
// read of the store, and returns the sequence number of the last change-log
// record that read includes: every change up to seq is in what fn saw, and
// no later one. A consumer that tails the log after seq therefore misses
// nothing and sees nothing twice. An error from fn stops the scan and is
// returned as it is.
func (s *Store) ScanAt(ctx context.Context, fn func(Entry) error) (seq uint64, err error) {
	if err := s.enter(ctx); err != nil {
		return 0, err
	}
	defer s.leave()
	now := s.clock()
	err = s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Reverse: true, Prefix: []byte(prefixLog)})
		it.Seek(logKey(math.MaxUint64))
		if it.Valid() {
			key := it.Item().Key()
			if len(key) != len(prefixLog)+8 {
				it.Close()
				return s.wrap("read log", key, errBadValue)
			}
			seq = binary.BigEndian.Uint64(key[len(prefixLog):])
		}
		it.Close()
		for _, p := range entryPrefixes() {
			err := s.scanPrefix(ctx, txn, []byte(p), true, now, func(_ []byte, e *Entry) error { return fn(*e) })
			if err != nil {
				return err
			}
		}
		return nil
	})
	var stop errStopScan
	if errors.As(err, &stop) {
		return 0, stop.err
	}
	if err != nil {
		return 0, s.wrap("scan", nil, err)
	}
	return seq, nil
}
