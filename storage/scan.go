package storage

import (
	"context"
	"errors"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/sendguard/sendguard/normalize"
)

// errStopScan wraps an error returned by a caller's callback, so that it
// comes back out of the scan as it was.
type errStopScan struct{ err error }

func (e errStopScan) Error() string { return e.err.Error() }

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
	it := txn.NewIterator(opt)
	defer it.Close()
	n := 0
	for it.Rewind(); it.Valid(); it.Next() {
		if n++; n%4096 == 0 {
			if err := s.stopped(ctx); err != nil {
				return errStopScan{err}
			}
		}
		item := it.Item()
		key := item.Key()
		var err error
		if values {
			var e Entry
			var live bool
			if live, err = s.readEntry(item, key, now, &e); err == nil && live {
				err = fn(key, &e)
			}
		} else {
			var live bool
			if live, err = s.liveItem(item, now); err == nil && live {
				err = fn(key, nil)
			}
		}
		if err != nil {
			if isOurs(err) {
				return err
			}
			return errStopScan{err}
		}
	}
	return nil
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
