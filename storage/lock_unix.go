//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package storage

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
)

// lockFile is the store's own lock, taken before Badger's so that a second
// opener gets a typed error (Badger reports its lock failure as text).
const lockFile = "sendguard.lock"

const errWouldBlock = syscall.EWOULDBLOCK

// lockDir takes an exclusive, non-blocking flock on dir/sendguard.lock and
// returns its release. It fails with an error wrapping errWouldBlock when
// another open file description (another process, or another Store in this
// one) holds it. The kernel drops the lock when the process dies.
func lockDir(dir string) (func() error, error) {
	f, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
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
