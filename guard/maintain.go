package guard

import (
	"context"
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

// maintain rebuilds the filter in the background when it is over capacity
// or stale.
func (g *Guard) maintain(ctx context.Context) {
	t := time.NewTicker(g.opts.rebuildInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
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
