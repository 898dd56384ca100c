package storage

import (
	"context"
	"errors"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/sendguard/sendguard/normalize"
)

// Entry is one block: a contact and what is known about why it is blocked.
type Entry struct {
	Contact   normalize.Contact
	Original  string    // the raw text the block was made from
	Reason    string    // why it is blocked, free text
	Source    string    // "local", "import", or a remote's name
	CreatedAt time.Time // when it was blocked; zero in Put or Import means now
	ExpiresAt time.Time // zero: never. An expired entry is never returned.

	// Origin is copied into the block record Put or Import writes (see
	// [Record].Origin); it is not kept with the entry: Get and Scan return
	// it empty.
	Origin string
}

func (e *Entry) expired(now time.Time) bool {
	return !e.ExpiresAt.IsZero() && !e.ExpiresAt.After(now)
}

// check validates e and returns its key.
func (e *Entry) check() ([]byte, error) {
	key, err := checkContact(e.Contact)
	if err != nil {
		return nil, err
	}
	if len(e.Original) > MaxEntryText || len(e.Reason) > MaxEntryText || len(e.Source) > MaxEntryText || len(e.Origin) > MaxEntryText {
		return nil, errorf(ErrInvalid, "entry text over %d bytes", MaxEntryText)
	}
	return key, nil
}

// badgerEntry returns the Badger entry for e under key, with e's expiry as
// Badger's TTL.
func (e *Entry) badgerEntry(key []byte) *badger.Entry {
	be := badger.NewEntry(key, encodeEntry(e))
	be.ExpiresAt = badgerExpiry(e.ExpiresAt)
	return be
}

func (e *Entry) record(op Op, now time.Time) Record {
	return Record{
		Op:        op,
		Contact:   e.Contact,
		Original:  e.Original,
		Reason:    e.Reason,
		Source:    e.Source,
		Time:      now,
		CreatedAt: e.CreatedAt,
		ExpiresAt: e.ExpiresAt,
		Origin:    e.Origin,
	}
}

// readEntry decodes item (the entry under key) into e and reports whether
// it is live at now.
func (s *Store) readEntry(item *badger.Item, key []byte, now time.Time, e *Entry) (bool, error) {
	c, err := normalize.FromKey(key)
	if err != nil {
		return false, s.wrap("read entry", key, err)
	}
	e.Contact = c
	if err := item.Value(func(v []byte) error { return decodeEntry(v, e) }); err != nil {
		return false, s.wrap("read entry", key, err)
	}
	return !e.expired(now), nil
}

// liveItem reports whether the entry item is live at now, reading its value
// only when it has an expiry (Badger's TTL has second precision and runs
// on the real clock; the value has the exact expiry).
func (s *Store) liveItem(item *badger.Item, now time.Time) (bool, error) {
	if item.ExpiresAt() == 0 {
		return true, nil
	}
	var exp time.Time
	err := item.Value(func(v []byte) (err error) {
		exp, err = entryExpiresAt(v)
		return err
	})
	if err != nil {
		return false, s.wrap("read entry", item.Key(), err)
	}
	return exp.IsZero() || exp.After(now), nil
}

// getLive returns the live entry under key in txn.
func (s *Store) getLive(txn *badger.Txn, key []byte, now time.Time) (Entry, bool, error) {
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return Entry{}, false, nil
	}
	if err != nil {
		return Entry{}, false, s.wrap("read entry", key, err)
	}
	var e Entry
	ok, err := s.readEntry(item, key, now, &e)
	if !ok || err != nil {
		return Entry{}, false, err
	}
	return e, true, nil
}

// Put writes e and appends a block [Record] to the change log in one
// transaction. If a live entry for e.Contact exists and e does not extend
// it (the existing one never expires, or e expires no later), nothing is
// written and Put returns added=false. An e that has already expired is not
// written either. Otherwise Put replaces any entry, clears the contact's
// tombstone, and returns added=true with the record's sequence number.
//
// A zero e.CreatedAt is set to now. ctx is checked before the write. Put
// returns an error wrapping [ErrInvalid] for an invalid contact.
func (s *Store) Put(ctx context.Context, e Entry) (added bool, seq uint64, err error) {
	key, err := e.check()
	if err != nil {
		return false, 0, err
	}
	if err := s.enterWrite(ctx); err != nil {
		return false, 0, err
	}
	defer s.leave()

	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err := ctx.Err(); err != nil {
		return false, 0, err
	}
	now := s.clock()
	if e.expired(now) {
		return false, 0, nil
	}
	if e.CreatedAt.IsZero() {
		e.CreatedAt = now
	}
	tomb := tombKey(key)
	err = s.update(func(txn *badger.Txn) error {
		added, seq = false, 0
		old, ok, err := s.getLive(txn, key, now)
		if err != nil {
			return err
		}
		if ok && (old.ExpiresAt.IsZero() || (!e.ExpiresAt.IsZero() && !e.ExpiresAt.After(old.ExpiresAt))) {
			return nil
		}
		if err := txn.SetEntry(e.badgerEntry(key)); err != nil {
			return err
		}
		if _, err := txn.Get(tomb); err == nil {
			if err := txn.Delete(tomb); err != nil {
				return err
			}
		} else if !errors.Is(err, badger.ErrKeyNotFound) {
			return err
		}
		r := e.record(OpBlock, now)
		if seq, err = s.appendLog(txn, &r); err != nil {
			return err
		}
		added = true
		return nil
	})
	if err != nil {
		return false, 0, s.wrap("put", key, err)
	}
	if added {
		s.lastSeq.Store(seq)
		s.stats.puts.Add(1)
	}
	return added, seq, nil
}

// Delete removes the live entry for c and, in the same transaction, appends
// an unblock [Record] (with source, and the removed entry's original text
// and reason) and writes a tombstone (c -> now). It returns existed=false,
// and writes nothing, when c has no live entry. An entry whose value cannot
// be decoded (which Get and Put report as [ErrCorrupt]) is deleted too,
// with a warning logged: unblocking is the way to repair it.
func (s *Store) Delete(ctx context.Context, c normalize.Contact, source string) (existed bool, err error) {
	return s.DeleteFrom(ctx, c, source, "")
}

// DeleteFrom is [Store.Delete] with the unblock record's Origin set to
// origin (see [Record].Origin).
func (s *Store) DeleteFrom(ctx context.Context, c normalize.Contact, source, origin string) (existed bool, err error) {
	if len(source) > MaxEntryText || len(origin) > MaxEntryText {
		return false, errorf(ErrInvalid, "source or origin over %d bytes", MaxEntryText)
	}
	key, err := checkContact(c)
	if err != nil {
		return false, err
	}
	if err := s.enterWrite(ctx); err != nil {
		return false, err
	}
	defer s.leave()

	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err := ctx.Err(); err != nil {
		return false, err
	}
	now := s.clock()
	var seq uint64
	err = s.update(func(txn *badger.Txn) error {
		existed = false
		old, ok, err := s.getLive(txn, key, now)
		if errors.Is(err, ErrCorrupt) {
			// The one way out for an entry that cannot be read: unblocking
			// it. The record has the contact but no original or reason.
			s.log.Warn("storage: deleting an undecodable entry", "dir", s.dir, "contact", c, "err", err)
			old, ok, err = Entry{Contact: c}, true, nil
		}
		if !ok || err != nil {
			return err
		}
		if err := txn.Delete(key); err != nil {
			return err
		}
		if err := txn.Set(tombKey(key), encodeTime(now)); err != nil {
			return err
		}
		r := old.record(OpUnblock, now)
		r.Source, r.ExpiresAt, r.CreatedAt, r.Origin = source, time.Time{}, time.Time{}, origin
		if seq, err = s.appendLog(txn, &r); err != nil {
			return err
		}
		existed = true
		return nil
	})
	if err != nil {
		return false, s.wrap("delete", key, err)
	}
	if existed {
		s.lastSeq.Store(seq)
		s.stats.deletes.Add(1)
	}
	return existed, nil
}

// Get returns the live entry for c, or (Entry{}, false, nil) when there is
// none or it has expired. A value that cannot be decoded gives an error
// wrapping [ErrCorrupt].
func (s *Store) Get(ctx context.Context, c normalize.Contact) (Entry, bool, error) {
	key, err := checkContact(c)
	if err != nil {
		return Entry{}, false, err
	}
	return s.GetKey(ctx, key)
}

// GetKey is [Store.Get] by contact key bytes (see [normalize.Contact.Key]),
// for callers that already hold them. key is not retained. A key that is
// not a contact key gives an error wrapping [ErrInvalid].
func (s *Store) GetKey(ctx context.Context, key []byte) (Entry, bool, error) {
	if !isEntryKey(key) {
		return Entry{}, false, errorf(ErrInvalid, "not a contact key")
	}
	if err := s.enter(ctx); err != nil {
		return Entry{}, false, err
	}
	defer s.leave()
	txn := s.db.NewTransaction(false)
	defer txn.Discard()
	return s.getLive(txn, key, s.clock())
}

// Tombstone returns when c was last unblocked by [Store.Delete], if it has
// not been blocked again since (Put and Import clear the tombstone).
func (s *Store) Tombstone(ctx context.Context, c normalize.Contact) (time.Time, bool, error) {
	key, err := checkContact(c)
	if err != nil {
		return time.Time{}, false, err
	}
	if err := s.enter(ctx); err != nil {
		return time.Time{}, false, err
	}
	defer s.leave()
	tk := tombKey(key)
	var t time.Time
	err = s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(tk)
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) (err error) {
			t, err = decodeTime(v)
			return err
		})
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, s.wrap("read tombstone", tk, err)
	}
	return t, true, nil
}
