package storage

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math"
	"strconv"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/sendguard/sendguard/normalize"
)

// Op is what a change-log record did to its contact.
type Op uint8

// The change-log operations.
const (
	OpBlock   Op = 1 // the contact was blocked (an entry written)
	OpUnblock Op = 2 // the contact was unblocked (its entry deleted)
)

// String returns "block", "unblock", or "op(N)" for an unknown value.
func (o Op) String() string {
	switch o {
	case OpBlock:
		return "block"
	case OpUnblock:
		return "unblock"
	}
	return "op(" + strconv.Itoa(int(o)) + ")"
}

// Record is one change-log record: a block or an unblock, written in the
// same transaction as the entry change it describes.
type Record struct {
	Seq       uint64 // position in the log: increasing, with possible gaps
	Op        Op
	Contact   normalize.Contact
	Original  string    // the entry's original text
	Reason    string    // the entry's reason
	Source    string    // who made the change: "local", "import", a remote's name
	Time      time.Time // when the change was made
	CreatedAt time.Time // a block's entry creation time; zero for an unblock (and in records older than the field)
	ExpiresAt time.Time // a block's expiry; zero: never (or an unblock)

	// Origin says where the change was applied from: "" for a change made
	// on this store (a local block, an import, a pull), or the name the
	// writer gave (a replication consumer applying a remote change). A
	// consumer skips the records whose Origin is its own name, so that a
	// change is never echoed back to where it came from.
	Origin string

	// Target names the one consumer this record is for; "" (every record
	// written by Put, Delete and Import) means all consumers. A record
	// re-queued by [Store.RetryDeadLetters] carries the consumer whose dead
	// letter it was: other consumers must skip it (they delivered it
	// already), and only that consumer should act on it.
	Target string
}

// For reports whether the consumer named consumer should act on r: r is
// for all consumers, or targeted at that one.
func (r *Record) For(consumer string) bool { return r.Target == "" || r.Target == consumer }

// DefaultReadLimit is the number of records [Store.ReadLog] returns at most
// when called with limit <= 0.
const DefaultReadLimit = 1000

// appendLog gives r the next sequence number and writes it in txn. The
// caller holds s.wmu from before taking the number until after the commit,
// so that sequence order is commit order: a reader that has seen record n
// has seen every record below n that will ever exist.
func (s *Store) appendLog(txn *badger.Txn, r *Record) (uint64, error) {
	n, err := s.logSeq.Next()
	if err != nil {
		return 0, err
	}
	r.Seq = n + 1 // Badger's sequences start at 0; seq 0 means "before the log"
	return r.Seq, txn.Set(logKey(r.Seq), encodeRecord(make([]byte, 0, recordSize(r)), r))
}

// ReadLog returns the records with Seq > after, in ascending order, at most
// limit of them (DefaultReadLimit when limit <= 0). Sequence numbers may
// have gaps: after a crash, or where a transaction failed. A record that
// cannot be decoded gives an error wrapping [ErrCorrupt].
func (s *Store) ReadLog(ctx context.Context, after uint64, limit int) ([]Record, error) {
	if limit <= 0 {
		limit = DefaultReadLimit
	}
	if after == math.MaxUint64 {
		return nil, nil
	}
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.leave()
	var out []Record
	err := s.db.View(func(txn *badger.Txn) error {
		opt := badger.IteratorOptions{PrefetchValues: true, PrefetchSize: min(limit, 100), Prefix: []byte(prefixLog)}
		return s.iterate(ctx, txn, opt, logKey(after+1), func(item *badger.Item) (bool, error) {
			key := item.Key()
			if len(key) != len(prefixLog)+8 {
				return false, s.wrap("read log", key, errBadValue)
			}
			r := Record{Seq: binary.BigEndian.Uint64(key[len(prefixLog):])}
			if err := item.Value(func(v []byte) error { return decodeRecord(v, &r) }); err != nil {
				return false, s.wrap("read log", key, err)
			}
			out = append(out, r)
			return len(out) < limit, nil
		})
	})
	if err != nil {
		return nil, s.wrap("read log after", []byte(strconv.FormatUint(after, 10)), err)
	}
	return out, nil
}

// LastSeq returns the sequence number of the last record appended to the
// change log, 0 if none ever was. [Store.Trim] never removes the last
// record, so LastSeq survives a reopen.
func (s *Store) LastSeq(ctx context.Context) (uint64, error) {
	if err := s.enter(ctx); err != nil {
		return 0, err
	}
	defer s.leave()
	return s.lastSeq.Load(), nil
}

// readLastSeq finds the last record's seq in the log.
func (s *Store) readLastSeq() (uint64, error) {
	var last uint64
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Reverse: true, Prefix: []byte(prefixLog)})
		defer it.Close()
		it.Seek(logKey(math.MaxUint64))
		if !it.Valid() {
			return nil
		}
		key := it.Item().Key()
		if len(key) != len(prefixLog)+8 {
			return s.wrap("read log", key, errBadValue)
		}
		last = binary.BigEndian.Uint64(key[len(prefixLog):])
		return nil
	})
	if err != nil {
		return 0, s.wrap("read", []byte(prefixLog), err)
	}
	return last, nil
}

// Offset returns the named consumer's offset: the seq of the last record it
// has handled. It returns 0 for a consumer that never set one.
func (s *Store) Offset(ctx context.Context, consumer string) (uint64, error) {
	if err := checkName("consumer name", consumer, maxNameLen); err != nil {
		return 0, err
	}
	if err := s.enter(ctx); err != nil {
		return 0, err
	}
	defer s.leave()
	key := offsetKey(consumer)
	var off uint64
	err := s.db.View(func(txn *badger.Txn) (err error) {
		off, _, err = getOffset(txn, key)
		return err
	})
	if err != nil {
		return 0, s.wrap("read offset", key, err)
	}
	return off, nil
}

func getOffset(txn *badger.Txn, key []byte) (uint64, bool, error) {
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	var off uint64
	err = item.Value(func(v []byte) error {
		if len(v) != 8 {
			return errBadValue
		}
		off = binary.BigEndian.Uint64(v)
		return nil
	})
	return off, err == nil, err
}

// SetOffset records that the named consumer has handled every record up to
// and including seq, and registers the consumer if it is new (seq may be 0
// to register without handling anything). An offset never moves backwards:
// a seq below the current offset is ignored. A seq past the last record is
// an error wrapping [ErrInvalid]. Registered consumers hold back
// [Store.Trim].
func (s *Store) SetOffset(ctx context.Context, consumer string, seq uint64) error {
	if err := checkName("consumer name", consumer, maxNameLen); err != nil {
		return err
	}
	if err := s.enterWrite(ctx); err != nil {
		return err
	}
	defer s.leave()
	if seq > s.lastSeq.Load() {
		// The record may be committed but lastSeq not yet updated: ask the log.
		last, err := s.readLastSeq()
		if err != nil {
			return err
		}
		if seq > last {
			return errorf(ErrInvalid, "%s: offset %d for %q is past the last record %d", s.where, seq, consumer, last)
		}
	}
	key := offsetKey(consumer)
	s.omu.Lock() // conflict detection is off: serialize the read-modify-write
	defer s.omu.Unlock()
	err := s.update(func(txn *badger.Txn) error {
		cur, ok, err := getOffset(txn, key)
		if err != nil || (ok && cur >= seq) {
			return err
		}
		return txn.Set(key, binary.BigEndian.AppendUint64(nil, seq))
	})
	if err != nil {
		return s.wrap("set offset", key, err)
	}
	return nil
}

func (s *Store) offsets() (map[string]uint64, error) {
	out := make(map[string]uint64)
	err := s.db.View(func(txn *badger.Txn) error {
		opt := badger.IteratorOptions{PrefetchValues: true, PrefetchSize: 16, Prefix: []byte(prefixOffset)}
		return s.iterate(context.Background(), txn, opt, nil, func(item *badger.Item) (bool, error) {
			err := item.Value(func(v []byte) error {
				if len(v) != 8 {
					return errBadValue
				}
				out[string(item.Key()[len(prefixOffset):])] = binary.BigEndian.Uint64(v)
				return nil
			})
			if err != nil {
				return false, s.wrap("read offset", item.Key(), err)
			}
			return true, nil
		})
	})
	if err != nil {
		return nil, s.wrap("read", []byte(prefixOffset), err)
	}
	return out, nil
}

// DeleteOffset unregisters the named consumer (a remote that was removed),
// so that it no longer holds back [Store.Trim]. Its dead letters stay.
func (s *Store) DeleteOffset(ctx context.Context, consumer string) error {
	if err := checkName("consumer name", consumer, maxNameLen); err != nil {
		return err
	}
	if err := s.enterWrite(ctx); err != nil {
		return err
	}
	defer s.leave()
	key := offsetKey(consumer)
	s.omu.Lock()
	defer s.omu.Unlock()
	if err := s.update(func(txn *badger.Txn) error { return txn.Delete(key) }); err != nil {
		return s.wrap("delete offset", key, err)
	}
	return nil
}

// trimBatch is how many log keys Trim collects before deleting them.
const trimBatch = 8192

// Trim removes the change-log records that every registered consumer has
// passed (Seq <= the smallest offset) and that are older than
// Options.LogRetention, and returns how many it removed. With no registered
// consumer, only retention applies (with no retention, every record but the
// last goes). The last record is always kept, so that
// sequence numbers keep rising across a reopen. Trim stops at the first
// record it must keep: records are in time order but for clock steps.
func (s *Store) Trim(ctx context.Context) (int, error) {
	if err := s.enterWrite(ctx); err != nil {
		return 0, err
	}
	defer s.leave()
	offs, err := s.offsets()
	if err != nil {
		return 0, err
	}
	upTo := s.lastSeq.Load() // exclusive: the last record stays
	for _, off := range offs {
		if off+1 < upTo {
			upTo = off + 1
		}
	}
	cutoff := s.clock().Add(-s.reten)
	if s.reten == 0 {
		cutoff = time.Unix(1<<62, 0) // no retention: the consumers alone decide
	}
	total := 0
	for {
		if err := s.stopped(ctx); err != nil {
			return total, err
		}
		keys, more, err := s.trimCandidates(ctx, upTo, cutoff)
		if err != nil {
			return total, err
		}
		if len(keys) > 0 {
			// Record how far the log is trimmed before removing anything
			// (keys are in seq order: the last is the highest), so that a
			// reader that misses a record always sees the mark.
			last := keys[len(keys)-1][len(prefixLog):]
			if err := s.update(func(txn *badger.Txn) error {
				return txn.Set([]byte(keyTrimmed), append([]byte(nil), last...))
			}); err != nil {
				return total, s.wrap("trim", []byte(keyTrimmed), err)
			}
			wb := s.db.NewWriteBatch()
			for _, k := range keys {
				if err := wb.Delete(k); err != nil {
					wb.Cancel()
					return total, s.wrap("trim", k, err)
				}
			}
			if err := wb.Flush(); err != nil {
				return total, s.wrap("trim", keys[0], err)
			}
			total += len(keys)
		}
		if !more {
			return total, nil
		}
	}
}

// Trimmed returns the sequence number of the last record [Store.Trim]
// removed, 0 if it never removed any. ReadLog can no longer return records
// at or below it: a consumer whose offset is below it has missed records
// and must start again from the entries (see [Store.ScanAt]).
func (s *Store) Trimmed(ctx context.Context) (uint64, error) {
	if err := s.enter(ctx); err != nil {
		return 0, err
	}
	defer s.leave()
	var seq uint64
	err := s.db.View(func(txn *badger.Txn) (err error) {
		seq, err = readTrimmed(txn)
		return err
	})
	if err != nil {
		return 0, s.wrap("read", []byte(keyTrimmed), err)
	}
	return seq, nil
}

func readTrimmed(txn *badger.Txn) (uint64, error) {
	item, err := txn.Get([]byte(keyTrimmed))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var seq uint64
	err = item.Value(func(v []byte) error {
		if len(v) != 8 {
			return errBadValue
		}
		seq = binary.BigEndian.Uint64(v)
		return nil
	})
	return seq, err
}

// trimCandidates returns up to trimBatch log keys from the start of the log
// with seq < upTo and time before cutoff, and whether there may be more.
func (s *Store) trimCandidates(ctx context.Context, upTo uint64, cutoff time.Time) (keys [][]byte, more bool, err error) {
	end := logKey(upTo)
	err = s.db.View(func(txn *badger.Txn) error {
		opt := badger.IteratorOptions{Prefix: []byte(prefixLog)} // values read one by one: Trim often stops at the first key
		return s.iterate(ctx, txn, opt, nil, func(item *badger.Item) (bool, error) {
			if bytes.Compare(item.Key(), end) >= 0 {
				return false, nil
			}
			var t time.Time
			if err := item.Value(func(v []byte) (err error) {
				t, err = recordTime(v)
				return err
			}); err != nil {
				return false, s.wrap("read log", item.Key(), err)
			}
			if !t.Before(cutoff) {
				return false, nil
			}
			if len(keys) == trimBatch {
				more = true
				return false, nil
			}
			keys = append(keys, item.KeyCopy(nil))
			return true, nil
		})
	})
	return keys, more, err
}

// recordTime decodes only a record's time.
func recordTime(v []byte) (time.Time, error) {
	d := decoder{b: v}
	d.version()
	d.byte()
	f := d.flags()
	t := d.optTime(f, flagFirstTime)
	if d.bad {
		return time.Time{}, errBadValue
	}
	return t, nil
}

// LogStats describes the change log and its consumers.
type LogStats struct {
	FirstSeq uint64 // the first record kept; 0 when the log holds none
	LastSeq  uint64 // the last record appended; 0 if none ever was
	Records  int    // records kept (FirstSeq through LastSeq, less gaps)
	Trimmed  uint64 // the last record Trim removed; 0 if none
	// Offsets holds every registered consumer's offset.
	Offsets map[string]uint64
}

// LogStats counts the change log's records (reading their keys only) and
// returns it with every consumer's offset.
func (s *Store) LogStats(ctx context.Context) (LogStats, error) {
	if err := s.enter(ctx); err != nil {
		return LogStats{}, err
	}
	defer s.leave()
	var ls LogStats
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		if ls.Trimmed, err = readTrimmed(txn); err != nil {
			return s.wrap("read", []byte(keyTrimmed), err)
		}
		opt := badger.IteratorOptions{Prefix: []byte(prefixLog)}
		return s.iterate(ctx, txn, opt, nil, func(item *badger.Item) (bool, error) {
			key := item.Key()
			if len(key) != len(prefixLog)+8 {
				return false, s.wrap("read log", key, errBadValue)
			}
			if ls.Records == 0 {
				ls.FirstSeq = binary.BigEndian.Uint64(key[len(prefixLog):])
			}
			ls.Records++
			return true, nil
		})
	})
	if err != nil {
		return LogStats{}, s.wrap("read", []byte(prefixLog), err)
	}
	ls.LastSeq = s.lastSeq.Load()
	if ls.Offsets, err = s.offsets(); err != nil {
		return LogStats{}, err
	}
	return ls, nil
}

// HeldBy returns the consumer that holds the log back: the one with the
// lowest offset, if that offset is below LastSeq (ties go to the first
// name in order). Trim keeps every record after it, whatever their age,
// until it moves on or is unregistered. It returns "" when no consumer is
// behind.
func (ls LogStats) HeldBy() string {
	name, low := "", ls.LastSeq
	for c, off := range ls.Offsets {
		if off < low || off == low && name != "" && c < name {
			name, low = c, off
		}
	}
	return name
}
