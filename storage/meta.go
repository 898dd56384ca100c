package storage

import (
	"context"
	"errors"

	"github.com/dgraph-io/badger/v4"
)

// GetMeta returns the value stored under key by [Store.PutMeta]; the slice
// is the caller's. The meta space is for other packages' small durable
// state (sync watermarks, remote id maps); keys are free-form strings.
func (s *Store) GetMeta(ctx context.Context, key string) ([]byte, bool, error) {
	if err := checkName("meta key", key, maxMetaKeyLen); err != nil {
		return nil, false, err
	}
	if err := s.enter(ctx); err != nil {
		return nil, false, err
	}
	defer s.leave()
	k := metaKey(key)
	var val []byte
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(k)
		if err != nil {
			return err
		}
		val, err = item.ValueCopy(nil)
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, s.wrap("read meta", k, err)
	}
	return val, true, nil
}

// PutMeta stores val (up to 256 KiB; copied) under key, replacing any value.
func (s *Store) PutMeta(ctx context.Context, key string, val []byte) error {
	if err := checkName("meta key", key, maxMetaKeyLen); err != nil {
		return err
	}
	if len(val) > maxMetaValLen {
		return errorf(ErrInvalid, "meta value of %d bytes (the limit is %d)", len(val), maxMetaValLen)
	}
	if err := s.enterWrite(ctx); err != nil {
		return err
	}
	defer s.leave()
	k := metaKey(key)
	v := append([]byte(nil), val...)
	if err := s.update(func(txn *badger.Txn) error { return txn.Set(k, v) }); err != nil {
		return s.wrap("write meta", k, err)
	}
	return nil
}

// DeleteMeta removes key; removing an absent key is not an error.
func (s *Store) DeleteMeta(ctx context.Context, key string) error {
	if err := checkName("meta key", key, maxMetaKeyLen); err != nil {
		return err
	}
	if err := s.enterWrite(ctx); err != nil {
		return err
	}
	defer s.leave()
	k := metaKey(key)
	if err := s.update(func(txn *badger.Txn) error { return txn.Delete(k) }); err != nil {
		return s.wrap("delete meta", k, err)
	}
	return nil
}

// ScanMeta calls fn, in key order, with every meta key that starts with
// prefix ("" for all) and its value. val is valid only during fn. An error
// from fn stops the scan and is returned as it is.
func (s *Store) ScanMeta(ctx context.Context, prefix string, fn func(key string, val []byte) error) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.leave()
	p := metaKey(prefix)
	var fnErr error
	err := s.db.View(func(txn *badger.Txn) error {
		opt := badger.IteratorOptions{PrefetchValues: true, PrefetchSize: 32, Prefix: p}
		return s.iterate(ctx, txn, opt, nil, func(item *badger.Item) (bool, error) {
			key := string(item.Key()[len(prefixMeta):])
			err := item.Value(func(v []byte) error {
				fnErr = fn(key, v)
				return fnErr
			})
			return err == nil, err
		})
	})
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		return s.wrap("scan", p, err)
	}
	return nil
}

// moveBatch and moveBytes bound one transaction of MoveMeta: Badger
// refuses a transaction over about 600 KiB at the store's settings.
const (
	moveBatch = 1000
	moveBytes = 128 << 10
)

// MoveMeta renames every meta key that starts with from: the key
// from+rest becomes to+rest, with its value, replacing any value there. It
// moves the keys a batch per transaction, each key written under its
// new name and deleted under its old one in the same transaction, so a
// move cut short (ctx, a crash) leaves every key under exactly one of the
// two names, and calling MoveMeta again finishes it. It returns how many
// keys it moved. from must not be empty, and to must not start with from.
func (s *Store) MoveMeta(ctx context.Context, from, to string) (int, error) {
	if from == "" || len(to) >= len(from) && to[:len(from)] == from {
		return 0, errorf(ErrInvalid, "move meta from %q to %q: to must not start with from", from, to)
	}
	if err := s.enterWrite(ctx); err != nil {
		return 0, err
	}
	defer s.leave()
	p := metaKey(from)
	moved := 0
	for {
		if err := s.stopped(ctx); err != nil {
			return moved, err
		}
		type kv struct{ k, v []byte }
		var batch []kv
		size := 0
		err := s.db.View(func(txn *badger.Txn) error {
			opt := badger.IteratorOptions{PrefetchValues: true, PrefetchSize: 64, Prefix: p}
			return s.iterate(ctx, txn, opt, nil, func(item *badger.Item) (bool, error) {
				v, err := item.ValueCopy(nil)
				if err != nil {
					return false, err
				}
				batch = append(batch, kv{item.KeyCopy(nil), v})
				size += 2*len(item.Key()) + len(v)
				return len(batch) < moveBatch && size < moveBytes, nil
			})
		})
		if err != nil {
			return moved, s.wrap("scan", p, err)
		}
		if len(batch) == 0 {
			return moved, nil
		}
		for _, e := range batch {
			if nk := to + string(e.k[len(p):]); len(nk) > maxMetaKeyLen {
				return moved, errorf(ErrInvalid, "move meta: key %q would be over %d bytes", nk, maxMetaKeyLen)
			}
		}
		err = s.update(func(txn *badger.Txn) error {
			for _, e := range batch {
				if err := txn.Set(metaKey(to+string(e.k[len(p):])), e.v); err != nil {
					return err
				}
				if err := txn.Delete(e.k); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return moved, s.wrap("move meta", p, err)
		}
		moved += len(batch)
	}
}
