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
	"path/filepath"
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

	readOnly bool // every write is refused (ErrReadOnly, or ErrDiskFull if diskFull)
	diskFull bool // read-only because the disk was almost full at Open
	badgerRO bool // Badger itself is open read-only: nothing to flush on Close

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
	closeMu   sync.Mutex // held by Close
	closeDone bool       // Close finished (not refused for a full disk)
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
// the directory is missing or empty (unless opts.MustExist or
// opts.ReadOnly is set), or an in-memory store when opts.InMemory is set
// (dir must then be ""). It never creates a store in a directory that holds
// other files. The caller must Close the store.
//
// Every error names the directory. Open returns an error wrapping
// [ErrNoStore] when dir holds no sendguard store and none may be created
// there, [ErrLocked] when another process (or another Store in this
// process) holds dir, [ErrFormat] for a store in another format or a
// Badger directory that is not a sendguard store, [ErrSettings] when
// opts.ProviderFolding differs from the store's, [ErrDiskFull] when a store
// must be created or its write-ahead log replayed on a filesystem with less
// than opts.MinFreeBytes free, and [ErrCorrupt] for an unreadable format
// record or Badger manifest.
func Open(dir string, opts Options) (_ *Store, err error) {
	o := opts.withDefaults()
	where := strconv.Quote(dir)
	switch {
	case o.InMemory && dir != "":
		return nil, errorf(ErrInvalid, "in-memory store with directory %s", where)
	case o.InMemory && (o.ReadOnly || o.MustExist):
		return nil, errorf(ErrInvalid, "in-memory store opened read-only or must-exist")
	case o.InMemory:
		where = "(in memory)"
	case dir == "":
		return nil, errorf(ErrInvalid, "no directory (set Options.InMemory for an in-memory store)")
	}

	s := &Store{
		dir:      dir,
		where:    where,
		log:      o.Logger,
		clock:    o.Clock,
		folding:  o.ProviderFolding,
		reten:    o.LogRetention,
		unlock:   func() error { return nil },
		minFree:  o.MinFreeBytes,
		readOnly: o.ReadOnly,
		drained:  make(chan struct{}, 1),
		done:     make(chan struct{}),
	}
	if !o.InMemory {
		if err := s.prepareDir(o); err != nil {
			return nil, err
		}
	}
	defer func() {
		if err != nil {
			_ = s.unlock()
		}
	}()

	if s.db, err = s.openBadger(opts); err != nil {
		return nil, err
	}
	if err := s.init(o.ReadOnly || o.MustExist); err != nil {
		_ = s.releaseSeqs()
		_ = s.db.Close()
		return nil, err
	}
	if !o.InMemory && !s.readOnly && o.GCInterval > 0 {
		t := time.NewTicker(o.GCInterval)
		s.startGC(t.C, t.Stop)
	}
	return s, nil
}

// lockFile is the store's own lock, taken before Badger's so that a second
// opener gets a typed error (Badger reports its lock failure as text).
const lockFile = "sendguard.lock"

// Directory states, from inspectDir.
const (
	dirMissing = iota // no such directory
	dirEmpty          // nothing in it but files that are no store's
	dirStore          // a Badger database (a MANIFEST)
	dirForeign        // other files: never create a store there
	dirFile           // not a directory
)

// inspectDir says what dir holds. A directory whose only entries are the
// lock files (the store's and Badger's, left by an open cut short) or
// "lost+found" (the root of a fresh filesystem) counts as empty.
func inspectDir(dir string) (int, error) {
	fi, err := os.Stat(dir)
	if errors.Is(err, os.ErrNotExist) {
		return dirMissing, nil
	}
	if err != nil {
		return 0, err
	}
	if !fi.IsDir() {
		return dirFile, nil
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	state := dirEmpty
	for _, e := range ents {
		switch e.Name() {
		case "MANIFEST":
			return dirStore, nil
		case lockFile, "LOCK", "lost+found":
		default:
			state = dirForeign
		}
	}
	return state, nil
}

// prepareDir applies the directory rules (see Open), decides whether
// Badger opens read-only (a read-only store, or an existing store on a
// nearly full disk), creates the directory if it may, and takes the lock.
func (s *Store) prepareDir(o Options) error {
	state, err := inspectDir(s.dir)
	if err != nil {
		return fmt.Errorf("storage: open %s: %w", s.where, err)
	}
	mustExist := o.ReadOnly || o.MustExist
	switch {
	case state == dirFile:
		return errorf(ErrNoStore, "%s is not a directory", s.where)
	case state == dirForeign:
		return errorf(ErrNoStore, "%s holds other files and no sendguard store; no store is created there", s.where)
	case state == dirMissing && mustExist:
		return errorf(ErrNoStore, "%s does not exist", s.where)
	case state == dirEmpty && mustExist:
		return errorf(ErrNoStore, "%s is empty", s.where)
	}
	s.badgerRO = o.ReadOnly
	if !o.ReadOnly {
		if err := s.roomAt(existingAncestor(s.dir)); err != nil {
			if state != dirStore {
				return errorf(ErrDiskFull, "%s: no store created: %s", s.where, s.freeText(existingAncestor(s.dir)))
			}
			// Open for reading only: Badger's read-write open creates
			// and writes memory-mapped files, which a full disk turns
			// into SIGBUS. Writes fail with ErrDiskFull until a reopen.
			s.badgerRO, s.readOnly, s.diskFull = true, true, true
		}
	}
	if state == dirMissing {
		if err := os.MkdirAll(s.dir, 0o700); err != nil {
			return fmt.Errorf("storage: open %s: %w", s.where, err)
		}
	}
	return s.lock()
}

// lock takes the directory lock: shared when Badger opens read-only.
func (s *Store) lock() error {
	if err := s.unlock(); err != nil {
		return fmt.Errorf("storage: open %s: unlock: %w", s.where, err)
	}
	s.unlock = func() error { return nil }
	u, err := lockDir(s.dir, s.badgerRO)
	if err != nil {
		if errors.Is(err, errWouldBlock) {
			return errorf(ErrLocked, "%s is in use by another process (or another open Store)", s.where)
		}
		return fmt.Errorf("storage: open %s: lock: %w", s.where, err)
	}
	s.unlock = u
	return nil
}

// existingAncestor returns dir, or its nearest ancestor that exists: the
// filesystem a new directory would be made on.
func existingAncestor(dir string) string {
	for {
		if _, err := os.Stat(dir); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return dir
		}
		dir = parent
	}
}

// freeText says how much space the store's filesystem has, for messages.
func (s *Store) freeText(path string) string {
	free, _ := freeBytes(path)
	return fmt.Sprintf("%d KiB free on its filesystem, below the %d MiB the store keeps free (Options.MinFreeBytes)",
		free>>10, s.minFree>>20)
}

// openBadger opens Badger (read-only if s.badgerRO). A read-only open
// of a store whose write-ahead log must be replayed (after a crash) falls
// back to a read-write open when the disk has room, and otherwise fails
// with ErrDiskFull.
func (s *Store) openBadger(opts Options) (*badger.DB, error) {
	db, err := openBadger(s.dir, s.where, opts, s.badgerRO)
	if err == nil || !s.badgerRO || !errors.Is(err, errReplay) {
		return db, err
	}
	if rerr := s.roomToReplay(); rerr != nil {
		return nil, rerr
	}
	s.badgerRO = false
	if err := s.lock(); err != nil {
		return nil, err
	}
	return openBadger(s.dir, s.where, opts, false)
}

// roomToReplay returns an error wrapping ErrDiskFull when the filesystem
// has less than MinFreeBytes free for replaying the write-ahead log.
func (s *Store) roomToReplay() error {
	if s.minFree <= 0 {
		return nil
	}
	if free, ok := freeBytes(s.dir); ok && free < uint64(s.minFree) {
		return errorf(ErrDiskFull, "%s must replay its write-ahead log (left by a crash or an unclean close) before it can be read, and that needs free space: %s",
			s.where, s.freeText(s.dir))
	}
	return nil
}

// errReplay marks a read-only open refused because Badger's write-ahead
// log must be replayed first.
var errReplay = errors.New("write-ahead log must be replayed")

// openBadger opens Badger and classifies its errors, which arrive as text
// (Badger formats the cause with %+v, so errors.Is cannot see it). A panic
// inside badger.Open (it has a few y.Check calls on its open path) becomes
// an error wrapping ErrCorrupt.
func openBadger(dir, where string, opts Options, readOnly bool) (db *badger.DB, err error) {
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, errorf(ErrCorrupt, "%s: badger panicked while opening: %v", where, r)
		}
	}()
	db, err = badger.Open(badgerOptions(dir, opts, opts.Logger, readOnly))
	if err == nil {
		return db, nil
	}
	msg := err.Error()
	switch {
	case errors.Is(err, badger.ErrTruncateNeeded), strings.Contains(msg, badger.ErrTruncateNeeded.Error()):
		return nil, fmt.Errorf("storage: open %s: %w: %v", where, errReplay, err)
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

// init checks or writes the format record (or, when mustExist, requires
// it), finds the last change-log seq and, unless the store is read-only,
// leases the sequences.
func (s *Store) init(mustExist bool) error {
	if err := s.checkFormat(mustExist); err != nil {
		return err
	}
	last, err := s.readLastSeq()
	if err != nil {
		return err
	}
	s.lastSeq.Store(last)
	if s.readOnly {
		return nil
	}
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

func (s *Store) checkFormat(mustExist bool) error {
	run := s.db.Update
	if s.badgerRO {
		run = s.db.View
	}
	return run(func(txn *badger.Txn) error {
		item, err := txn.Get([]byte(keyFormat))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return s.createFormat(txn, mustExist || s.readOnly)
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

// createFormat writes the format record of a new store, after checking
// that the Badger database is empty; with mustExist it only reports that
// there is no store (ErrNoStore, or ErrFormat for keys of another program).
func (s *Store) createFormat(txn *badger.Txn, mustExist bool) error {
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
	if mustExist {
		return errorf(ErrNoStore, "%s holds an empty Badger database, not a sendguard store", s.where)
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
	if err := s.roomToWrite(); err != nil {
		return 0, err // GC rewrites through memory-mapped files too
	}
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
// the sequence leases and closes Badger, which flushes its memtables to
// disk. It is safe to call concurrently, and idempotent once it has
// succeeded or failed for any reason but a full disk: every later call
// returns that result. Methods called after Close return an error wrapping
// [ErrClosed]; long scans and imports in flight stop early with that error.
//
// When the filesystem has too little room for the flush (9 MiB; unless
// Options.MinFreeBytes is negative), Close does not flush — Badger writes through memory-mapped files, and a
// full disk would kill the process with SIGBUS — and returns an error
// wrapping [ErrDiskFull]. The store is closed for use, but Badger's files
// and the directory lock stay held: call Close again once there is room to
// finish, or let the process exit. Nothing committed is lost either way:
// it is in Badger's write-ahead log, which the next Open replays.
func (s *Store) Close() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closeDone {
		return s.closeErr
	}
	if !s.closing.Load() {
		s.closing.Store(true)
		close(s.done)
		for s.refs.Load() != 0 {
			<-s.drained
		}
		if s.gcCancel != nil {
			s.gcCancel()
			<-s.gcDone
		}
	}
	if !s.badgerRO && s.dir != "" && s.minFree > 0 {
		if free, ok := freeBytes(s.dir); ok && free < flushRoom {
			return errorf(ErrDiskFull, "%s: not closed: %d KiB free on its filesystem, and flushing the store needs up to %d MiB; everything committed is in its write-ahead log (the next Open replays it); call Close again once there is room, or exit",
				s.where, free>>10, flushRoom>>20)
		}
	}
	err := s.releaseSeqs()
	if cerr := s.db.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("storage: close %s: %w", s.where, cerr))
	}
	if uerr := s.unlock(); uerr != nil {
		err = errors.Join(err, fmt.Errorf("storage: close %s: unlock: %w", s.where, uerr))
	}
	s.closeErr, s.closeDone = err, true
	return err
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

// roomToWrite returns an error wrapping ErrReadOnly for a read-only store,
// and one wrapping ErrDiskFull when the store was opened on a nearly full
// disk or its filesystem now has less free space than
// Options.MinFreeBytes. It costs one statfs call, small next to a write.
func (s *Store) roomToWrite() error {
	switch {
	case s.diskFull:
		return errorf(ErrDiskFull, "%s: opened while its filesystem was almost full, so for reading only; nothing was written (reopen the store once there is room)", s.where)
	case s.readOnly:
		return errorf(ErrReadOnly, "%s: nothing was written", s.where)
	}
	return s.roomAt(s.dir)
}

// roomAt returns an error wrapping ErrDiskFull when the filesystem holding
// path has less free space than Options.MinFreeBytes.
func (s *Store) roomAt(path string) error {
	if s.minFree <= 0 || path == "" {
		return nil
	}
	free, ok := freeBytes(path)
	if !ok || free >= uint64(s.minFree) {
		return nil
	}
	return errorf(ErrDiskFull, "%s: %s; nothing was written", s.where, s.freeText(path))
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

// ReadOnly reports whether the store refuses every write: it was opened
// with Options.ReadOnly (writes fail with ErrReadOnly), or on a filesystem
// with less than Options.MinFreeBytes free (writes fail with ErrDiskFull
// until the store is reopened).
func (s *Store) ReadOnly() bool { return s.readOnly }

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
