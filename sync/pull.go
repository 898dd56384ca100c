package sync

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/sendguard/sendguard/normalize"
	"github.com/sendguard/sendguard/storage"
)

// pullRun is the state of one pull.
type pullRun struct {
	seen  map[string]struct{} // remote ids met in this pull
	byKey map[string]string   // contact key → remote id met in this pull
	keys  map[string]struct{} // contact keys met in this pull
	// full reports that the pull, so far, reads the remote's whole list
	// and that the list did not change meanwhile (no watermark asked, the
	// same non-zero Total on every page, every entry's contact known).
	full  bool
	total int
	start time.Time
}

// pull fetches rs's list page by page and applies new blocks through the
// guard. After each page it stores the page's watermark, and pushes at
// once if a local change happened meanwhile (a long full scan must not
// hold local blocks back). The pull is full (no watermark asked) when the
// remote keeps none, on the first pull, and when the last full pull is
// older than [WithFullPull].
func (e *Engine) pull(ctx context.Context, rs *remoteState, t *tally) error {
	since, _, err := rs.meta.get(ctx, metaPull)
	if err != nil {
		return err
	}
	start := time.Now()
	full := since == nil
	if !full && e.o.fullPull > 0 {
		v, ok, err := rs.meta.get(ctx, metaFull)
		if err != nil {
			return err
		}
		last, _ := decodeTime(v)
		full = !ok || start.Sub(last) >= e.o.fullPull
	}
	cur := Cursor{Page: 1, Since: since, State: since}
	if full {
		cur.Since = nil // the whole list; State keeps the watermark from going back
		if since != nil {
			rs.log.LogAttrs(ctx, slog.LevelInfo, "sync: full reconciliation pull")
		}
	}
	run := pullRun{seen: make(map[string]struct{}), byKey: make(map[string]string),
		keys: make(map[string]struct{}), full: full, start: start}
	changes := e.st.Changes()
	for {
		var page Page
		err := e.retry(ctx, rs, t, func() error {
			var err error
			page, err = rs.r.Pull(ctx, cur)
			return err
		})
		if err != nil {
			return fmt.Errorf("pull page %d: %w", cur.Page, err)
		}
		for i := range page.Blocks {
			if err := e.apply(ctx, rs, t, &run, &page.Blocks[i]); err != nil {
				return err
			}
		}
		if page.State != nil && !bytes.Equal(page.State, cur.State) {
			if err := rs.meta.put(ctx, metaPull, page.State); err != nil {
				return err
			}
		}
		run.full = run.full && page.Total > 0 && (cur.Page == 1 || page.Total == run.total)
		run.total = page.Total
		if !page.More {
			if full {
				if err := rs.meta.put(ctx, metaFull, encodeTime(start)); err != nil {
					return err
				}
			}
			if run.full {
				return e.reconcile(ctx, rs, &run)
			}
			return nil
		}
		cur.Page++
		cur.Next = page.Next
		if page.State != nil {
			cur.State = page.State
		}
		select {
		case <-changes:
			changes = e.st.Changes()
			if err := e.push(ctx, rs, t); err != nil {
				return err
			}
		default:
		}
	}
}

// reconcile ends a pull that read the remote's whole list: a contact
// marked as still listed after a local unblock, or whose pushed block
// lapsed before the pull began, that the list no longer holds was removed
// at the remote (by an operator, as Stats suggested), so its marks go and
// a new block of it is pushed again.
func (e *Engine) reconcile(ctx context.Context, rs *remoteState, run *pullRun) error {
	var gone []string
	err := rs.meta.scan(ctx, metaStale, func(key string) error {
		if _, ok := run.keys[key]; !ok {
			gone = append(gone, key)
		}
		return nil
	})
	if err != nil {
		return err
	}
	err = rs.meta.st.ScanState(ctx, rs.meta.consumer, metaListed, func(k string, v []byte) error {
		key := k[len(metaListed):]
		if _, ok := run.keys[key]; ok {
			return nil
		}
		l, ok := decodeListing(v)
		if ok && !l.expiresAt.IsZero() && l.expiresAt.Before(run.start) && !l.ackedAt.After(run.start) {
			gone = append(gone, key) // (a stale key may come twice: deleting is idempotent)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, key := range gone {
		if err := rs.meta.del(ctx, metaStale+key); err != nil {
			return err
		}
		if err := rs.meta.del(ctx, metaListed+key); err != nil {
			return err
		}
	}
	if len(gone) > 0 {
		rs.log.LogAttrs(ctx, slog.LevelInfo, "sync: unblocked contacts no longer listed remotely", slog.Int("count", len(gone)))
	}
	return nil
}

// retry calls op until it succeeds, waiting rs's backoff after each
// failure. It gives up on ctx ending, an Unauthorized or Unavailable
// failure, a permanent
// failure answered with an HTTP 4xx or 3xx (see [finalStatus]), more than the
// configured number of consecutive other permanent failures (an answer
// that breaks the schema), or a wait that would pass ctx's deadline.
func (e *Engine) retry(ctx context.Context, rs *remoteState, t *tally, op func() error) error {
	perm := 0
	for {
		err := op()
		if err == nil {
			rs.resetBackoff()
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		re := classify(err)
		switch re.Class {
		case Unauthorized, Unavailable:
			return err
		case Permanent:
			if finalStatus(re.Status) {
				return err
			}
			if perm++; perm > e.o.permanentRetries {
				return err
			}
		}
		t.add(cRetries, 1)
		e.noteFailure(rs, err)
		if !e.sleep(ctx, e.waitFor(ctx, rs, t, re)) {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("giving up before the deadline: %w", err)
		}
	}
}

// finalStatus reports whether a permanent failure with HTTP status code
// ends the pull at once: a 4xx other than 408 and 429, or a redirect
// (the clients do not follow them). The remote refused the request itself
// (a 400 for a query it does not take, a 404, a base URL that redirects),
// so asking again in the same pass would get the same answer; the vendors
// say not to retry a 400. The next pass asks again.
func finalStatus(code int) bool {
	return code/100 == 3 || (code/100 == 4 && code != http.StatusRequestTimeout && code != http.StatusTooManyRequests)
}

// apply applies one remote entry, in four steps: skip an id already met
// (known), read the entry as a contact (contact), apply it unless a local
// unblock or an echo of our own push says otherwise (take), and remember
// the remote's listing of it (remember).
func (e *Engine) apply(ctx context.Context, rs *remoteState, t *tally, run *pullRun, b *RemoteBlock) error {
	if done, err := e.known(ctx, rs, run, b); done || err != nil {
		return err
	}
	if b.Masked {
		run.full = false // a contact the pull cannot know: no reconciliation
		return e.skipMasked(ctx, rs, t, b)
	}
	c, ok, err := e.contact(ctx, rs, t, b)
	if !ok || err != nil {
		return err
	}
	key := string(c.Key())
	run.keys[key] = struct{}{}
	old, listed, err := rs.meta.listing(ctx, key)
	if err != nil {
		return err
	}
	e.noteDuplicate(ctx, rs, t, run, b, c, key, old, listed)
	if err := e.take(ctx, rs, t, b, c, key, old, listed); err != nil {
		return err
	}
	return e.remember(ctx, rs, b, key, old, listed)
}

// known reports that b's remote id was met before: earlier in this pull
// (the list moved under the pages), or in an earlier pull or push, in
// which case its contact counts as listed in this pull.
func (e *Engine) known(ctx context.Context, rs *remoteState, run *pullRun, b *RemoteBlock) (bool, error) {
	if b.ID == "" {
		return false, nil
	}
	if _, dup := run.seen[b.ID]; dup {
		return true, nil
	}
	run.seen[b.ID] = struct{}{}
	key, known, err := rs.meta.get(ctx, idKey(b.ID))
	if err != nil || !known {
		return false, err
	}
	// Pushed by us or applied before: nothing to do.
	if len(key) > 0 {
		run.byKey[string(key)] = b.ID
		run.keys[string(key)] = struct{}{}
	}
	return true, nil
}

// contact reads b as a contact. An entry that is not one is counted and
// logged (redacted), once per id, and ok is false.
func (e *Engine) contact(ctx context.Context, rs *remoteState, t *tally, b *RemoteBlock) (c normalize.Contact, ok bool, err error) {
	c, err = e.normalize(b)
	if err == nil {
		return c, true, nil
	}
	t.add(cInvalid, 1)
	rs.log.LogAttrs(ctx, slog.LevelWarn, "sync: remote entry is not a contact",
		slog.String("id", b.ID), slog.Any("value", normalize.Redacted(b.Value)), slog.Any("err", err))
	if b.ID != "" {
		return c, false, rs.meta.put(ctx, idKey(b.ID), nil) // counted once
	}
	return c, false, nil
}

// noteDuplicate counts a contact the remote lists under two ids.
func (e *Engine) noteDuplicate(ctx context.Context, rs *remoteState, t *tally, run *pullRun, b *RemoteBlock, c normalize.Contact, key string, old listing, listed bool) {
	if b.ID == "" {
		return
	}
	if prev, ok := run.byKey[key]; ok && prev != b.ID || !ok && listed && old.id != "" && old.id != b.ID {
		t.add(cDuplicates, 1)
		rs.log.LogAttrs(ctx, slog.LevelDebug, "sync: remote lists the contact twice",
			slog.String("id", b.ID), slog.Any("contact", c))
	}
	run.byKey[key] = b.ID
}

// take applies the remote block c through the replication view, unless
// c was unblocked here after the remote listed it (the unblock stands and
// the remote's copy is marked stale) or b is our own push coming back.
func (e *Engine) take(ctx context.Context, rs *remoteState, t *tally, b *RemoteBlock, c normalize.Contact, key string, old listing, listed bool) error {
	unblockedAt, unblocked, echo, err := e.unblockedAt(ctx, c, b, old, listed)
	if err != nil {
		return err
	}
	switch {
	case unblocked && (b.CreatedAt.IsZero() || !b.CreatedAt.After(unblockedAt)):
		// Unblocked here after the remote listed it: the operator's
		// unblock stands; the remote's copy is counted for removal.
		t.add(cSkippedUnblocked, 1)
		return rs.meta.markStale(ctx, key, unblockedAt)
	case echo:
		// Our own push of an expiring block: applying it would make the
		// local block permanent.
		return nil
	}
	reason := b.Reason
	if reason == "" {
		reason = "listed by " + rs.name
	}
	// Applied with the remote's consumer as its origin: its own push
	// skips the record, so the block is never echoed back.
	added, err := e.st.Apply(ctx, storage.Record{Op: storage.OpBlock, Contact: c, Original: b.Value,
		Reason: reason, Source: rs.name, CreatedAt: b.CreatedAt, Origin: rs.consumer})
	switch {
	case errors.Is(err, normalize.ErrInvalid):
		t.add(cInvalid, 1)
	case err != nil:
		return err
	case added:
		t.add(cPulled, 1)
		rs.log.LogAttrs(ctx, slog.LevelDebug, "sync: pulled block", slog.Any("contact", c))
		return rs.meta.clearStale(ctx, key)
	}
	return nil
}

// remember stores the remote's listing of key (its id, what we know of
// our own push of it, and whether b is the remote's copy of that push)
// and maps b's id to key.
func (e *Engine) remember(ctx context.Context, rs *remoteState, b *RemoteBlock, key string, old listing, listed bool) error {
	l := old
	if b.ID != "" {
		l.id = b.ID
	}
	if listed {
		if _, adopt := old.owns(b); adopt {
			l.ours = b.ID // the remote's copy of our push, by its window
		}
	}
	if err := rs.meta.putListing(ctx, key, l, old, listed); err != nil {
		return err
	}
	if b.ID != "" {
		return rs.meta.put(ctx, idKey(b.ID), []byte(key))
	}
	return nil
}

// unblockedAt says whether c is unblocked locally, and since when: a
// tombstone (a local unblock), or an expired block the engine pushed, for
// the engine's own copy of it. echo reports that b is, as far as the
// engine can tell, its own push of an expiring block that has not expired
// (or was blocked again since). Only an entry the engine can tell is its
// own ([listing.owns]: the id the remote gave its push) is an echo or
// lapses with the expiry; any other entry for the contact is someone
// else's block and is applied (when in doubt, block).
func (e *Engine) unblockedAt(ctx context.Context, c normalize.Contact, b *RemoteBlock, l listing, listed bool) (at time.Time, unblocked, echo bool, err error) {
	at, ok, err := e.st.Unblocked(ctx, c)
	if err != nil || ok {
		return at, ok, false, err
	}
	if !listed || l.expiresAt.IsZero() || (!b.CreatedAt.IsZero() && b.CreatedAt.After(l.expiresAt)) {
		return time.Time{}, false, false, nil
	}
	if ours, _ := l.owns(b); !ours {
		return time.Time{}, false, false, nil
	}
	if l.expiresAt.After(time.Now()) {
		return time.Time{}, false, true, nil
	}
	_, live, err := e.st.Entry(ctx, c)
	if err != nil || live {
		return time.Time{}, false, live, err
	}
	return l.expiresAt, true, false, nil
}

// skipMasked counts a masked entry the engine cannot resolve, once per id.
func (e *Engine) skipMasked(ctx context.Context, rs *remoteState, t *tally, b *RemoteBlock) error {
	if b.ID != "" {
		_, seen, err := rs.meta.get(ctx, maskedKey(b.ID))
		if err != nil || seen {
			return err
		}
		if err := rs.meta.put(ctx, maskedKey(b.ID), encodeTime(time.Now())); err != nil {
			return err
		}
	}
	t.add(cSkippedMasked, 1)
	rs.log.LogAttrs(ctx, slog.LevelWarn, "sync: remote entry is masked and not ours; skipped",
		slog.String("id", b.ID), slog.Time("created", b.CreatedAt))
	return nil
}

// normalize reads a remote value with the guard's normalizer.
func (e *Engine) normalize(b *RemoteBlock) (normalize.Contact, error) {
	n := e.st.Normalizer()
	switch b.Kind {
	case normalize.Email:
		return n.Email(b.Value)
	case normalize.Phone:
		return n.Phone(b.Value)
	case normalize.Domain:
		return n.Domain(b.Value)
	}
	return n.Parse(b.Value)
}
