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
	// PutMeta, AddDeadLetter, RetryDeadLetters) while the filesystem
	// holding the store has less free space than Options.MinFreeBytes.
	// Nothing was written; reads go on working.
	ErrDiskFull = errors.New("storage: disk almost full")
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
