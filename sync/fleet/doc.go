// Package fleet keeps the guards of several instances of a service — a
// fleet — in agreement within a second, over NATS JetStream. Each member
// keeps its own guard over its own Badger directory and its own
// sub-microsecond local check; the stream is the fleet's shared change
// log.
//
//	nc, _ := nats.Connect(url, nats.MaxReconnects(-1), nats.RetryOnFailedConnect(true))
//	m, err := fleet.Join(g, nc, fleet.Config{Member: "api-7f9c"})
//	...
//	err = m.Run(ctx) // until ctx is done
//
// # The stream
//
// Run creates (or finds) the stream [Config].Stream (default "SENDGUARD"):
// file storage, subjects "<Stream>.change.<member>", no age or size limit
// (it is the fleet's history; see Bootstrap below), a 2-minute duplicate
// window, [Config].Replicas replicas. It carries only change messages: one
// per local change, a JSON body with the member, the record's local
// sequence number, block or unblock, the canonical contact, its original
// text, reason, source, creation time and expiry. Heartbeats, the vendor
// lease and the vendor state live in the key/value buckets
// "<Stream>_MEMBERS", "<Stream>_LEASE" and "<Stream>_VENDORS".
//
// # Publishing
//
// [Join] registers the member's change-log consumer, named [Origin], in the
// guard's replication view; Run publishes every record after its offset
// whose Origin is not [Origin] — local blocks and unblocks, imports, blocks
// pulled from a vendor — in log order, once it has committed locally,
// with Nats-Msg-Id "<member>:<local seq>", so that a resend is not a
// second message. The offset moves as the stream acknowledges, and past
// the applied records the member skips, so the member never holds the
// change log back. A change made after Join returns is published even if
// Run starts later, or NATS is down: nothing local waits on NATS, blocks
// are enforced locally at once, and the backlog goes out in order when
// the server is reachable again (a message lost in flight and resent after
// the duplicate window may land after its successors; members still
// converge). A restarted member sends again the local changes it had
// published but not yet met in the stream, with the same Nats-Msg-Id: the
// stream keeps one copy and its acknowledgement says where that copy is,
// which the apply loop needs (see below).
//
// # Applying, and who wins
//
// Every member reads the whole stream in order (its own messages too),
// from the position it saved (the consumer state [Origin]/"pos" in the
// view, saved at most every 50 ms: a restart applies at most that much
// again, idempotently), and applies each change through
// [guard.Replication.ApplyIf] with origin [Origin] — so the filter learns a
// block before any check could miss it, and the change is not published
// again.
//
// Stream order decides. When two members change the same contact at
// once, the change later in the stream wins everywhere: an unblock after
// a block unblocks, a block after an unblock blocks, and two blocks merge
// as the guard merges them (the one that lasts longer stays). A member's
// own local changes that are not yet in the stream (or whose place in it
// is not yet known) come after every message it reads now, so they win
// over it: a message about a contact with such a pending local unblock is
// skipped, and so is an unblock over pending local blocks; a block over
// pending local blocks is applied (blocks merge). The decision is made
// under the guard's write lock, so no local change slips in between. A
// local block is therefore never undone, not even for a moment, by a
// remote unblock that the stream places before it. When its own message
// comes back, the member applies it too (it changes nothing unless the
// stream placed someone else's change in between).
//
// One case converges only in what is blocked, not in the expiry: a
// member holding a contact's longer block that makes a shorter block of
// it (a no-op locally, so nothing is published) keeps the longer one — an
// over-block, never an under-block. Members must share the normalizer's
// settings (region, provider folding): a contact another member's guard
// would key differently is skipped with a warning.
//
// # Bootstrap
//
// The stream has no limits by default, so a member away for any time
// resumes from its saved position, and a new member (or one wiped) reads
// it from the start: the stream is its bootstrap. If the stream is
// deleted and made again (its creation time differs from the one saved),
// or purged below the saved position, the member reads the new stream
// from the start and publishes its live blocks to it, from one
// consistent read ([guard.Replication.Bootstrap]); unblocks made before
// are not replayed (an over-block at worst). The same re-publication
// happens if the member's own change log was trimmed past its offset (its
// consumer forgotten). An operator who puts limits on the stream accepts
// that a member away longer than the stream keeps misses the changes in
// between; the member logs it.
//
// # Vendors, once per fleet
//
// A member whose [Config].Vendors.Run is set contends for the vendor
// lease: a key in "<Stream>_LEASE", a bucket whose TTL is
// [Config].LeaseTTL (default 10 s). The holder renews it every TTL/5 and
// runs the vendor sync (package sync's engine over the same guard); it
// stops the sync once it has failed to renew for TTL/2, before the key can
// expire, so at most one member runs it at a time. A holder that stops
// deletes the key, and another member takes over within TTL/5; one that
// dies is replaced within TTL plus TTL/5 (12 s by default).
//
// Blocks pulled from a vendor are local changes of the holder (origin
// "remote/<name>"): they are published, reach every member through the
// stream, and are never pushed back to their vendor (the engine skips
// their source on every member).
//
// The holder copies each remote's consumer state ("remote/<name>": the
// pull watermark, the contacts the vendor lists, ids, stale marks) to
// "<Stream>_VENDORS" every TTL/2 and when it releases the lease, with the
// stream position through which it has pushed every change. Members keep
// checkpoints (stream position → local change-log position) as they
// apply; a new holder finds its own checkpoint at or before that position
// and sets the remote's offset there, copies the state in (its own dead
// letters for the remote are kept), and only then starts the sync: it
// goes on from where the last holder was, and history is not pushed
// again. Delivery to vendors stays at least once: what the last holder
// pushed after its last copy (at most TTL/2 of work, or more if it died)
// is pushed again.
//
// # Figures
//
// [Member.Stats] gives the applied stream position, the lag, the local
// changes not yet published, the members seen (heartbeats in
// "<Stream>_MEMBERS" under 30 s old) and the lease holder; [ReadStats]
// reads the same figures as a member last saved them in the guard's
// store, without a server (sendguard stats).
//
// # Credentials
//
// The package takes a connected *nats.Conn: credentials (token,
// user/password, creds file, TLS) are nats.go's options, set by the
// caller; this package never sees or logs them.
package fleet
