package guard

import (
	"github.com/sendguard/sendguard/filter"
	"github.com/sendguard/sendguard/storage"
)

// Stats is a snapshot of a guard's counters since it was opened.
type Stats struct {
	Checks         uint64 // Check calls that normalized: Allowed + Blocked + unconfirmed
	Allowed        uint64 // checks that said "send"
	Blocked        uint64 // checks that said "blocked", confirmed by the store
	Invalid        uint64 // checks of input that is not a recipient
	FilterMaybes   uint64 // filter (or domain set) "maybe"s, answered by the blocked cache or a store look-up
	CacheHits      uint64 // maybes answered from the blocked cache (see WithBlockedCacheSize): blocked, no store read
	FalsePositives uint64 // maybes the store answered "not blocked"
	StoreErrors    uint64 // look-ups that failed (failed closed unless FailOpen)
	Blocks         uint64 // blocks written by this guard
	Unblocks       uint64 // unblocks that removed a block
	Imported       uint64 // blocks written by Import
	Trimmed        uint64 // change-log records trimmed (see WithLogRetention)
	DomainBlocks   int    // blocked domains held for the domain check
	Filter         filter.Stats
	Store          storage.StoreStats
	// LastRebuildError is the last background filter rebuild's error, or ""
	// if it succeeded (or none has run).
	LastRebuildError string
}

// Stats returns the guard's counters. It is cheap and safe to call at any
// time, also concurrently with checks; the counts are exact once checks stop.
func (g *Guard) Stats() Stats {
	s := Stats{
		Allowed:        g.allowed.load(),
		Blocked:        g.blocked.load(),
		Invalid:        g.invalid.load(),
		FilterMaybes:   g.maybes.load(),
		CacheHits:      g.cacheHits(),
		FalsePositives: g.falsePositives.load(),
		StoreErrors:    g.storeErrors.load(),
		Blocks:         g.blocks.Load(),
		Unblocks:       g.unblocks.Load(),
		Imported:       g.imported.Load(),
		Trimmed:        g.trimmed.Load(),
		DomainBlocks:   len(g.domains.Load().set),
		Filter:         g.filter.Stats(),
		Store:          g.store.Stats(),
	}
	s.Checks = s.Allowed + s.Blocked
	if g.opts.failMode == FailClosed {
		s.Checks += s.StoreErrors
	}
	if p := g.lastRebuildErr.Load(); p != nil {
		s.LastRebuildError = (*p).Error()
	}
	return s
}

func (g *Guard) cacheHits() uint64 {
	if g.cache == nil {
		return 0
	}
	return g.cache.hits.load()
}
