package guard

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sendguard/sendguard/normalize"
	"github.com/sendguard/sendguard/storage"
)

// Rejected is one input [Guard.Import] or [Guard.ImportEntries] could not
// read.
type Rejected struct {
	Index int    // position in the input slice
	Input string // the input as given
	Err   error  // wraps normalize.ErrInvalid
}

// ImportResult counts what [Guard.Import] and [Guard.ImportEntries] did.
type ImportResult struct {
	Added   int        // new blocks written
	Present int        // already blocked (in the store, or earlier in the same input)
	Expired int        // not written: the entry's ExpiresAt had passed (ImportEntries only)
	Invalid []Rejected // inputs that are not recipients, in input order
}

// ImportEntry is one block for [Guard.ImportEntries], with its own
// metadata: a restore of an export, or a list from another system.
type ImportEntry struct {
	Recipient string    // any form Block accepts
	Reason    string    // why it is blocked
	Source    string    // where the block comes from; "" means "import"
	CreatedAt time.Time // when it was made; zero means now (the guard's clock)
	ExpiresAt time.Time // when it lapses; zero means never
}

// Import blocks many recipients at once through the store's bulk path, all
// with the same reason and options (the source defaults to "import"). Like
// Block, every imported contact is in the filter before Import returns.
// Invalid inputs are reported, not fatal; the error is for the import
// itself (the store failing, ctx ending, an expiry in the past), in which
// case some blocks may have been written and a retry is safe.
//
// Import never replaces or extends a block already in force; it counts the
// contact as Present.
func (g *Guard) Import(ctx context.Context, recipients []string, reason string, opts ...BlockOption) (ImportResult, error) {
	return g.importEach(ctx, len(recipients), func(i int) (string, storage.Entry, error) {
		r := recipients[i]
		c, err := g.norm.Parse(r)
		if err != nil {
			return r, storage.Entry{}, err
		}
		e, err := g.entry(c, r, reason, sourceImport, opts)
		if err != nil {
			return r, e, &importError{err}
		}
		return r, e, nil
	})
}

// ImportEntries is Import with a reason, source and times for each entry.
// An entry whose ExpiresAt has already passed is not written and is counted
// as Expired.
func (g *Guard) ImportEntries(ctx context.Context, entries []ImportEntry) (ImportResult, error) {
	now := g.opts.now()
	return g.importEach(ctx, len(entries), func(i int) (string, storage.Entry, error) {
		ie := &entries[i]
		c, err := g.norm.Parse(ie.Recipient)
		if err != nil {
			return ie.Recipient, storage.Entry{}, err
		}
		e := storage.Entry{
			Contact:   c,
			Original:  ie.Recipient,
			Reason:    ie.Reason,
			Source:    cmp.Or(ie.Source, sourceImport),
			CreatedAt: cmp.Or(ie.CreatedAt, now),
			ExpiresAt: ie.ExpiresAt,
		}
		if len(e.Reason) > storage.MaxEntryText || len(e.Source) > storage.MaxEntryText {
			return ie.Recipient, e, &normalize.InvalidError{Input: ie.Recipient, Kind: c.Kind,
				Reason: fmt.Sprintf("reason or source over %d bytes", storage.MaxEntryText)}
		}
		if !e.ExpiresAt.IsZero() && !e.ExpiresAt.After(now) {
			return ie.Recipient, e, errExpired
		}
		return ie.Recipient, e, nil
	})
}

// errExpired marks an import entry that lapsed before it was imported.
var errExpired = errors.New("expired")

// importError marks an error that fails the whole import.
type importError struct{ err error }

func (e *importError) Error() string { return e.err.Error() }
func (e *importError) Unwrap() error { return e.err }

// importEach reads n inputs with read, which returns the input text, its
// entry, and an error: invalid input (reported in Invalid), errExpired
// (counted), or an *importError (fatal). It then writes the entries in
// bulk, store first and filter second, as put does.
func (g *Guard) importEach(ctx context.Context, n int, read func(i int) (string, storage.Entry, error)) (ImportResult, error) {
	var res ImportResult
	entries := make([]storage.Entry, 0, n)
	// Keyed by the contact itself: no key string to allocate per entry.
	seen := make(map[normalize.Contact]struct{}, n)
	var domains []string
	for i := range n {
		input, e, err := read(i)
		var fatal *importError
		switch {
		case errors.As(err, &fatal):
			return res, fatal.err
		case errors.Is(err, errExpired):
			res.Expired++
			continue
		case err != nil:
			res.Invalid = append(res.Invalid, Rejected{Index: i, Input: input, Err: err})
			continue
		}
		key := e.Contact
		if _, dup := seen[key]; dup {
			res.Present++
			continue
		}
		seen[key] = struct{}{}
		entries = append(entries, e)
		if e.Contact.Kind == normalize.Domain {
			domains = append(domains, e.Contact.Value)
		}
	}
	if len(entries) == 0 {
		return res, nil
	}
	g.wmu.Lock()
	defer g.wmu.Unlock()
	if g.closed.Load() {
		return res, ErrClosed
	}
	if len(domains) > 0 {
		g.addDomains(domains)
	}
	// A contact the filter says "no" to has no live entry in the store
	// (the filter has every key written since its last rebuild began, and
	// every live one then; wmu keeps other writes out): the store skips its
	// presence read. (A lapsed entry the last rebuild left out is replaced,
	// as the read would have decided too.)
	keys := entryKeys(entries)
	absent := make([]bool, len(entries))
	for i, k := range keys {
		absent[i] = !g.filter.MayContain(k)
	}
	ir, err := g.store.ImportAbsent(ctx, entries, absent)
	// Import writes only contacts with no live block, but a cached block
	// may have lapsed in the store meanwhile: invalidate them all.
	g.invalidateKeys(keys)
	// Store first, then filter, as in put. Every key goes to the
	// filter even if the import failed part way: some may have been
	// written, and an extra key is only a "maybe". One batch: a big one
	// costs one copy of the filter, not one per fold.
	g.filter.AddAll(keys)
	res.Added += ir.Added
	res.Present += ir.Present
	res.Expired += ir.Expired
	g.imported.Add(uint64(ir.Added))
	g.met.wrote(importSource(entries), opBlock, uint64(ir.Added))
	if ir.Added > 0 {
		g.changed()
	}
	if err != nil {
		return res, fmt.Errorf("guard: import: %w", err)
	}
	return res, nil
}

// invalidateKeys drops the blocks on keys from the blocked cache, after
// the store write: one by one, or the whole cache when keys outnumber it.
func (g *Guard) invalidateKeys(keys [][]byte) {
	bc := g.cache
	if bc == nil {
		return
	}
	if len(keys) > bc.lru.Len() {
		bc.invalidateAll()
		return
	}
	bc.invalidate(keys...)
}

// entryKeys returns the keys of entries' contacts, all in one buffer.
func entryKeys(entries []storage.Entry) [][]byte {
	ends := make([]int, len(entries))
	var buf []byte
	for i := range entries {
		buf = entries[i].Contact.AppendKey(buf)
		ends[i] = len(buf)
	}
	keys := make([][]byte, len(entries))
	start := 0
	for i, end := range ends {
		keys[i] = buf[start:end:end]
		start = end
	}
	return keys
}

// importSource is the source an import's blocks are counted under in the
// sendguard.blocks instrument: the entries' source when they share one,
// else "import" (the store does not say which entries of a mixed import
// were new).
func importSource(entries []storage.Entry) string {
	for i := range entries {
		if entries[i].Source != entries[0].Source {
			return sourceImport
		}
	}
	return entries[0].Source
}
