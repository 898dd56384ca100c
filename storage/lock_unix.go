//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package storage

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
)

const errWouldBlock = syscall.EWOULDBLOCK

// lockDir takes a non-blocking flock on dir/sendguard.lock — exclusive, or
// shared when shared is set (read-only stores: readers may share, a writer
// may not) — and returns its release. It fails with an error wrapping
// errWouldBlock when another open file description (another process, or
// another Store in this one) holds a conflicting lock. The kernel drops the
// lock when the process dies. A shared lock opens the file read-only, so
// that a read-only store writes nothing when the file exists.
func lockDir(dir string, shared bool) (func() error, error) {
	path := filepath.Join(dir, lockFile)
	how := syscall.LOCK_EX
	var f *os.File
	var err error
	if shared {
		how = syscall.LOCK_SH
		f, err = os.Open(path)
	}
	if !shared || errors.Is(err, os.ErrNotExist) {
		f, err = os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	}
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EAGAIN) {
			err = errWouldBlock
		}
		return nil, err
	}
	return func() error {
		uerr := syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		return errors.Join(uerr, f.Close())
	}, nil
}
