package storage

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/sendguard/sendguard/normalize"
)

// FormatVersion is the version of the store's layout and value encodings
// (see "Layout" in doc.go). A store records it at creation; [Open] refuses
// any other with an error wrapping ErrFormat.
const FormatVersion = 1

// Sequence lease sizes: how many numbers one Badger lease covers. A crash
// loses at most this many numbers (a gap, never a reuse).
const (
	logSeqBandwidth  = 4096
	deadSeqBandwidth = 64
)

// maxConflictRetries bounds the retries of a transaction that meets
// badger.ErrConflict.
const maxConflictRetries = 8

// Store is the blocklist's durable state over one Badger database: block
// entries, the change log, consumer offsets, dead letters, tombstones and a
// small metadata space. Create it with [Open].
//
// Store is safe for concurrent use by multiple goroutines. Writes that
// append to the change log (Put, Delete, Import, RetryDeadLetters) are
// serialized so that sequence order is commit order; reads never wait for
// them. Callbacks passed to the Scan methods run inside a read transaction
// and may call the Store's other methods, but not Close.
type Store struct {
	db      *badger.DB
	dir     string
	where   string // the directory, quoted, or "(in memory)": for messages
	log     *slog.Logger
	clock   func() time.Time
	folding bool
	reten   time.Duration
	minFree int64        // Options.MinFreeBytes; <= 0: no check
	unlock  func() error // releases our own directory lock

	logSeq  *badger.Sequence
	deadSeq *badger.Sequence
	wmu     sync.Mutex // held while appending to the change log
	omu     sync.Mutex // held by SetOffset's read-modify-write
	lastSeq atomic.Uint64

	refs      atomic.Int64  // operations in flight
	closing   atomic.Bool   // set first thing in Close
	drained   chan struct{} // cap 1: the last operation left while closing
	done      chan struct{} // closed when Close starts: long operations stop
	gcCancel  context.CancelFunc
	gcDone    chan struct{}
	closeOnce sync.Once
	closeErr  error

	stats struct {
		puts, deletes, imported, retries, gcRuns, gcRewrites atomic.Uint64
	}
}

// formatRecord is the JSON value under keyFormat, written at creation.
type formatRecord struct {
	Format          int       `json:"format"`
	KeyVersion      int       `json:"keyVersion"`
	ProviderFolding bool      `json:"providerFolding"`
	Created         time.Time `json:"created"`
}

// Open opens the store in dir, creating the directory and the store if
// they do not exist, or an in-memory store when opts.InMemory is set (dir
// must then be ""). The caller must Close the store.
//
// Every error names the directory. Open returns an error wrapping
// [ErrLocked] when another process (or another Store in this process) holds
// dir, [ErrFormat] for a store in another format or a Badger directory that
// is not a sendguard store, [ErrSettings] when opts.ProviderFolding differs
// from the store's, and [ErrCorrupt] for an unreadable format record or
// Badger manifest.
func Open(dir string, opts Options) (s *Store, err error) {
	o := opts.withDefaults()
	where := strconv.Quote(dir)
	switch {
	case o.InMemory && dir != "":
		return nil, errorf(ErrInvalid, "in-memory store with directory %s", where)
	case o.InMemory:
		where = "(in memory)"
	case dir == "":
		return nil, errorf(ErrInvalid, "no directory (set Options.InMemory for an in-memory store)")
	}

	unlock := func() error { return nil }
	if !o.InMemory {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("storage: open %s: %w", where, err)
		}
		u, err := lockDir(dir)
		if err != nil {
			if errors.Is(err, errWouldBlock) {
				return nil, errorf(ErrLocked, "%s is in use by another process (or another open Store)", where)
			}
			return nil, fmt.Errorf("storage: open %s: lock: %w", where, err)
		}
		unlock = u
	}
	defer func() {
		if err != nil {
			_ = unlock()
		}
	}()

	db, err := openBadger(dir, where, opts)
	if err != nil {
		return nil, err
	}
	s = &Store{
		db:      db,
		dir:     dir,
		where:   where,
		log:     o.Logger,
		clock:   o.Clock,
		folding: o.ProviderFolding,
		reten:   o.LogRetention,
		unlock:  unlock,
		minFree: o.MinFreeBytes,
		drained: make(chan struct{}, 1),
		done:    make(chan struct{}),
	}
	if err := s.init(); err != nil {
		_ = s.releaseSeqs()
		_ = db.Close()
		return nil, err
	}
	if !o.InMemory && o.GCInterval > 0 {
		t := time.NewTicker(o.GCInterval)
		s.startGC(t.C, t.Stop)
	}
	return s, nil
}

// openBadger opens Badger and classifies its errors, which arrive as text
// (Badger formats the cause with %+v, so errors.Is cannot see it). A panic
// inside badger.Open (it has a few y.Check calls on its open path) becomes
// an error wrapping ErrCorrupt.
func openBadger(dir, where string, opts Options) (db *badger.DB, err error) {
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, errorf(ErrCorrupt, "%s: badger panicked while opening: %v", where, r)
		}
	}()
	db, err = badger.Open(badgerOptions(dir, opts, opts.Logger))
	if err == nil {
		return db, nil
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "Another process is using this Badger database"):
		return nil, errorf(ErrLocked, "%s is in use by another process: %v", where, err)
	case strings.Contains(msg, "unsupported version"), strings.Contains(msg, "external magic"):
		return nil, errorf(ErrFormat, "%s: %v", where, err)
	case strings.Contains(msg, "bad magic"), strings.Contains(msg, "checksum mismatch"),
		strings.Contains(msg, "corrupt"), strings.Contains(msg, "truncat"):
		return nil, errorf(ErrCorrupt, "%s: %v", where, err)
	}
	return nil, fmt.Errorf("storage: open %s: %w", where, err)
}

// init checks or writes the format record, finds the last change-log seq
// and leases the sequences.
func (s *Store) init() error {
	if err := s.checkFormat(); err != nil {
		return err
	}
	last, err := s.readLastSeq()
	if err != nil {
		return err
	}
	s.lastSeq.Store(last)
	// The lease must start past the last record even if (after a power
	// loss, say) the lease write was lost but a record was not.
	err = s.db.Update(func(txn *badger.Txn) error {
		item, err := txn.Get([]byte(keySeqLog))
		switch {
		case errors.Is(err, badger.ErrKeyNotFound):
			if last == 0 {
				return nil
			}
		case err != nil:
			return err
		default:
			var lease uint64
			if err := item.Value(func(v []byte) error {
				if len(v) != 8 {
					return errBadValue
				}
				lease = binary.BigEndian.Uint64(v)
				return nil
			}); err != nil {
				return err
			}
			if lease >= last {
				return nil
			}
		}
		return txn.Set([]byte(keySeqLog), binary.BigEndian.AppendUint64(nil, last))
	})
	if err != nil {
		return s.wrap("lease sequence", []byte(keySeqLog), err)
	}
	if s.logSeq, err = s.db.GetSequence([]byte(keySeqLog), logSeqBandwidth); err != nil {
		return s.wrap("lease sequence", []byte(keySeqLog), err)
	}
	if s.deadSeq, err = s.db.GetSequence([]byte(keySeqDead), deadSeqBandwidth); err != nil {
		return s.wrap("lease sequence", []byte(keySeqDead), err)
	}
	return nil
}

func (s *Store) checkFormat() error {
	return s.db.Update(func(txn *badger.Txn) error {
		item, err := txn.Get([]byte(keyFormat))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return s.createFormat(txn)
		}
		if err != nil {
			return fmt.Errorf("storage: open %s: read format record: %w", s.where, err)
		}
		var f formatRecord
		err = item.Value(func(v []byte) error {
			dec := json.NewDecoder(bytes.NewReader(v))
			return dec.Decode(&f)
		})
		switch {
		case err != nil:
			return errorf(ErrCorrupt, "%s: format record: %v", s.where, err)
		case f.Format != FormatVersion:
			return errorf(ErrFormat, "%s: format version %d, this build reads %d", s.where, f.Format, FormatVersion)
		case f.KeyVersion != normalize.KeyVersion:
			return errorf(ErrFormat, "%s: key format version %d, this build makes %d", s.where, f.KeyVersion, normalize.KeyVersion)
		case f.ProviderFolding != s.folding:
			return errorf(ErrSettings, "%s: created with provider folding %s, opened with %s",
				s.where, onOff(f.ProviderFolding), onOff(s.folding))
		}
		return nil
	})
}

func (s *Store) createFormat(txn *badger.Txn) error {
	it := txn.NewIterator(badger.IteratorOptions{})
	it.Rewind()
	nonEmpty := it.Valid()
	var first []byte
	if nonEmpty {
		first = it.Item().KeyCopy(nil)
	}
	it.Close()
	if nonEmpty {
		return errorf(ErrFormat, "%s: not a sendguard store (no format record; first key %s)", s.where, redactKey(first))
	}
	v, err := json.Marshal(formatRecord{
		Format:          FormatVersion,
		KeyVersion:      normalize.KeyVersion,
		ProviderFolding: s.folding,
		Created:         s.clock().UTC(),
	})
	if err != nil {
		return err
	}
	return txn.Set([]byte(keyFormat), v)
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// startGC runs the value-log GC on every tick until Close.
func (s *Store) startGC(tick <-chan time.Time, stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	s.gcCancel = cancel
	s.gcDone = make(chan struct{})
	go func() {
		defer close(s.gcDone)
		defer stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick:
			}
			if _, err := s.collectGarbage(ctx); err != nil {
				s.log.Warn("storage: value-log gc failed", "dir", s.dir, "err", err)
			}
		}
	}()
}

func (s *Store) collectGarbage(ctx context.Context) (int, error) {
	s.stats.gcRuns.Add(1)
	n := 0
	for ctx.Err() == nil {
		err := s.db.RunValueLogGC(0.5)
		switch {
		case err == nil:
			n++
			s.stats.gcRewrites.Add(1)
			continue
		case errors.Is(err, badger.ErrNoRewrite), errors.Is(err, badger.ErrRejected),
			errors.Is(err, badger.ErrGCInMemoryMode):
			return n, nil // normal outcomes
		default:
			return n, fmt.Errorf("storage: %s: value-log gc: %w", s.where, err)
		}
	}
	return n, nil
}

// Close stops the background GC, waits for operations in flight, releases
// the sequence leases and closes Badger. It is idempotent and safe to call
// concurrently: every call waits for the first to finish and returns its
// result. Methods called after Close return an error wrapping [ErrClosed];
// long scans and imports in flight stop early with that error.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closing.Store(true)
		close(s.done)
		for s.refs.Load() != 0 {
			<-s.drained
		}
		if s.gcCancel != nil {
			s.gcCancel()
			<-s.gcDone
		}
		err := s.releaseSeqs()
		if cerr := s.db.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("storage: close %s: %w", s.where, cerr))
		}
		if uerr := s.unlock(); uerr != nil {
			err = errors.Join(err, fmt.Errorf("storage: close %s: unlock: %w", s.where, uerr))
		}
		s.closeErr = err
	})
	return s.closeErr
}

func (s *Store) releaseSeqs() error {
	var errs []error
	for _, q := range []*badger.Sequence{s.logSeq, s.deadSeq} {
		if q == nil {
			continue
		}
		if err := q.Release(); err != nil {
			errs = append(errs, fmt.Errorf("storage: close %s: release sequence: %w", s.where, err))
		}
	}
	return errors.Join(errs...)
}

// enter registers an operation in flight; it fails once Close has begun.
// Every successful enter must be paired with leave.
func (s *Store) enter(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.refs.Add(1)
	if s.closing.Load() {
		s.leave()
		return s.closedErr()
	}
	return nil
}

func (s *Store) leave() {
	if s.refs.Add(-1) == 0 && s.closing.Load() {
		select {
		case s.drained <- struct{}{}:
		default:
		}
	}
}

func (s *Store) closedErr() error { return errorf(ErrClosed, "%s", s.where) }

// enterWrite is enter for an operation that writes: it also fails, with
// an error wrapping ErrDiskFull, when the disk is almost full.
func (s *Store) enterWrite(ctx context.Context) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	if err := s.roomToWrite(); err != nil {
		s.leave()
		return err
	}
	return nil
}

// roomToWrite returns an error wrapping ErrDiskFull when the store's
// filesystem has less free space than Options.MinFreeBytes. It costs one
// statfs call, small next to a write.
func (s *Store) roomToWrite() error {
	if s.minFree <= 0 || s.dir == "" {
		return nil
	}
	free, ok := freeBytes(s.dir)
	if !ok || free >= uint64(s.minFree) {
		return nil
	}
	return errorf(ErrDiskFull, "%s: %d MiB free on its filesystem, below the %d MiB the store keeps free (Options.MinFreeBytes); nothing was written",
		s.where, free>>20, s.minFree>>20)
}

// stopped returns a non-nil error when ctx is done or Close has begun; long
// loops call it between steps.
func (s *Store) stopped(ctx context.Context) error {
	select {
	case <-s.done:
		return s.closedErr()
	default:
	}
	return ctx.Err()
}

// wrap turns an error met while working on key into the store's error:
// errBadValue becomes ErrCorrupt naming the key (redacted) and directory;
// an error already made by this package is returned as it is.
func (s *Store) wrap(op string, key []byte, err error) error {
	if isOurs(err) {
		return err
	}
	if errors.Is(err, errBadValue) {
		return errorf(ErrCorrupt, "%s: %s %s: undecodable value", s.where, op, redactKey(key))
	}
	if errors.Is(err, badger.ErrDBClosed) {
		return s.closedErr()
	}
	return storeError{fmt.Errorf("storage: %s: %s %s: %w", s.where, op, redactKey(key), err)}
}

// update runs fn in a read-write transaction, retrying a bounded number of
// times on badger.ErrConflict. (With conflict detection off, Badger does
// not return it today; the retry keeps the store correct if it is turned
// back on.)
func (s *Store) update(fn func(txn *badger.Txn) error) error {
	for i := 0; ; i++ {
		err := s.db.Update(fn)
		if !errors.Is(err, badger.ErrConflict) || i == maxConflictRetries {
			return err
		}
		s.stats.retries.Add(1)
	}
}

// ProviderFolding returns the provider-folding setting the store was
// created with (and so opened with).
func (s *Store) ProviderFolding() bool { return s.folding }

// Dir returns the directory passed to Open ("" for an in-memory store).
func (s *Store) Dir() string { return s.dir }

// StoreStats is a snapshot of a Store's counters, from [Store.Stats].
// Counters count since Open.
type StoreStats struct {
	LSMBytes   int64  // size of the LSM tree's tables, all levels
	Tables     int    // number of LSM tables
	LastSeq    uint64 // the change log's last sequence number
	Puts       uint64 // entries written by Put
	Deletes    uint64 // entries removed by Delete
	Imported   uint64 // entries written by Import
	Retries    uint64 // transactions retried after a conflict
	GCRuns     uint64 // value-log GC passes
	GCRewrites uint64 // value-log files rewritten by GC
}

// Stats returns the store's counters and sizes. It is cheap (no I/O) and
// works on a closed store (sizes then read zero).
func (s *Store) Stats() StoreStats {
	st := StoreStats{
		LastSeq:    s.lastSeq.Load(),
		Puts:       s.stats.puts.Load(),
		Deletes:    s.stats.deletes.Load(),
		Imported:   s.stats.imported.Load(),
		Retries:    s.stats.retries.Load(),
		GCRuns:     s.stats.gcRuns.Load(),
		GCRewrites: s.stats.gcRewrites.Load(),
	}
	if s.enter(context.Background()) == nil {
		for _, l := range s.db.Levels() {
			st.LSMBytes += l.Size
			st.Tables += l.NumTables
		}
		s.leave()
	}
	return st
}
