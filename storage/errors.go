package storage

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error this package returns for one of these
// conditions wraps the sentinel (test with errors.Is) and names the store's
// directory ("(in memory)" for an in-memory store).
var (
	// ErrLocked is returned by [Open] when the directory is held by another
	// process, or by another open Store in this process.
	ErrLocked = errors.New("storage: directory locked")
	// ErrFormat is returned by [Open] for a store written in a format this
	// build does not read: an unknown format version, another key format
	// version, or a Badger directory that is not a sendguard store.
	ErrFormat = errors.New("storage: unknown format")
	// ErrSettings is returned by [Open] when a setting that changes keys
	// (provider folding) differs from the one the store was created with.
	ErrSettings = errors.New("storage: settings mismatch")
	// ErrCorrupt is returned when stored bytes cannot be decoded: an entry,
	// a change-log record, a dead letter, the format record, or Badger's own
	// manifest. The error names the key (redacted) and the directory.
	ErrCorrupt = errors.New("storage: corrupt data")
	// ErrClosed is returned by every method called on (or still running
	// when) a Store is closed.
	ErrClosed = errors.New("storage: store closed")
	// ErrDiskFull is returned by a write (Put, Delete, Import, SetOffset,
	// PutMeta, DeleteMeta, AddDeadLetter, RetryDeadLetters, DeleteOffset,
	// Trim, CollectGarbage) while the filesystem holding the store has less
	// free space than Options.MinFreeBytes, or had less when the store was
	// opened; nothing was written and reads go on working. [Open] returns
	// it when a store must be created, or must replay its write-ahead log,
	// on such a filesystem; [Store.Close] when it has no room to flush.
	ErrDiskFull = errors.New("storage: disk almost full")
	// ErrNoStore is returned by [Open] when the directory holds no
	// sendguard store and Open may not create one there: the directory is
	// missing or empty and Options.ReadOnly or Options.MustExist is set, or
	// it holds other files (Open never creates a store among them).
	ErrNoStore = errors.New("storage: no sendguard store")
	// ErrReadOnly is returned by every write to a store opened with
	// Options.ReadOnly. Nothing was written.
	ErrReadOnly = errors.New("storage: store opened read-only")
	// ErrInvalid is returned for arguments the store cannot hold: a contact
	// with no kind or value, an empty or oversized consumer name or meta key.
	ErrInvalid = errors.New("storage: invalid argument")
)

// errorf returns an error wrapping sentinel: "<sentinel>: <format...>".
func errorf(sentinel error, format string, args ...any) error {
	return storeError{fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...)}
}

// storeError marks an error as already shaped by this package (prefixed,
// naming the directory), so that layers above do not wrap it again.
type storeError struct{ err error }

func (e storeError) Error() string { return e.err.Error() }
func (e storeError) Unwrap() error { return e.err }

// isOurs reports whether err is (or wraps) an error made by this package.
func isOurs(err error) bool {
	var se storeError
	return errors.As(err, &se)
}
