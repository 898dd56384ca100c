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
// runs in the background once enough keys are stale or the filter is over
// capacity. A block made with [WithExpiry] lapses by itself.
//
// # Concurrency
//
// A Guard is safe for concurrent use by multiple goroutines. Checks take no
// lock. Blocks, unblocks and imports are serialized with each other.
//
// # Lifecycle
//
// [Open] starts one background goroutine (the filter's maintenance);
// [Guard.Close] stops it, writes the filter snapshot and closes the store
// the guard opened. [New] wraps a store the caller owns and does not close
// it.
//
// # Logging
//
// The guard logs nothing unless given a logger ([WithLogger]); recipients
// in log lines are always redacted.
package guard
