package sync

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sendguard/sendguard/storage"
)

// ErrNoClient is the failure of a vendor remote made without a client
// (for stats only): it is classed Unauthorized, so that a pass stops at
// once and dead-letters nothing.
var ErrNoClient = &RemoteError{Class: Unauthorized, Message: "sync: the remote has no client (made for stats only)"}

// DeadLetter is a change-log record a remote refused for good, kept until
// it is retried ([Engine.RetryDeadLetters]) or the remote is forgotten.
type DeadLetter struct {
	Remote string         // the remote's name
	Record storage.Record // as read from the log, with its original Seq
	Reason string         // why the remote refused it
	At     time.Time      // when it was dead-lettered
}

// The per-remote queries below read and change what the guard keeps for a
// remote by its name; the remote need not be one of the engine's (an
// engine made with no remotes answers them), and no request is sent.

func checkRemoteName(name string) error {
	if !validName(name) {
		return fmt.Errorf("sync: remote name %q: want 1 to 64 letters, digits, '.', '_' or '-'", name)
	}
	return nil
}

// DeadLetters returns the dead letters of the remote called name, in the
// order they were added, or of every remote when name is "".
func (e *Engine) DeadLetters(ctx context.Context, name string) ([]DeadLetter, error) {
	consumer := ""
	if name != "" {
		if err := checkRemoteName(name); err != nil {
			return nil, err
		}
		consumer = Consumer(name)
	}
	dls, err := e.st.DeadLetters(ctx, consumer)
	if err != nil {
		return nil, err
	}
	out := make([]DeadLetter, 0, len(dls))
	for _, d := range dls {
		remote, ok := strings.CutPrefix(d.Consumer, Consumer(""))
		if !ok {
			continue // another consumer's (not a remote)
		}
		out = append(out, DeadLetter{Remote: remote, Record: d.Record, Reason: d.Reason, At: d.At})
	}
	return out, nil
}

// RetryDeadLetters puts the dead letters of the remote called name (of
// every remote when name is "") back in its queue: the next pass delivers
// them again. It returns how many were re-queued; a dead letter whose
// contact has changed since is dropped instead (see
// [guard.Replication.RetryDeadLetters]).
func (e *Engine) RetryDeadLetters(ctx context.Context, name string) (int, error) {
	if name != "" {
		if err := checkRemoteName(name); err != nil {
			return 0, err
		}
		return e.st.RetryDeadLetters(ctx, Consumer(name))
	}
	dls, err := e.DeadLetters(ctx, "")
	if err != nil {
		return 0, err
	}
	seen := map[string]bool{}
	total := 0
	for _, d := range dls {
		if seen[d.Remote] {
			continue
		}
		seen[d.Remote] = true
		n, err := e.st.RetryDeadLetters(ctx, Consumer(d.Remote))
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// Forget drops everything the guard keeps for the remote called name —
// its offset, its dead letters and its state (what it lists, its pull
// watermark) — so that a remote removed for good no longer holds the
// change log back. A remote added again later is fed from the entries.
// Forget must not run while the engine syncs that remote.
func (e *Engine) Forget(ctx context.Context, name string) error {
	if err := checkRemoteName(name); err != nil {
		return err
	}
	return e.st.Forget(ctx, Consumer(name))
}

// HasState reports whether the guard keeps anything for the remote called
// name: an offset, dead letters or state.
func (e *Engine) HasState(ctx context.Context, name string) (bool, error) {
	if err := checkRemoteName(name); err != nil {
		return false, err
	}
	consumer := Consumer(name)
	off, err := e.st.Offset(ctx, consumer)
	if err != nil || off > 0 {
		return off > 0, err
	}
	dls, err := e.st.DeadLetters(ctx, consumer)
	if err != nil || len(dls) > 0 {
		return len(dls) > 0, err
	}
	found := false
	err = e.st.ScanState(ctx, consumer, "", func(string, []byte) error {
		found = true
		return errFound
	})
	if errors.Is(err, errFound) {
		err = nil
	}
	return found, err
}

var errFound = errors.New("found")
