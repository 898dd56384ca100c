package storage

import (
	"context"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// DeadLetter is a change-log record that a consumer could not deliver for a
// permanent reason (the remote refused it), kept with that reason until it
// is retried.
type DeadLetter struct {
	Consumer string
	Record   Record // as the consumer read it, with its original Seq
	Reason   string // why delivery failed, e.g. the remote's error message
	At       time.Time
}

// retryTxnBytes bounds the size of one RetryDeadLetters transaction, well
// under Badger's limit (15% of the 4 MiB memtable).
const retryTxnBytes = 256 << 10

// AddDeadLetter records that consumer could not deliver r, and why. The
// record is kept as given (with its Seq, for reference).
func (s *Store) AddDeadLetter(ctx context.Context, consumer string, r Record, reason string) error {
	if err := checkName("consumer name", consumer, maxNameLen); err != nil {
		return err
	}
	if _, err := checkContact(r.Contact); err != nil {
		return err
	}
	if r.Op != OpBlock && r.Op != OpUnblock {
		return errorf(ErrInvalid, "record op %s", r.Op)
	}
	if err := s.enterWrite(ctx); err != nil {
		return err
	}
	defer s.leave()
	id, err := s.deadSeq.Next()
	if err != nil {
		return s.wrap("add dead letter", deadPrefix(consumer), err)
	}
	key := deadKey(consumer, id+1)
	val := encodeDeadLetter(&DeadLetter{Consumer: consumer, Record: r, Reason: reason, At: s.clock()})
	if err := s.update(func(txn *badger.Txn) error { return txn.Set(key, val) }); err != nil {
		return s.wrap("add dead letter", key, err)
	}
	return nil
}

// DeadLetters returns consumer's dead letters in the order they were added,
// or every consumer's (ordered by consumer) when consumer is "".
func (s *Store) DeadLetters(ctx context.Context, consumer string) ([]DeadLetter, error) {
	if consumer != "" {
		if err := checkName("consumer name", consumer, maxNameLen); err != nil {
			return nil, err
		}
	}
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.leave()
	var out []DeadLetter
	err := s.db.View(func(txn *badger.Txn) error {
		return s.scanDead(ctx, txn, consumer, func(_ []byte, dl DeadLetter) bool {
			out = append(out, dl)
			return true
		})
	})
	if err != nil {
		return nil, s.wrap("read", deadPrefix(consumer), err)
	}
	return out, nil
}

// scanDead calls fn with each dead letter (and its key, valid during fn)
// of consumer, or of all consumers for "", until fn returns false.
func (s *Store) scanDead(ctx context.Context, txn *badger.Txn, consumer string, fn func(key []byte, dl DeadLetter) bool) error {
	opt := badger.IteratorOptions{PrefetchValues: true, PrefetchSize: 64, Prefix: deadPrefix(consumer)}
	return s.iterate(ctx, txn, opt, nil, func(item *badger.Item) (bool, error) {
		key := item.Key()
		// key = "dead/" + consumer + 0x00 + 8-byte id
		if len(key) < len(prefixDead)+10 || key[len(key)-9] != 0 {
			return false, s.wrap("read dead letter", key, errBadValue)
		}
		var dl DeadLetter
		if err := item.Value(func(v []byte) error { return decodeDeadLetter(v, &dl) }); err != nil {
			return false, s.wrap("read dead letter", key, err)
		}
		dl.Consumer = string(key[len(prefixDead) : len(key)-9])
		return fn(key, dl), nil
	})
}

// RetryDeadLetters re-queues consumer's dead letters (every consumer's when
// consumer is "") and returns how many. Each is appended to the change log
// as a new record (a new Seq; the original's op, contact, text and times)
// with Target set to the dead letter's consumer, and removed from the dead
// letters in the same transaction: the consumer sees it again past its
// offset, and other consumers skip it (see [Record.Target]).
//
// A dead letter that the store has since overtaken (a block whose contact
// is no longer blocked, an unblock whose contact is blocked again) is
// removed without being re-queued and is not counted: a newer record
// already carries the contact's state, and replaying the old one would
// undo it at the remote.
func (s *Store) RetryDeadLetters(ctx context.Context, consumer string) (int, error) {
	if consumer != "" {
		if err := checkName("consumer name", consumer, maxNameLen); err != nil {
			return 0, err
		}
	}
	if err := s.enterWrite(ctx); err != nil {
		return 0, err
	}
	defer s.leave()
	total := 0
	for {
		if err := s.stopped(ctx); err != nil {
			return total, err
		}
		n, err := s.retryChunk(ctx, consumer)
		if n < 0 || err != nil {
			return total, err
		}
		total += n
	}
}

// retryChunk handles up to retryTxnBytes worth of dead letters in one
// transaction and returns how many it re-queued, or -1 when there were
// none left.
func (s *Store) retryChunk(ctx context.Context, consumer string) (int, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	var n int
	var last uint64
	err := s.update(func(txn *badger.Txn) error {
		n, last = 0, 0
		size := 0
		var keys [][]byte
		var recs []Record
		err := s.scanDead(ctx, txn, consumer, func(key []byte, dl DeadLetter) bool {
			keys = append(keys, append([]byte(nil), key...))
			r := dl.Record
			r.Target = dl.Consumer
			recs = append(recs, r)
			size += len(key) + 2*recordSize(&r)
			return size < retryTxnBytes
		})
		if err != nil {
			return err
		}
		now := s.clock()
		for i := range keys {
			if err := txn.Delete(keys[i]); err != nil {
				return err
			}
			_, blocked, err := s.getLive(txn, recs[i].Contact.Key(), now)
			if err != nil {
				return err
			}
			if blocked != (recs[i].Op == OpBlock) {
				continue // stale: a newer record carries the contact's state
			}
			seq, err := s.appendLog(txn, &recs[i])
			if err != nil {
				return err
			}
			last = seq
			n++
		}
		if len(keys) == 0 {
			n = -1
		}
		return nil
	})
	if err != nil {
		return 0, s.wrap("retry", deadPrefix(consumer), err)
	}
	if last > 0 {
		s.lastSeq.Store(last)
	}
	return n, nil
}

// DeleteDeadLetters removes consumer's dead letters without re-queuing
// them (a consumer that is gone for good) and returns how many.
func (s *Store) DeleteDeadLetters(ctx context.Context, consumer string) (int, error) {
	if err := checkName("consumer name", consumer, maxNameLen); err != nil {
		return 0, err
	}
	if err := s.enter(ctx); err != nil {
		return 0, err
	}
	defer s.leave()
	total := 0
	for {
		var keys [][]byte
		err := s.db.View(func(txn *badger.Txn) error {
			return s.scanDead(ctx, txn, consumer, func(key []byte, _ DeadLetter) bool {
				keys = append(keys, append([]byte(nil), key...))
				return len(keys) < 1024
			})
		})
		if err != nil {
			return total, s.wrap("read", deadPrefix(consumer), err)
		}
		if len(keys) == 0 {
			return total, nil
		}
		err = s.update(func(txn *badger.Txn) error {
			for _, k := range keys {
				if err := txn.Delete(k); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return total, s.wrap("delete dead letters", deadPrefix(consumer), err)
		}
		total += len(keys)
	}
}
