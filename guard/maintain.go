package guard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// changed wakes Changes waiters and the rebuild loop.
func (g *Guard) changed() {
	g.notifyMu.Lock()
	close(g.notifyCh)
	g.notifyCh = make(chan struct{})
	g.notifyMu.Unlock()
	select {
	case g.kick <- struct{}{}:
	default:
	}
}

// maintain is the guard's background goroutine: it rebuilds the filter
// when it is over capacity or stale, and trims the change log on every
// tick of the schedule.
func (g *Guard) maintain(ctx context.Context) {
	t := time.NewTicker(g.opts.rebuildInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			g.trimLog(ctx)
		case <-g.kick:
		}
		if !g.filter.NeedsRebuild() {
			continue
		}
		if err := g.Rebuild(ctx); err != nil && ctx.Err() == nil {
			g.opts.log.Warn("guard: filter rebuild failed", slog.Any("err", err))
		}
	}
}

// Rebuild builds a fresh filter from the store and swaps it in, clearing
// the bits of unblocked and expired contacts and resizing for the current
// count. Checks and blocks go on meanwhile: a block made during the rebuild
// lands in both filters. The guard rebuilds by itself when needed; Rebuild
// is for operators and tests.
func (g *Guard) Rebuild(ctx context.Context) error {
	if g.closed.Load() {
		return ErrClosed
	}
	st := g.filter.Stats()
	expected := max(uint(st.Count-min(st.Stale, st.Count))*2, g.opts.expected)
	err := g.filter.Rebuild(ctx, expected, g.scanKeys)
	if err != nil {
		g.lastRebuildErr.Store(&err)
		return fmt.Errorf("guard: rebuild: %w", err)
	}
	g.lastRebuildErr.Store(nil)
	return nil
}

// closeTrimTime bounds the trim in Close: a log that needs longer is
// trimmed further by the next open guard.
const closeTrimTime = 5 * time.Second

// trimLog removes the change-log records every consumer has passed and
// that are older than the retention (storage.Store.Trim). A failure is
// logged: the records stay for the next try.
func (g *Guard) trimLog(ctx context.Context) {
	if g.store.ReadOnly() {
		return // a read-only guard writes nothing; the writer trims
	}
	ctx, cancel := context.WithTimeout(ctx, closeTrimTime)
	defer cancel()
	n, err := g.store.Trim(ctx)
	switch {
	case err != nil && !errors.Is(err, context.Canceled):
		g.opts.log.Warn("guard: change-log trim failed", slog.Any("err", err))
	case n > 0:
		g.trimmed.Add(uint64(n))
		g.opts.log.Debug("guard: change log trimmed", slog.Int("records", n))
	}
}
