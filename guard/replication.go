package guard

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/sendguard/sendguard/normalize"
	"github.com/sendguard/sendguard/storage"
)

// ErrBehindLog is returned by [Replication.ReadLog] when records after the
// given offset have been trimmed from the change log: the consumer has
// missed changes and must start again from the entries with
// [Replication.Bootstrap].
var ErrBehindLog = errors.New("guard: offset is behind the change log's first retained record")

// Replication is the guard's change log and consumer bookkeeping, as the
// parts that copy the blocklist elsewhere see it: the sync engine (one
// consumer per vendor remote) and a fleet member. Get it from
// [Guard.Replication].
//
// A consumer is a name (1 to 256 bytes, no NUL) that owns an offset (the
// last record it has handled), dead letters (records it could not deliver)
// and a small key/value state. A registered offset holds the log back: the
// records after it are never trimmed. [Replication.Forget] drops all three.
//
// Changes that come from elsewhere are written with [Replication.Apply],
// which goes through the guard like a local block (the filter and the
// domain set learn it before Apply returns) and marks the record with its
// origin: a consumer skips the records whose Origin is its own name, so a
// change is never sent back to where it came from.
//
// A Replication is safe for concurrent use. Its methods return [ErrClosed]
// once the guard is closed.
type Replication struct{ g *Guard }

// Replication returns the guard's replication view.
func (g *Guard) Replication() *Replication { return &Replication{g: g} }

// Normalizer returns the guard's normalizer: the one that makes its keys.
func (r *Replication) Normalizer() *normalize.Normalizer { return r.g.norm }

func (r *Replication) open() error {
	if r.g.closed.Load() {
		return ErrClosed
	}
	return nil
}

// ReadLog returns the change-log records after seq after, in order, at
// most limit of them (storage.DefaultReadLimit when limit <= 0); none when
// the consumer is up to date. Sequence numbers increase and may have gaps.
// If records after after have been trimmed, ReadLog returns
// [ErrBehindLog]: nothing is returned rather than a log with a hole.
func (r *Replication) ReadLog(ctx context.Context, after uint64, limit int) ([]storage.Record, error) {
	if err := r.open(); err != nil {
		return nil, err
	}
	recs, err := r.g.store.ReadLog(ctx, after, limit)
	if err != nil {
		return nil, err
	}
	// Read the trim mark after the records: Trim sets it before removing
	// anything, so a record missed above is always covered by it here.
	trimmed, err := r.g.store.Trimmed(ctx)
	if err != nil {
		return nil, err
	}
	if after < trimmed {
		return nil, fmt.Errorf("%w: offset %d, trimmed through %d", ErrBehindLog, after, trimmed)
	}
	return recs, nil
}

// LastSeq returns the sequence number of the last change-log record, 0 if
// there was never any.
func (r *Replication) LastSeq(ctx context.Context) (uint64, error) {
	if err := r.open(); err != nil {
		return 0, err
	}
	return r.g.store.LastSeq(ctx)
}

// LogStats describes the change log — its first and last record, how many
// it holds, how far it was trimmed — and every consumer's offset. It reads
// every record's key, not its value.
func (r *Replication) LogStats(ctx context.Context) (storage.LogStats, error) {
	if err := r.open(); err != nil {
		return storage.LogStats{}, err
	}
	return r.g.store.LogStats(ctx)
}

// Changes returns a channel that is closed at the next change to the
// blocklist (a block, an unblock, an import, an applied change). Call it
// again after each wake-up for a new channel, and call it before reading
// the log, so that a change made in between still wakes the caller.
func (r *Replication) Changes() <-chan struct{} {
	r.g.notifyMu.Lock()
	defer r.g.notifyMu.Unlock()
	return r.g.notifyCh
}

// Bootstrap calls fn with every live block from one consistent read of the
// store, and returns the sequence number that read is at: every change up
// to seq is reflected in what fn saw, and none after it. A consumer that
// got [ErrBehindLog] (or is new to a trimmed log) calls Bootstrap, then
// sets its offset to seq and tails the log from there: no live block is
// missed, and no block unblocked before the read is seen. Register the
// consumer's offset first ([Replication.SetOffset] with 0) so that the log
// after seq is not trimmed meanwhile.
//
// fn runs inside the read; an error from it stops the scan and is
// returned as it is.
func (r *Replication) Bootstrap(ctx context.Context, fn func(storage.Entry) error) (seq uint64, err error) {
	if err := r.open(); err != nil {
		return 0, err
	}
	return r.g.store.ScanAt(ctx, fn)
}

// Offset returns consumer's offset: the seq of the last record it has
// handled, 0 if it never set one.
func (r *Replication) Offset(ctx context.Context, consumer string) (uint64, error) {
	if err := r.open(); err != nil {
		return 0, err
	}
	return r.g.store.Offset(ctx, consumer)
}

// SetOffset records that consumer has handled every record up to seq and
// registers it if it is new. An offset never moves backwards (a lower seq
// is ignored); a seq past the last record is an error.
func (r *Replication) SetOffset(ctx context.Context, consumer string, seq uint64) error {
	if err := r.open(); err != nil {
		return err
	}
	if err := r.g.store.SetOffset(ctx, consumer, seq); err != nil {
		return err
	}
	r.g.met.consumerSeen(consumer)
	return nil
}

// AddDeadLetter records that consumer could not deliver rec, and why.
func (r *Replication) AddDeadLetter(ctx context.Context, consumer string, rec storage.Record, reason string) error {
	if err := r.open(); err != nil {
		return err
	}
	return r.g.store.AddDeadLetter(ctx, consumer, rec, reason)
}

// DeadLetters returns consumer's dead letters in the order they were
// added, or every consumer's when consumer is "".
func (r *Replication) DeadLetters(ctx context.Context, consumer string) ([]storage.DeadLetter, error) {
	if err := r.open(); err != nil {
		return nil, err
	}
	return r.g.store.DeadLetters(ctx, consumer)
}

// RetryDeadLetters re-queues consumer's dead letters (every consumer's
// when consumer is "") as new change-log records targeted at their
// consumer (storage.Record.Target) and returns how many. It writes log
// records only, never a block: a dead letter whose contact has changed
// since is dropped, not replayed.
func (r *Replication) RetryDeadLetters(ctx context.Context, consumer string) (int, error) {
	if err := r.open(); err != nil {
		return 0, err
	}
	n, err := r.g.store.RetryDeadLetters(ctx, consumer)
	if n > 0 {
		r.g.changed()
	}
	return n, err
}

// stateKey is the meta key of consumer's state key. The consumer's length
// comes first so that no two (consumer, key) pairs share a meta key.
func stateKey(consumer, key string) string {
	return stateSpace + strconv.Itoa(len(consumer)) + "/" + consumer + "/" + key
}

const stateSpace = "repl/"

func checkConsumer(consumer string) error {
	if consumer == "" {
		return fmt.Errorf("guard: empty consumer name: %w", storage.ErrInvalid)
	}
	return nil
}

// State returns the value consumer keeps under key, if any.
func (r *Replication) State(ctx context.Context, consumer, key string) ([]byte, bool, error) {
	if err := r.open(); err != nil {
		return nil, false, err
	}
	if err := checkConsumer(consumer); err != nil {
		return nil, false, err
	}
	return r.g.store.GetMeta(ctx, stateKey(consumer, key))
}

// SetState keeps val under key in consumer's state (up to 256 KiB a
// value).
func (r *Replication) SetState(ctx context.Context, consumer, key string, val []byte) error {
	if err := r.open(); err != nil {
		return err
	}
	if err := checkConsumer(consumer); err != nil {
		return err
	}
	return r.g.store.PutMeta(ctx, stateKey(consumer, key), val)
}

// DeleteState removes key from consumer's state; a missing key is not an
// error.
func (r *Replication) DeleteState(ctx context.Context, consumer, key string) error {
	if err := r.open(); err != nil {
		return err
	}
	if err := checkConsumer(consumer); err != nil {
		return err
	}
	return r.g.store.DeleteMeta(ctx, stateKey(consumer, key))
}

// ScanState calls fn with each key of consumer's state that starts with
// prefix (the key as given to SetState) and its value, in key order. val
// is valid only during fn. An error from fn stops the scan and is
// returned.
func (r *Replication) ScanState(ctx context.Context, consumer, prefix string, fn func(key string, val []byte) error) error {
	if err := r.open(); err != nil {
		return err
	}
	if err := checkConsumer(consumer); err != nil {
		return err
	}
	base := stateKey(consumer, "")
	return r.g.store.ScanMeta(ctx, base+prefix, func(k string, v []byte) error {
		return fn(k[len(base):], v)
	})
}

// Forget drops everything kept for consumer — its offset, its state and
// its dead letters — so that a consumer gone for good no longer holds the
// change log back. A consumer that comes back later starts afresh (from
// [Replication.Bootstrap] if the log was trimmed meanwhile).
func (r *Replication) Forget(ctx context.Context, consumer string) error {
	if err := r.open(); err != nil {
		return err
	}
	if err := checkConsumer(consumer); err != nil {
		return err
	}
	st := r.g.store
	if err := st.DeleteOffset(ctx, consumer); err != nil {
		return err
	}
	r.g.met.consumerGone(consumer)
	var keys []string
	if err := st.ScanMeta(ctx, stateKey(consumer, ""), func(k string, _ []byte) error {
		keys = append(keys, k)
		return nil
	}); err != nil {
		return err
	}
	for _, k := range keys {
		if err := st.DeleteMeta(ctx, k); err != nil {
			return err
		}
	}
	_, err := st.DeleteDeadLetters(ctx, consumer)
	return err
}

// Apply applies a change that comes from elsewhere — a vendor's list, a
// fleet member — through the guard, exactly as described by rec, and
// reports whether anything changed. It reads rec's Op, Contact (canonical,
// as the guard's normalizer makes it), Original, Reason, Source,
// CreatedAt, ExpiresAt and Origin; Seq, Time and Target are ignored.
//
// Origin is required: it is written to the change-log record, and the
// consumer of that name skips the record, so the change is not echoed
// back. Source defaults to the origin.
//
// A block, like [Guard.Block], is in the filter (and a domain in the
// domain set) before Apply returns; it keeps an existing block unless it
// lasts longer, and an rec whose ExpiresAt has passed changes nothing. An
// unblock removes the contact's own block. Applying the same change twice
// changes nothing the second time.
func (r *Replication) Apply(ctx context.Context, rec storage.Record) (changed bool, err error) {
	return r.ApplyIf(ctx, rec, nil)
}

// ApplyIf is [Replication.Apply] with a last-moment condition: ok (if not
// nil) is called while the guard holds its write lock — no block, unblock,
// import or other Apply can run until the change is written — and rec is
// applied only if ok returns true. A replicator uses it to decide on a
// remote change against the local changes it has not sent yet, with no
// local change slipping in between the decision and the write. ok may read
// the guard (its change log, its entries) but must not write to it.
func (r *Replication) ApplyIf(ctx context.Context, rec storage.Record, ok func() bool) (changed bool, err error) {
	if err := r.open(); err != nil {
		return false, err
	}
	if rec.Origin == "" {
		return false, fmt.Errorf("guard: apply: empty origin: %w", storage.ErrInvalid)
	}
	c, err := r.canonical(rec.Contact)
	if err != nil {
		return false, err
	}
	source := rec.Source
	if source == "" {
		source = rec.Origin
	}
	switch rec.Op {
	case storage.OpBlock:
		e := storage.Entry{
			Contact:   c,
			Original:  rec.Original,
			Reason:    rec.Reason,
			Source:    source,
			CreatedAt: rec.CreatedAt,
			ExpiresAt: rec.ExpiresAt,
			Origin:    rec.Origin,
		}
		if e.Original == "" {
			e.Original = c.Value
		}
		if e.CreatedAt.IsZero() {
			e.CreatedAt = r.g.opts.now()
		}
		if !e.ExpiresAt.IsZero() && !e.ExpiresAt.After(r.g.opts.now()) {
			return false, nil // lapsed on the way: nothing to block
		}
		r.g.wmu.Lock()
		defer r.g.wmu.Unlock()
		if ok != nil && !ok() {
			return false, nil
		}
		return r.g.putLocked(ctx, e)
	case storage.OpUnblock:
		r.g.wmu.Lock()
		defer r.g.wmu.Unlock()
		if ok != nil && !ok() {
			return false, nil
		}
		return r.g.removeLocked(ctx, c, source, rec.Origin)
	}
	return false, fmt.Errorf("guard: apply: record op %s: %w", rec.Op, storage.ErrInvalid)
}

// canonical checks that c is what the guard's normalizer makes of its
// value: a key from elsewhere must be the key this guard would look up.
func (r *Replication) canonical(c normalize.Contact) (normalize.Contact, error) {
	var got normalize.Contact
	var err error
	switch c.Kind {
	case normalize.Email:
		got, err = r.g.norm.Email(c.Value)
	case normalize.Phone:
		got, err = r.g.norm.Phone(c.Value)
	case normalize.Domain:
		got, err = r.g.norm.Domain(c.Value)
	default:
		return c, &normalize.InvalidError{Input: c.Value, Kind: c.Kind, Reason: "not a contact kind"}
	}
	if err != nil {
		return c, err
	}
	if got != c {
		return c, &normalize.InvalidError{Input: c.Value, Kind: c.Kind, Reason: "not canonical for this guard"}
	}
	return c, nil
}

// Entry returns the live block on c itself, if any.
func (r *Replication) Entry(ctx context.Context, c normalize.Contact) (storage.Entry, bool, error) {
	if err := r.open(); err != nil {
		return storage.Entry{}, false, err
	}
	return r.g.store.Get(ctx, c)
}

// Unblocked returns when c was last unblocked, if it has not been blocked
// again since.
func (r *Replication) Unblocked(ctx context.Context, c normalize.Contact) (time.Time, bool, error) {
	if err := r.open(); err != nil {
		return time.Time{}, false, err
	}
	return r.g.store.Tombstone(ctx, c)
}
