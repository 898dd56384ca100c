// Package storage holds the blocklist on disk: block entries, the change
// log that mirrors every change to them, consumers' offsets into that log,
// dead letters, tombstones and a small metadata space, all in one Badger v4
// database (github.com/dgraph-io/badger/v4).
//
// # Overview
//
// [Open] a [Store] on a directory (or in memory, for tests), and [Store.Close]
// it when done. An [Entry] is one blocked contact with its original text,
// reason, source, creation time and optional expiry. [Store.Put] and
// [Store.Delete] change one entry and append a [Record] to the change log in
// the same transaction; [Store.Import] adds many. [Store.Get] and
// [Store.GetKey] confirm a block; [Store.ScanKeys] feeds a filter rebuild.
//
// The change log is the outbox of the sync engine and the audit trail:
// [Store.ReadLog] reads it in order from an offset, each consumer keeps its
// offset with [Store.SetOffset], [Store.Trim] removes what every consumer has
// passed once it is old enough, and records a consumer could not deliver go
// to dead letters ([Store.AddDeadLetter], [Store.RetryDeadLetters]).
// [Store.GetMeta] and friends keep other packages' small durable state.
//
// Applications do not write a store directly: package guard is its only
// writer (guard.Replication is the view replication builds on). A record
// carries its change's [Record.Origin] (where a replicated change came
// from, set through [Entry.Origin] and [Store.DeleteFrom]) and a block's
// [Record.CreatedAt], so that it can be replayed exactly elsewhere.
//
// The store does not normalize: contacts arrive canonical, from package
// normalize, and are stored under [normalize.Contact.Key].
//
// # Layout
//
// One Badger keyspace, split by prefix. Contact keys ("e:", "p:", "d:" +
// value) have ':' as their second byte; every other namespace starts with a
// word and a slash, so the two can never meet.
//
//	e:<email> p:<e164> d:<domain>    entry: version-1 binary value (original,
//	                                 unless it is the contact's value; reason,
//	                                 source, created-at, expires-at); Badger
//	                                 TTL set from expires-at
//	log/<seq: 8 bytes big-endian>    change-log record (op, contact, original,
//	                                 reason, source, time, expires-at, target,
//	                                 and optionally origin, created-at)
//	off/<consumer>                   consumer offset: 8 bytes big-endian
//	dead/<consumer>\x00<id: 8 bytes> dead letter (reason, time, the record)
//	tomb/<contact key>               tombstone: time of the last unblock
//	meta/<key>                       other packages' values, as given
//	sys/format                       JSON: format version, key version,
//	                                 provider folding, creation time
//	sys/seq/log, sys/seq/dead        Badger sequence leases
//	sys/trimmed                      seq of the last record Trim removed
//
// Every binary value starts with a version byte; a value that does not
// decode gives an error wrapping [ErrCorrupt] that names the key, with the
// contact redacted. The format record is written when the store is created
// and checked by every Open: another [FormatVersion] or
// [normalize.KeyVersion] is [ErrFormat], another provider-folding setting
// is [ErrSettings], and a Badger directory with keys but no format record is
// not a sendguard store ([ErrFormat]). The default phone region does not
// change keys (they are E.164) and is not recorded.
//
// # Durability
//
// An entry and its change-log record are written in one Badger transaction,
// so the log never drifts from the entries, a crash included. Import packs
// many entry+record pairs per transaction and never splits a pair (which a
// badger.WriteBatch would do wherever its size limit falls). When a write
// method returns nil its changes have been committed: with
// Options.SyncWrites false (the default) they survive a crash of the process
// (Badger's write-ahead log is a shared memory map) but not necessarily a
// power loss; with SyncWrites true every commit is fsynced. A test kills a
// writing child process with SIGKILL at random moments and checks every
// acknowledged write and its record.
//
// A full disk does not crash the process. Badger writes through
// memory-mapped sparse files, where a full disk is a SIGBUS, not an error;
// so nothing reaches Badger's write path without room:
//
//   - every write first checks that the filesystem keeps
//     Options.MinFreeBytes (64 MiB by default) free and otherwise fails with
//     an error wrapping [ErrDiskFull], writing nothing;
//   - [Open] on a filesystem with less free opens an existing store with
//     Badger read-only (which creates and maps nothing for writing): reads
//     answer, and every write fails with ErrDiskFull until the store is
//     reopened with room. It creates no new store there (ErrDiskFull);
//   - [Store.Close] with too little room to flush (a few MiB) returns an
//     error wrapping ErrDiskFull instead of flushing; what was committed is
//     in the write-ahead log, Close can be called again once there is room,
//     and the next Open replays the log.
//
// A test fills a real tmpfs to its last page around an open store.
//
// # Opening: create, must exist, read-only
//
// Open creates a store only in a missing or empty directory, and never in
// a directory that holds other files: pointed at the wrong directory, it
// fails with an error wrapping [ErrNoStore] instead of scattering Badger's
// files there. Options.MustExist refuses a missing or empty directory too,
// for a program that must never start on an empty blocklist because of a
// mistyped path.
//
// Options.ReadOnly opens an existing store for reading only (and implies
// MustExist): Badger is opened read-only, nothing is created, mapped for
// writing or written, so it works on a full disk and several readers may
// share the store (a writer may not open it meanwhile: [ErrLocked]).
// Every write fails with [ErrReadOnly]. A store left by a crash or an
// unclean Close has a write-ahead log to replay, which Badger will not do
// read-only: Open then opens it read-write to replay, if the filesystem has
// Options.MinFreeBytes free, and otherwise fails with ErrDiskFull.
// [Store.ReadOnly] tells whether a store refuses writes (read-only, or
// opened on a full disk).
//
// Expiry is Badger's TTL (second precision, real clock, so an expired
// entry disappears on its own) and, on every read, a check of the exact
// expiry against Options.Clock: an expired entry is never returned.
//
// # Change log
//
// Sequence numbers come from a Badger sequence leased 4096 at a time and
// released on Close. They only grow, but may have gaps (numbers leased
// before a crash, or taken by a transaction that failed): readers must not
// assume contiguity. Appends are serialized and a number is taken and
// committed under one lock, so sequence order is commit order: a reader
// that has seen record n will never later see a new record below n, and a
// consumer may safely set its offset to the last record it read.
//
// A consumer's offset is the seq of the last record it handled; it never
// moves backwards. [Store.Trim] removes a record only when every registered
// consumer has passed it (Seq <= the smallest offset) and it is older than
// Options.LogRetention (30 days by default; none when negative); with no
// consumer registered, retention alone decides, so a consumer that
// registers late sees at least the retention period. [Store.DeleteOffset]
// unregisters a consumer that would otherwise hold the log forever, and
// [LogStats.HeldBy] names the one furthest behind. The last record is never
// trimmed. The store never trims by itself: the guard calls Trim on its
// maintenance schedule and when it closes.
// Trim first records how far it goes ([Store.Trimmed]), so a consumer whose
// offset is below that has missed records: it starts again from
// [Store.ScanAt], one consistent read of the live entries together with the
// seq of the last record that read includes, and tails the log from there.
//
// [Store.RetryDeadLetters] re-appends each dead letter's record as a new
// record with [Record.Target] set to its consumer and deletes the dead
// letter, in one transaction. Records written by Put, Delete and Import have
// an empty Target (all consumers); a consumer skips records whose Target
// names another ([Record.For]). A dead letter the store has overtaken (a
// block for a contact unblocked since, or the reverse) is dropped rather
// than replayed.
//
// # Concurrency
//
// A [Store] is safe for concurrent use. Reads run in Badger read
// transactions (snapshots) and never take the store's locks. Writes that
// append to the change log take one store-wide lock; Import takes it one
// step (8192 entries) at a time, so a Put waits at most one step. Every
// transaction that reads before it writes runs under one of the store's
// locks (the change-log lock, or an offsets lock for SetOffset), so
// Badger's conflict detection is turned off (it costs a hash per written
// key and memory per commit); transactions still retry badger.ErrConflict
// a bounded number of times. Close waits for operations in flight; scans
// and imports notice it and stop early with [ErrClosed]; anything called
// after it returns [ErrClosed], never a panic.
//
// # Memory
//
// Badger's defaults (64 MiB memtables ×5, a 256 MiB block cache, 1 GiB
// value-log files mapped at 2 GiB) are sized for a database server. The
// store opens Badger with 4 MiB memtables ×2 (so a transaction holds at
// most 614 KiB, and values over 64 KiB go to the value log), two level-0
// tables before compaction, two compactors, 2 MiB tables on every level
// (a compaction buffers twice the table size per builder, 8+ builders at
// once), no block cache and no compression (they go together), 16 MiB
// value-log files, a 16 MiB index cache, no conflict detection, and metrics
// off (Badger's are process-global expvars). Badger's warnings and errors
// go to Options.Logger; nothing is logged by default. Values are small and
// stay in the LSM tree, so the value log (and its GC, run every
// Options.GCInterval) matters little.
//
// Badger maps its table files into memory, and the pages it wrote or read
// count in the process's resident set (as file-backed, reclaimable page
// cache). BenchmarkRSS, with 1M entries and their 1M change-log records
// (161 MiB of tables), measured on a shared 2-core machine:
//
//	MiB                                 these options   Badger defaults
//	peak RSS while importing 1M                 375-389             707
//	  of which anonymous (heap)                 178-183             615
//	peak RSS after 1M random reads too          389-415             707
//	reopened store, 1M random reads             106-158             293
//
// The write-time peak is about half the tables' pages (written through the
// mapping) and half Go heap; GOMEMLIMIT set by the application trades
// import speed for heap (at 96 MiB: 288 MiB peak, half the import rate).
// Change-log records are roughly half of the table bytes, so trimming the
// log once consumers have passed it shrinks the footprint too.
package storage
