// Package guard keeps a service from sending email or SMS to blocked
// contacts. It is the package users import.
//
// # Overview
//
// A [Guard] holds a blocklist — an embedded Badger store (package storage)
// fronted by a bloom filter (package filter) — and answers, for any
// recipient, whether it may be sent to:
//
//	g, err := guard.Open(dir, guard.WithRegion("GB"))
//	...
//	defer g.Close()
//	g.Block(ctx, "Ann <ANN@Example.com>", "asked to stop")
//	v, err := g.Check(ctx, "ann@example.com") // v.Blocked == true
//
// Every recipient is first normalized to a canonical contact (see package
// normalize): an email address (display names, case and IDN domains
// folded), a phone number in E.164, or a domain. The filter then answers
// "certainly not blocked" — the common case, in about the time of one
// filter probe and with no allocation — or "maybe", which the store
// confirms. An email is also blocked when its domain or any parent domain is
// blocked: blocking "example.com" (or "@example.com", "*.example.com")
// covers "ann@mail.example.com". Domain blocks are few; they are kept in a
// small in-memory set that is probed for every email. Block refuses the
// domain of a large mailbox provider (gmail.com, outlook.com, …; see
// [IsProviderDomain]) unless [AllowProviderDomain] is given: such a block
// would stop every address there.
//
// To load another service's suppression export (CSV, JSON, JSON lines)
// into a guard, see package importer.
//
// # Sending
//
// [Wrap] puts the guard in front of any [Sender] (an SMTP client, an SMS
// provider's client): every recipient of every message is checked, and
// under the [RejectBlocked] policy (the default) a message with a blocked
// recipient is refused, while under [DropBlocked] the blocked recipients
// are removed and the rest is sent. The error is a *[BlockedError] that
// lists each suppressed recipient with its reason and source:
//
//	s := guard.Wrap(g, smtpSender, addressing, guard.WithPolicy(guard.DropBlocked))
//	err := s.Send(ctx, msg)
//	var be *guard.BlockedError
//	if errors.As(err, &be) { ... be.Suppressed ... }
//
// The guard belongs outside any retry, so a blocked recipient is never
// retried (see [Chain]).
//
// # Promises
//
// Once [Guard.Block] has returned, no Check and no wrapped send lets that
// contact through: not under concurrency (the filter learns the key before
// the store does), not during a filter rebuild (blocks made meanwhile land
// in both filters), and not after a restart (the filter is rebuilt from the
// store, or loaded from a snapshot only when it provably matches the
// store). When the store cannot confirm a "maybe", the guard fails closed by
// default: the recipient counts as blocked and the error wraps
// [ErrUnavailable].
//
// # Unblocking and expiry
//
// [Guard.Unblock] removes a block. Bloom filters cannot forget, so the key
// stays a "maybe" (one store read) until the next rebuild, which the guard
// runs in the background once enough unblocked keys are stale or the filter
// is over capacity. A block made with [WithExpiry] lapses by itself: the
// store stops answering for it at once, but its key is not counted as
// stale, so it stays a "maybe" until a rebuild made for another reason
// (or [Guard.Rebuild]).
//
// # Blocked recipients from memory
//
// Services resend to the same blocked recipients (a campaign's next
// message, a retry). The guard keeps the blocks it confirmed most recently
// in memory ([WithBlockedCacheSize], 16,384 by default), so a repeated
// blocked check costs a filter probe and a cache look-up instead of a store
// read. Only blocks are kept: an "allowed" never comes from the cache. Every
// change — Unblock, a longer Block, Import, an applied replication record —
// drops the contact's cached block before it returns, a check racing the
// change cannot put it back, and a cached block past its ExpiresAt is not
// used. [Stats].CacheHits counts the checks it answered.
//
// # Concurrency
//
// A Guard is safe for concurrent use by multiple goroutines. Checks take no
// lock. Blocks, unblocks and imports are serialized with each other.
//
// # Opening: read-only, must exist, full disk
//
// [Open] creates a store only in a missing or empty directory; a directory
// that holds other files is refused with an error wrapping
// storage.ErrNoStore. [WithMustExist] refuses a missing or empty one too,
// so that a mistyped path never starts a service on an empty blocklist.
// [WithReadOnly] opens an existing store for checks only: it creates and
// writes nothing (it works on a full disk, and several read-only guards
// may share a store), Check answers exactly as a writable guard would (the
// filter comes from the snapshot when it provably matches the store, or
// from a scan), Block, Unblock and Import fail with storage.ErrReadOnly,
// and Close writes no snapshot.
//
// On a disk with less than [WithMinFreeDisk] free, writes fail with
// storage.ErrDiskFull and checks go on: Open then opens the store
// read-only (writes fail until the guard is reopened with room), and Close
// returns an error wrapping storage.ErrDiskFull rather than flush onto a
// full disk (nothing is lost; call Close again once there is room).
//
// # Lifecycle
//
// [Open] starts the guard's maintenance goroutine (filter rebuilds and
// change-log trimming) and, for a store on disk, the store's value-log
// garbage collection. [Guard.Close] stops both, trims the change log once
// more, writes the filter snapshot and closes the store.
//
// # One writer
//
// The guard is the only writer of its store: nothing exported hands the
// store out, and every path that creates or removes a block — Block,
// BlockContact, Import, ImportEntries, Unblock, UnblockContact and
// [Replication.Apply] — goes through the same two internal steps, which
// tell the filter and the domain set before the write can be seen. Every
// write of an entry appends a change-log record in the same transaction,
// and a filter snapshot is trusted only when its stamp names the log's
// last sequence number, so a store changed by anything else (opened
// directly while no guard ran) is rescanned on the next [Open]. Reads go
// through [Guard.Check] and [Guard.Scan].
//
// # Replication
//
// [Guard.Replication] returns the view that copies the blocklist elsewhere
// — the sync engine's vendor remotes, a fleet of guards — build on:
//
//	r := g.Replication()
//	off, _ := r.Offset(ctx, "fleet")
//	for {
//		wake := r.Changes() // before reading, so no change is missed
//		recs, err := r.ReadLog(ctx, off, 256)
//		if errors.Is(err, guard.ErrBehindLog) {
//			off, err = r.Bootstrap(ctx, sendEntry) // the live blocks, at a known seq
//			...
//		}
//		for _, rec := range recs {
//			if rec.Origin != "fleet" { send(rec) } // never echo a change back
//		}
//		... r.SetOffset(ctx, "fleet", off) ... <-wake
//	}
//
// A change-log record (storage.Record) carries everything needed to replay
// the change exactly: op, canonical contact, original text, reason, source,
// creation and expiry times, its sequence number, and its origin. A change
// received from elsewhere is written with [Replication.Apply] and an
// origin — the receiving consumer's name — so that the consumer skips it
// and nothing is echoed. Each consumer has an offset (which holds the log
// back from trimming), dead letters, and a small key/value state;
// [Replication.Forget] drops all three for a consumer gone for good. A
// consumer whose offset is behind the first retained record gets
// [ErrBehindLog] and starts again from [Replication.Bootstrap]: one
// consistent read of the live blocks and the sequence number it is at,
// after which it tails the log — no live block is missed, and no block
// unblocked before the read is seen.
//
// # Retention and trimming
//
// The change log is also the audit trail, so the guard keeps each record
// for [WithLogRetention] (default [DefaultLogRetention], 30 days) and
// trims it after that, once every registered consumer has passed it: on
// its maintenance schedule while open, and once more in [Guard.Close].
// With no consumer at all, the retention alone decides. Retention 0 trims
// a record as soon as every consumer has passed it. A consumer gone for
// good holds back every record after its offset until it is forgotten
// ([Replication.Forget]); [Replication.LogStats] tells how big the log is
// and, through HeldBy, which consumer holds it back. Trimming never hides
// a change from a consumer: one whose offset falls behind the trimmed part
// gets [ErrBehindLog] and bootstraps as above.
//
// # Upgrading
//
// [Open] moves sync state kept in the layout before the replication view
// (meta keys "sync/<remote>/…") into the consumer state of
// "remote/<remote>", once.
//
// # Metrics
//
// [WithMeterProvider] registers OpenTelemetry instruments (the default
// provider is the global one, a no-op until the application sets one).
// Every one is observable: it reads, when the provider collects, the
// counters the guard keeps anyway, so a check pays no clock read, lock or
// allocation for it.
//
//   - sendguard.checks {check}: checks by result (allowed, blocked,
//     invalid, error — the store failed and the check failed closed), and,
//     when blocked, by match (contact, domain);
//   - sendguard.filter.maybes, sendguard.filter.false_positives {lookup};
//     sendguard.store.errors {error};
//   - sendguard.blocks {block}, sendguard.unblocks {unblock}: writes by
//     source (64 distinct sources at most, then "other"; a source with
//     an '@' or 7 digits is "other" too);
//   - sendguard.entries {entry}: the store's entries, from the last count
//     of the store (at open, at each filter rebuild, and when older than 10
//     minutes) plus the writes since; not reported before the first count;
//   - sendguard.domains {domain}; sendguard.filter.fill_ratio and
//     sendguard.filter.false_positive_rate (estimated) — unit 1;
//   - sendguard.changelog.lag {record}: records after each consumer's
//     offset, by consumer.
//
// Attributes never hold a recipient. [Guard.Close] unregisters them.
//
// # Logging
//
// The guard logs nothing unless given a logger ([WithLogger]); recipients
// in log lines are always redacted.
package guard
